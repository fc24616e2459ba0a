"""The pages of paying: a payment attempt's page (3-D Secure, "being confirmed"), the card on
file, paying an open invoice, and the gateway's webhook. The rules live in billing.payments."""

import json
import logging

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from accounts.actors import Actor
from accounts.decorators import billing_required
from accounts.services import ServiceError
from billing import collection, payments, reconciliation
from billing.forms import CardForm
from billing.gateways import sandbox
from billing.models import BillingProfile, Invoice, InvoiceState, OrderKind, Payment, PaymentState

log = logging.getLogger(__name__)


def sandbox_cards():
    """(number in groups of four, what happens) of every sandbox test card, read from the
    gateway's own tables; empty unless the sandbox gateway is on."""
    if settings.PAYMENT_GATEWAY != "sandbox":
        return []
    return [(" ".join(number[i:i + 4] for i in range(0, len(number), 4)), outcome)
            for number, outcome in sandbox.test_cards()]


UNREAD = object()


def card_context(account, profile=UNREAD):
    """What the card field needs (templates/billing/_card_field.html): the card on file, and
    with Stripe the publishable key and a fresh SetupIntent's client secret. ``profile``: the
    account's billing profile (or None) when the page has read it already."""
    if profile is UNREAD:
        profile = BillingProfile.objects.filter(account=account).first()
    context = {"card_on_file": profile.card_label if profile and profile.has_card else "",
               "sandbox_cards": sandbox_cards(), "stripe_publishable_key": "", "setup_secret": ""}
    if settings.PAYMENT_GATEWAY == "stripe":
        context["stripe_js_url"] = settings.STRIPE_JS_URL
        try:
            context["setup_secret"] = payments.card_setup_start(account=account).client_secret
        except Exception:  # noqa: BLE001 - Stripe unreachable: the page still works, card entry waits
            log.warning("card setup unavailable for account %s", account.pk, exc_info=True)
            context["card_unavailable"] = (
                "Entering a new card is unavailable right now (the payment service did not answer). "
                "Reload the page in a minute."
            )
        else:
            context["stripe_publishable_key"] = settings.STRIPE_PUBLISHABLE_KEY
    return context


def payment_next(request, payment):
    """Where the customer goes after an attempt: the order when it is paid, this attempt's page
    while it waits for 3-D Secure or for the gateway's answer."""
    if payment.state == PaymentState.SUCCEEDED:
        if payment.order.kind == OrderKind.CART:
            return redirect("order", order_id=payment.order_id)
        invoice = payment.order.invoices.filter(credit_note_for__isnull=True).first()
        return redirect("invoice", invoice_id=invoice.pk) if invoice else redirect("billing")
    return redirect("payment", payment_id=payment.pk)


@billing_required
def payment(request, payment_id):
    payment = get_object_or_404(Payment.objects.select_related("order"), pk=payment_id,
                                order__account=request.account)
    return render(request, "billing/payment.html", {
        "payment": payment, "PaymentState": PaymentState,
        "stripe": settings.PAYMENT_GATEWAY == "stripe" and payment.gateway == "stripe",
        "stripe_publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
        "stripe_js_url": settings.STRIPE_JS_URL,
        "invoice": payment.order.invoices.filter(credit_note_for__isnull=True).first(),
    })


@billing_required
@require_POST
def payment_confirm(request, payment_id):
    """Back from 3-D Secure (stripe.js confirmCardPayment, or the sandbox's stand-in for the
    bank's page): the gateway is asked how it ended and that is booked."""
    payment = get_object_or_404(Payment.objects.select_related("order"), pk=payment_id,
                                order__account=request.account)
    actor = Actor.for_user(request.user)
    if payment.gateway == "sandbox" and payment.state == PaymentState.REQUIRES_ACTION:
        sandbox.SandboxGateway().authenticate(reference=payment.reference,
                                              success=request.POST.get("decision") == "complete")
    payment = payments.payment_refresh(payment=payment, actor=actor)
    if payment.state == PaymentState.SUCCEEDED:
        messages.success(request, f"Thank you: your payment of order {payment.order_id} is confirmed.")
    elif payment.state in (PaymentState.FAILED, PaymentState.DECLINED):
        messages.error(request, payment.message or "The payment did not go through: you were not charged.")
        if payment.order.kind == OrderKind.CART:
            return redirect("cart")
    return payment_next(request, payment)


