from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from accounts.actors import Actor
from accounts.decorators import admin_required, billing_required
from accounts.selectors import billing_contacts
from accounts.services import ServiceError
from billing import cart as carts
from billing import documents, selectors
from billing.forms import KEEP_PLAN, BillingDetailsForm, CartForm, CheckoutForm
from billing.models import BillingDetails, BillingProfile, Cart, Invoice, Order, OrderState
from billing.payment_views import card_context, payment_next
from billing.services import BILLING_DETAILS_FIELDS, billing_details_update
from billing.subscriptions import subscription_ensure
from billing.tax import tax_rule_for


def _licenses_asked(request):
    """``?licenses=N`` (issue 15: a one-click true-up from the banner), or None when absent or not
    a number the cart's form accepts: a bad value is ignored, never an error page."""
    value = request.GET.get("licenses", "")
    if not value.isdigit() or not 1 <= int(value) <= CartForm.MAX_LICENSES:
        return None
    return int(value)


def _subscription_of(request):
    """The account's subscription for the cart; an account that has none (made outside sign-up
    and provisioning) gets Free first, as every account has, so that it can buy a plan."""
    return subscription_ensure(account=request.account, actor=Actor.for_user(request.user),
                               today=timezone.localdate())


def _cart_page(request, *, cart_form=None, checkout_form=None, status=200):
    account = request.account
    subscription = _subscription_of(request)
    current_addons = selectors.subscription_addons(subscription=subscription)
    new_term = carts.starts_new_term(subscription)
    plans, addons = selectors.cart_catalogue()
    cart = selectors.open_cart(account=account)
    if cart is not None and cart.plan_id is None and cart.licenses is None and not cart.screen_details:
        cart = None  # made by an update that was refused: nothing in it yet
    quote, quote_error = None, ""
    # One query for the billing profile, the details (tax) and the account credit balance.
    profile_row, details, credit_cents = selectors.billing_parties(account=account)
    profile = profile_row or BillingProfile(account=account)
    if cart is not None:
        try:
            rules, renewal_rules = carts.cart_discounts(subscription=subscription,
                                                        profile=profile if profile.pk else None)
            quote = carts.cart_quote(
                subscription=subscription, plan=cart.plan, licenses=cart.licenses,
                screen_details=cart.screen_details, discount_percent=0, rules=rules,
                renewal_rules=renewal_rules, coupon=cart.coupon,
                current_addons=current_addons,
                screen_details_addon=next((a for a in addons if a.code == carts.SCREEN_DETAILS), None),
                tax=tax_rule_for(account=account, details=details or BillingDetails(account=account)),
                credit_cents=credit_cents,
            )
        except ServiceError as error:
            quote_error = str(error)
    if cart_form is None:
        initial = {
            "plan": (cart.plan.code if cart and cart.plan else
                     (subscription.plan.code if new_term and subscription.plan.is_paid else KEEP_PLAN)),
            "licenses": (cart.licenses if cart and cart.licenses else
                         max(subscription.licenses, selectors.catalogue_terms().min_licenses) if new_term
                         else subscription.licenses),
            "addons": [carts.SCREEN_DETAILS] if cart and cart.screen_details else [],
            "coupon": cart.coupon.code if cart and cart.coupon_id else "",
        }
        asked = _licenses_asked(request)
        if asked is not None:  # the banner's "buy licenses": the cart at the licenses used
            initial["licenses"] = asked
        cart_form = CartForm(initial=initial, subscription=subscription, plans=plans,
                             addons=addons, new_term=new_term)
    eligible = profile.invoice_eligible
    if checkout_form is None and quote is not None:
        checkout_form = CheckoutForm(initial={
            "cart": cart.pk, "idempotency_key": CheckoutForm.new_key(),
            "expected_total_cents": quote.total_cents,
            "expected_fingerprint": carts.cart_fingerprint(quote),
        })
    elif checkout_form is not None and quote is not None:
        # A new key for the next attempt; the total the Admin now sees.
        data = checkout_form.data.copy()
        data["idempotency_key"] = CheckoutForm.new_key()
        data["expected_total_cents"] = quote.total_cents
        data["expected_fingerprint"] = carts.cart_fingerprint(quote)
        data["card"] = ""  # never echo a card number back into the page
        errors = checkout_form.errors
        checkout_form = CheckoutForm(data)
        checkout_form._errors = errors
    return render(request, "billing/cart.html", {
        "subscription": subscription, "current_addons": current_addons, "new_term": new_term,
        "cart": cart, "quote": quote, "quote_error": quote_error, "cart_form": cart_form,
        "checkout_form": checkout_form, "invoice_eligible": eligible,
        "cart_addons": [a for a in addons if a.sales_channel == "cart"],
        "staff_addons": [a for a in addons if a.sales_channel == "staff"],
        "current_addon_codes": {a.code for a in current_addons},
        **(card_context(account, profile=profile_row) if quote is not None else {}),
    }, status=status)


