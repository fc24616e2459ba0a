"""Pages and forms of the subscription's lifecycle: changes scheduled for the renewal (posted
from the Billing page) and quote requests. Admins only; the tenant is ``request.account``."""

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts.actors import Actor
from accounts.decorators import admin_required
from accounts.services import ServiceError
from billing import changes, emails, quote_documents, quotes
from billing.lifecycle_forms import QuoteRequestForm, ScheduleChangeForm
from billing.models import Quote, Subscription

BILLING_PAGE = "/billing/"  # a stable address (PRODUCT.md); the Billing page includes our panel


def _subscription(request):
    return get_object_or_404(Subscription.objects.select_related("plan"), account=request.account)


def _run(request, action, success):
    try:
        action()
    except ServiceError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, success)
    return redirect(BILLING_PAGE)


@admin_required
@require_POST
def schedule_change(request):
    subscription = _subscription(request)
    form = ScheduleChangeForm(request.POST, subscription=subscription)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(BILLING_PAGE)
    return _run(
        request,
        lambda: changes.scheduled_change_set(
            subscription=subscription, actor=Actor.for_user(request.user),
            plan=form.cleaned_data["plan"], licenses=form.cleaned_data["licenses"],
        ),
        f"Change scheduled for the renewal on {emails.format_day(subscription.term_end)}."
        if subscription.term_end else "Change scheduled.",
    )


@admin_required
@require_POST
def schedule_cancellation(request):
    subscription = _subscription(request)
    return _run(
        request,
        lambda: changes.scheduled_change_set(
            subscription=subscription, actor=Actor.for_user(request.user), cancel_to_free=True,
        ),
        "Cancellation scheduled: the account moves to Free at the renewal"
        + (f" on {emails.format_day(subscription.term_end)}" if subscription.term_end else "")
        + ". No refunds are made for the current term.",
    )


@admin_required
@require_POST
def withdraw_change(request):
    subscription = _subscription(request)
    return _run(
        request,
        lambda: changes.scheduled_change_withdraw(
            subscription=subscription, actor=Actor.for_user(request.user)
        ),
        "Scheduled change withdrawn: the subscription renews as it is.",
    )


@admin_required
def quote_list(request):
    account_quotes = Quote.objects.filter(account=request.account).select_related("plan")
    return render(request, "billing/quotes.html", {"quotes": account_quotes})


@admin_required
@require_http_methods(["GET", "POST"])
def quote_new(request):
    form = QuoteRequestForm(request.POST or None, initial={"topic": request.GET.get("topic")})
    if request.method == "POST" and form.is_valid():
        try:
            quote = quotes.quote_request(
                account=request.account, topic=form.cleaned_data["topic"],
                message=form.cleaned_data["message"], actor=Actor.for_user(request.user),
            )
        except ServiceError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, "Thanks: our team will answer your quote request by email.")
            return redirect("billing_quote", pk=quote.pk)
    return render(request, "billing/quote_form.html", {"form": form})


def _quote(request, pk):
    # Looked up within the account: another account's quote id is a 404.
    return get_object_or_404(Quote.objects.select_related("plan"), pk=pk, account=request.account)


@admin_required
def quote_detail(request, pk):
    quote = _quote(request, pk)
    return render(request, "billing/quote_detail.html", {
        "quote": quote, "terms_seen": quotes.quote_terms_seen(quote),
    })


@admin_required
@require_POST
def quote_accept(request, pk):
    quote = _quote(request, pk)
    try:
        quote, order, waits = quotes.quote_accept_by_customer(
            quote=quote, actor=Actor.for_user(request.user), terms_seen=request.POST.get("terms_seen"),
        )
    except ServiceError as error:
        messages.error(request, str(error))
        return redirect("billing_quote", pk=quote.pk)
    if order is not None:
        invoice = order.invoices.first()
        messages.success(request, f"Quote {quote.display_number} accepted: it is in effect now, and "
                                  f"invoice {invoice.display_number if invoice else ''} is on the Billing page.")
    elif quote.state == "fulfilled":
        messages.success(request, f"Quote {quote.display_number} accepted: it is in effect now.")
    elif waits:
        messages.warning(request, f"Quote {quote.display_number} accepted. It could not be set up by "
                                  f"itself ({waits}): our team will finish it and send the invoice.")
    else:
        messages.success(request, f"Quote {quote.display_number} accepted: our team will set it up "
                                  "and send the invoice.")
    return redirect("billing_quote", pk=quote.pk)


@admin_required
def quote_pdf(request, pk):
    quote = _quote(request, pk)
    if quote.number is None:
        raise Http404("A quote has a document once it is priced.")
    filename, content = quote_documents.quote_pdf(quote=quote)
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@admin_required
@require_POST
def quote_decline(request, pk):
    quote = _quote(request, pk)
    try:
        quotes.quote_decline(quote=quote, actor=Actor.for_user(request.user))
    except ServiceError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, "Quote declined.")
    return redirect("billing_quote", pk=quote.pk)