@billing_required
@require_POST
def payment_cancel(request, payment_id):
    payment = get_object_or_404(Payment.objects.select_related("order"), pk=payment_id,
                                order__account=request.account)
    payment = payments.payment_cancel(payment=payment, actor=Actor.for_user(request.user))
    if payment.state == PaymentState.SUCCEEDED:
        return payment_next(request, payment)
    messages.info(request, "The payment was cancelled: you were not charged.")
    return redirect("cart" if payment.order.kind == OrderKind.CART else "billing")


@billing_required
@require_http_methods(["GET", "POST"])
def card(request):
    """The card on file: shown (brand, last 4, expiry) and replaced."""
    form = CardForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            profile = payments.card_save(account=request.account, actor=Actor.for_user(request.user),
                                         setup=form.cleaned_data["card"])
        except ServiceError as error:
            form.add_error("card", str(error))
        else:
            messages.success(request, f"Saved: {profile.card_label} is your card on file.")
            return redirect("billing")
        status = 400
    return render(request, "billing/card.html", {"form": form, **card_context(request.account)},
                  status=status)


@billing_required
@require_http_methods(["GET", "POST"])
def invoice_pay(request, invoice_id):
    invoice = get_object_or_404(Invoice.objects.select_related("series", "order"), pk=invoice_id,
                                account=request.account, credit_note_for__isnull=True)
    if invoice.state not in (InvoiceState.OPEN, InvoiceState.PAST_DUE):
        messages.info(request, f"Invoice {invoice.display_number} is {invoice.get_state_display().lower()}.")
        return redirect("invoice", invoice_id=invoice.pk)
    form = CardForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            payment = collection.invoice_pay(
                invoice=invoice, actor=Actor.for_user(request.user), setup=form.cleaned_data["card"],
                use_card_on_file=form.cleaned_data["use_card_on_file"],
            )
        except ServiceError as error:
            form.add_error("card", str(error))
        else:
            if payment.state == PaymentState.SUCCEEDED:
                messages.success(request, f"Thank you: invoice {invoice.display_number} is paid.")
                return redirect("invoice", invoice_id=invoice.pk)
            if payment.is_open:
                return redirect("payment", payment_id=payment.pk)
            form.add_error("card", payment.message or "The payment did not go through.")
        status = 400
    return render(request, "billing/invoice_pay.html",
                  {"invoice": invoice, "form": form, **card_context(request.account)}, status=status)


def _problem(status, title, detail):
    return JsonResponse({"type": "about:blank", "title": title, "status": status, "detail": detail},
                        status=status, content_type="application/problem+json")


@csrf_exempt
@require_POST
def stripe_webhook(request):
    """Stripe's events: the signature checked against the endpoint's secret, each event stored
    once by its id, then processed (billing.reconciliation.gateway_event_receive)."""
    from billing.gateways.stripe import webhook_event

    if not settings.STRIPE_WEBHOOK_SECRET:
        return _problem(404, "Webhooks are not configured", "This server has no STRIPE_WEBHOOK_SECRET.")
    try:
        event = webhook_event(payload=request.body, signature=request.headers.get("Stripe-Signature", ""),
                              secret=settings.STRIPE_WEBHOOK_SECRET)
    except ValueError:
        return _problem(400, "Invalid payload", "The body is not a Stripe event.")
    except Exception:  # noqa: BLE001 - stripe.SignatureVerificationError and kin
        return _problem(400, "Invalid signature", "The Stripe-Signature header does not match this endpoint's secret.")
    payload = json.loads(request.body)
    if not isinstance(payload, dict) or not payload.get("id"):
        return _problem(400, "Invalid payload", "The event has no id.")
    stored = reconciliation.gateway_event_receive(event=payload, actor=Actor.system("stripe webhook"))
    del event
    return HttpResponse(status=200, content=stored.outcome or "received", content_type="text/plain")