@admin_required
@require_http_methods(["GET", "POST"])
def cart(request):
    if request.method == "GET":
        return _cart_page(request)
    subscription = _subscription_of(request)
    plans, addons = selectors.cart_catalogue()
    form = CartForm(request.POST, subscription=subscription, plans=plans, addons=addons,
                    new_term=carts.starts_new_term(subscription))
    if form.is_valid():
        actor = Actor.for_user(request.user)
        try:
            carts.cart_update(
                cart=carts.cart_open(account=request.account, actor=actor),
                plan_code=form.cleaned_data["plan"] or None,
                licenses=form.cleaned_data["licenses"],
                addon_codes=form.cleaned_data["addons"], actor=actor,
                coupon_code=form.cleaned_data["coupon"],
            )
        except ServiceError as error:
            form.add_error(None, str(error))
        else:
            return redirect("cart")
    return _cart_page(request, cart_form=form, status=400)


@admin_required
@require_POST
def checkout(request):
    form = CheckoutForm(request.POST)
    if form.is_valid():
        # Another account's cart id is a 404, like every other object of another account.
        get_object_or_404(Cart, pk=form.cleaned_data["cart"], account=request.account)
        try:
            result = carts.cart_checkout(
                account=request.account, cart_id=form.cleaned_data["cart"],
                actor=Actor.for_user(request.user),
                idempotency_key=form.cleaned_data["idempotency_key"],
                payment_method=form.cleaned_data["payment_method"],
                card=form.cleaned_data["card"],
                use_card_on_file=form.cleaned_data["use_card_on_file"],
                expected_total_cents=form.cleaned_data["expected_total_cents"],
                expected_fingerprint=form.cleaned_data["expected_fingerprint"] or None,
            )
        except ServiceError as error:
            form.add_error(None, str(error))
        else:
            if result.succeeded:
                if not result.replayed:
                    messages.success(request, f"Thank you: order {result.order.pk} is confirmed.")
                return redirect("order", order_id=result.order.pk)
            if result.payment is not None and result.payment.is_open:
                # 3-D Secure to do, or an answer still being confirmed: the attempt's own page.
                return payment_next(request, result.payment)
            form.add_error("card", result.error)
    return _cart_page(request, checkout_form=form, status=400)


@billing_required
def order(request, order_id):
    order = get_object_or_404(
        Order.objects.prefetch_related("lines", "invoices__series"),
        pk=order_id, account=request.account,
    )
    return render(request, "billing/order.html", {"order": order, "OrderState": OrderState})


@billing_required
def invoice(request, invoice_id):
    invoice = get_object_or_404(
        Invoice.objects.select_related("series", "account", "credit_note_for__series")
        .prefetch_related("lines"),
        pk=invoice_id, account=request.account,
    )
    return render(request, "billing/invoice.html", {"invoice": invoice})


@billing_required
def invoice_pdf(request, invoice_id):
    """The PDF made when the invoice was issued; rendered now if the task cluster has not yet
    (from the copies taken at issue, so it is the same document), and stored once."""
    invoice = get_object_or_404(
        Invoice.objects.select_related("series"), pk=invoice_id, account=request.account,
        number__isnull=False,
    )
    try:
        filename, content = documents.document_pdf(invoice=invoice)
    except Invoice.DoesNotExist:
        raise Http404("This invoice has no document.") from None
    response = HttpResponse(content, content_type=documents.PDF_MIMETYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


@billing_required
@require_http_methods(["GET", "POST"])
def billing_details(request):
    details = BillingDetails.objects.filter(account=request.account).first()
    if request.method == "GET":
        initial = {} if details is not None else {"legal_name": request.account.name}
        initial["billing_contacts"] = "\n".join(billing_contacts(account=request.account))
        form = BillingDetailsForm(instance=details, initial=initial)
        return render(request, "billing/details.html", {"form": form})
    form = BillingDetailsForm(request.POST, instance=details or BillingDetails(account=request.account))
    if form.is_valid():
        try:
            billing_details_update(
                account=request.account, actor=Actor.for_user(request.user),
                contacts=form.cleaned_data["billing_contacts"],
                **{name: form.cleaned_data[name] for name in BILLING_DETAILS_FIELDS},
            )
        except ServiceError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, "Billing details saved: your next invoices carry them.")
            return redirect("billing")
    return render(request, "billing/details.html", {"form": form}, status=400)


@billing_required
def billing(request):
    account = request.account
    page = selectors.billing_page(account=account)
    subscription = page.subscription
    return render(request, "billing/billing.html", {
        "subscription": subscription,
        # An account made by neither sign-up nor provisioning has no subscription: no add-ons.
        "addons": [row.addon for row in subscription.addons.select_related("addon")] if subscription else [],
        "invoices": selectors.invoices_for(account=account),
        "orders": selectors.orders_for(account=account)[:10],
        "profile": page.profile or BillingProfile(account=account),
        "details": page.details,
        "credit_balance_cents": page.credit_balance_cents,
    })


