"""Payment attempts: placed, then paid, then applied (docs/billing.md, "Payment attempts").

An attempt (``Payment``) is committed in state ``pending`` before any money moves, with its own
key (the gateway's idempotency key, also in the charge's metadata). The gateway is called with no
database transaction open and no row lock held (``payment_run``). ``payment_settle`` then records
the outcome under the attempt's row lock and, only on success, applies what the order bought;
it is the one place an outcome is booked, whoever learned it: the request that paid, the browser
back from 3-D Secure, a webhook (``gateway_event_process``), or the job that asks the gateway
about attempts whose answer never came (``payments_reconcile``). A settled attempt never changes
state again, so each of them may arrive twice, late, or in any order.

The card on file is saved by ``card_save``; billing.collection charges it off-session for
renewals and open invoices (dunning); billing.reconciliation settles what stayed open (the job)
and what Stripe's webhooks report.
"""

import logging
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.mail import email_queue
from accounts.selectors import admin_emails, billing_emails
from accounts.services import ServiceError, audit_record
from billing import emails
from billing.discounts import coupon_redeem
from billing.gateways import CardRefused, ChargeResult, ChargeState, get_gateway
from billing.invoices import invoice_issue_for_order, invoice_mark_paid
from billing.models import (
    PAYMENT_OPEN,
    PAYMENT_SETTLED,
    BillingProfile,
    Cart,
    Invoice,
    InvoiceState,
    Order,
    OrderKind,
    OrderState,
    Payment,
    PaymentState,
    Subscription,
)
from billing.subscriptions import subscription_purchase_apply
from billing.templatetags.money import cents as format_cents

log = logging.getLogger(__name__)

LOST = ("The payment service did not answer. We are confirming with it: a charge that went "
        "through is not made twice.")
NOT_CHARGED = "The payment did not reach the payment service: you were not charged."


def reconcile_after():
    """An attempt still open this long after it was made is asked about at the gateway. Longer
    than the gateway's timeout, so a request still in flight is never declared lost."""
    return timedelta(seconds=settings.PAYMENT_RECONCILE_AFTER_SECONDS)


# --- the card on file ----------------------------------------------------------------------------


def _profile(account):
    profile, _ = BillingProfile.objects.get_or_create(account=account)
    return profile


def gateway_customer(*, account, gateway=None):
    """The account's customer at the gateway, made on first use (one per account)."""
    gateway = gateway or get_gateway()
    profile = _profile(account)
    if not profile.gateway_customer:
        email = next(iter(admin_emails(account_id=account.pk)), "")
        customer = gateway.customer_for(account=account, email=email)
        BillingProfile.objects.filter(pk=profile.pk, gateway_customer="").update(gateway_customer=customer)
        profile.refresh_from_db()
    return profile.gateway_customer


def card_setup_start(*, account):
    """What the page needs to collect a card (a SetupIntent's client secret with Stripe)."""
    gateway = get_gateway()
    return gateway.card_setup_start(customer=gateway_customer(account=account, gateway=gateway))


def card_save(*, account, actor, setup):
    """Saves the card the customer entered as the account's card on file (it replaces the one
    before). ``setup``: the confirmed SetupIntent id (Stripe) or a test card number (sandbox).
    Raises ServiceError, worded for the customer, when the card cannot be saved. An invoice
    waiting in dunning is retried with the new card at the next run of the collection job."""
    gateway = get_gateway()
    customer = gateway_customer(account=account, gateway=gateway)
    try:
        card = gateway.card_setup_finish(customer=customer, setup=setup)
    except CardRefused as error:
        raise ServiceError(str(error)) from None
    with transaction.atomic():
        profile = BillingProfile.objects.select_for_update().get(account=account)
        before = {"card": profile.card_label}
        profile.card_payment_method, profile.card_brand = card.payment_method, card.brand
        profile.card_last4, profile.card_exp_month, profile.card_exp_year = (
            card.last4, card.exp_month, card.exp_year)
        profile.card_saved_at = timezone.now()
        profile.save()
        audit_record(account=account, actor=actor, kind="billing.card_saved",
                     summary=f"Card on file: {profile.card_label}", before=before,
                     after={"card": profile.card_label})
        Invoice.objects.filter(
            account=account, state__in=[InvoiceState.OPEN, InvoiceState.PAST_DUE],
            next_collection_at__isnull=False,
        ).update(next_collection_at=timezone.now())
    return profile


# --- one attempt: open, run, settle ------------------------------------------------------------


def open_payment(*, order):
    """The order's attempt whose money may still move, if any."""
    return order.payments.filter(state__in=PAYMENT_OPEN).order_by("-pk").first()


def payment_open(*, order, amount_cents, fingerprint="", payment_method, off_session=False):
    """Commits a new attempt in state pending. Call inside the transaction that placed the order
    (one open attempt per order is a database constraint)."""
    gateway = get_gateway()
    try:
        with transaction.atomic():
            return Payment.objects.create(
                order=order, gateway=gateway.name, key=f"pay_{uuid.uuid4().hex}",
                amount_cents=amount_cents, fingerprint=fingerprint, payment_method=payment_method,
                off_session=off_session, state=PaymentState.PENDING,
            )
    except IntegrityError:
        raise ServiceError("A payment of this order is already being made: reload the page.") from None


def _charge(payment):
    """Asks the gateway for this attempt's charge. Never raises: whatever goes wrong after the
    request may have left is an unknown outcome, for the reconciliation to settle."""
    gateway = get_gateway(payment.gateway)
    customer = BillingProfile.objects.filter(account_id=payment.order.account_id).values_list(
        "gateway_customer", flat=True).first() or ""
    try:
        return gateway.charge(
            key=payment.key, amount_cents=payment.amount_cents, currency=payment.currency,
            customer=customer, payment_method=payment.payment_method,
            off_session=payment.off_session,
            metadata={"order": str(payment.order_id), "account": str(payment.order.account_id)},
        )
    except Exception:  # noqa: BLE001 - the money may have moved: keep the attempt open
        log.exception("gateway call of payment %s failed", payment.pk)
        return ChargeResult(ChargeState.FAILED, "", LOST, outcome_unknown=True)


def _assert_no_transaction():
    """The gateway is never called inside a transaction (its latency would hold row locks). The
    test case's own wrapping blocks are not ours (Django marks them, as for durable blocks)."""
    connection = transaction.get_connection()
    ours = [block for block in connection.atomic_blocks if not getattr(block, "_from_testcase", False)]
    assert not ours, "the gateway is called outside any transaction"


def payment_run(*, payment, actor):
    """Charges a pending attempt and books the outcome. Must run outside any transaction: the
    gateway's latency never holds a row lock."""
    _assert_no_transaction()
    return payment_settle(payment=payment, result=_charge(payment), actor=actor)


def payment_refresh(*, payment, actor):
    """Asks the gateway what became of an open attempt (lost answer, 3-D Secure done in the
    browser, a webhook) and books it. Nothing found at the gateway: nothing was charged."""
    if payment.state not in PAYMENT_OPEN:
        return payment
    gateway = get_gateway(payment.gateway)
    try:
        result = gateway.charge_lookup(key=payment.key, reference=payment.reference)
    except Exception:  # noqa: BLE001
        log.exception("gateway lookup of payment %s failed", payment.pk)
        return payment
    if result is None:
        if payment.created_at > timezone.now() - reconcile_after():
            return payment  # the request may still be on its way: too early to say "not charged"
        result = ChargeResult(ChargeState.FAILED, "", NOT_CHARGED)
    return payment_settle(payment=payment, result=result, actor=actor)


def payment_retry(*, payment, actor):
    """The customer confirms again while an attempt's outcome is unknown: the gateway is asked
    about it first; only if it never saw it is the same attempt (same key, same amount) sent."""
    _assert_no_transaction()
    gateway = get_gateway(payment.gateway)
    result = None
    if payment.state in (PaymentState.UNKNOWN, PaymentState.PENDING):
        try:
            result = gateway.charge_lookup(key=payment.key, reference=payment.reference)
        except Exception:  # noqa: BLE001
            result = ChargeResult(ChargeState.FAILED, "", LOST, outcome_unknown=True)
    if result is None:
        result = _charge(payment)
    return payment_settle(payment=payment, result=result, actor=actor)


def payment_cancel(*, payment, actor):
    """Abandons an attempt that waits for 3-D Secure: cancelled at the gateway, then booked as
    the gateway now has it (cancelled: not charged; if it went through meanwhile: paid)."""
    if payment.state == PaymentState.REQUIRES_ACTION and payment.reference:
        get_gateway(payment.gateway).charge_cancel(reference=payment.reference)
    return payment_refresh(payment=payment, actor=actor)


def _state_for(result, payment):
    if result.succeeded:
        if result.amount_cents is not None and int(result.amount_cents) != payment.amount_cents:
            return PaymentState.REVIEW
        return PaymentState.SUCCEEDED
    if result.state == ChargeState.REQUIRES_ACTION:
        return PaymentState.REQUIRES_ACTION
    if result.outcome_unknown:
        return PaymentState.UNKNOWN
    if result.state == ChargeState.DECLINED:
        return PaymentState.DECLINED
    return PaymentState.FAILED


def payment_settle(*, payment, result, actor):
    """Books what the gateway said about an attempt, once. Under the attempt's row lock: the
    first outcome that settles it wins and every later report (a second webhook, the
    reconciliation, a refresh) finds it settled and changes nothing. Only a success applies the
    order; a charge of another amount than the attempt's is never booked as paid."""
    with transaction.atomic():
        payment = Payment.objects.select_for_update(of=("self",)).select_related("order__account").get(pk=payment.pk)
        state = _state_for(result, payment)
        if payment.state in PAYMENT_SETTLED:
            if state == PaymentState.SUCCEEDED and payment.state in (PaymentState.DECLINED, PaymentState.FAILED):
                # Charged after it was booked as not charged (a late 3-D Secure, a missed answer):
                # the money is there but the order was not applied: staff decide.
                _review(payment, actor, "charged after it was recorded as not charged", result)
            return payment
        if state == payment.state and state != PaymentState.REQUIRES_ACTION:
            return payment  # still open, nothing new (a lookup while the gateway is down)
        before = payment.state
        payment.state = state
        payment.reference = result.reference or payment.reference
        payment.message = (result.message or "")[:300]
        payment.client_secret = result.client_secret if state == PaymentState.REQUIRES_ACTION else ""
        if result.amount_cents is not None and result.succeeded:
            payment.charged_cents = int(result.amount_cents)
        if state in PAYMENT_SETTLED:
            payment.settled_at = timezone.now()
        payment.save()
        order = payment.order
        audit_record(
            account=order.account, actor=actor, kind=f"payment.{state}",
            summary=f"{payment.gateway} payment {payment.pk} of order {order.pk}: {before} -> {state}",
            after={"order": order.pk, "payment": payment.pk, "reference": payment.reference,
                   "amount_cents": payment.amount_cents, "charged_cents": payment.charged_cents,
                   "message": payment.message},
        )
        if state == PaymentState.SUCCEEDED:
            _order_paid(order=order, payment=payment, actor=actor)
        elif state == PaymentState.REVIEW:
            _review(payment, actor, f"charged {format_cents(result.amount_cents)} instead of "
                                    f"{format_cents(payment.amount_cents)}", result, saved=True)
        elif state in (PaymentState.DECLINED, PaymentState.FAILED):
            _order_not_paid(order=order, payment=payment, actor=actor)
        elif state == PaymentState.REQUIRES_ACTION and payment.off_session:
            _email_authentication_needed(payment)
    return payment


def _review(payment, actor, why, result, saved=False):
    if not saved:
        payment.state, payment.message = PaymentState.REVIEW, why[:300]
        payment.charged_cents = result.amount_cents
        payment.save()
    audit_record(
        account=payment.order.account, actor=actor, kind="payment.review",
        summary=f"Payment {payment.pk} of order {payment.order_id} needs staff review: {why}",
        after={"payment": payment.pk, "reference": result.reference or payment.reference,
               "amount_cents": payment.amount_cents, "charged_cents": result.amount_cents},
    )


def _order_paid(*, order, payment, actor):
    """The order's money arrived: a cart order is applied and invoiced as paid; an invoiced order
    (a renewal, a quote, an order on invoice) has its invoice marked paid."""
    order = Order.objects.select_for_update().get(pk=order.pk)
    if order.state == OrderState.INVOICED:
        invoice = order.invoices.filter(
            credit_note_for__isnull=True, state__in=[InvoiceState.OPEN, InvoiceState.PAST_DUE]
        ).first()
        if invoice is not None:
            Invoice.objects.filter(pk=invoice.pk).update(next_collection_at=None)
            invoice_mark_paid(invoice=invoice, actor=actor, reason=f"card payment {payment.reference}")
        return
    if order.state == OrderState.PAID:
        return
    order_fulfil(order=order, actor=actor, paid=True)


def order_fulfil(*, order, actor, paid):
    """A cart order takes effect: paid (its payment succeeded, or nothing to pay) or invoiced
    (to be paid by invoice). The subscription changes once, with what the order recorded."""
    order.state = OrderState.PAID if paid else OrderState.INVOICED
    order.paid_at = timezone.now() if paid else None
    order.failure_reason = ""
    order.save(update_fields=["state", "paid_at", "failure_reason"])
    if order.cart_id:
        Cart.objects.filter(pk=order.cart_id).update(is_open=False, updated_at=timezone.now())
    audit_record(
        account=order.account, actor=actor, kind="order.paid" if paid else "order.invoiced",
        summary=f"Order {order.pk} {'paid' if paid else 'to be paid by invoice'}",
        after={"order": order.pk, "state": order.state, "total_cents": order.total_cents},
    )
    subscription = (
        Subscription.objects.select_for_update(of=("self",)).select_related("plan", "account")
        .get(account_id=order.account_id)
    )
    subscription_purchase_apply(subscription=subscription, purchase=order.purchase, actor=actor, order=order)
    coupon_redeem(order=order, actor=actor)
    invoice_issue_for_order(order=order, actor=actor, paid=paid)
    emails.send_order_confirmation(order=order)


def _order_not_paid(*, order, payment, actor):
    if order.kind != OrderKind.CART or order.state != OrderState.PENDING:
        return  # an invoice stays open: the dunning (or the customer) tries again
    order.state, order.failure_reason = OrderState.FAILED, payment.message[:300]
    order.save(update_fields=["state", "failure_reason"])
    audit_record(
        account=order.account, actor=actor, kind="order.payment_failed",
        summary=f"Order {order.pk} not paid: {payment.message}",
        after={"order": order.pk, "state": order.state, "total_cents": order.total_cents},
    )
    emails.send_payment_failed(order=order, message=payment.message)


def _email(account_id, *, subject, template, context):
    recipients = billing_emails(account_id=account_id)
    if recipients:
        body = render_to_string(template, {**context, "site_url": settings.SITE_URL})
        email_queue(subject=subject, body=body, recipients=recipients)


def _email_authentication_needed(payment):
    _email(payment.order.account_id, subject="Your bank asks you to confirm a payment",
           template="emails/billing/authentication_needed.txt", context={"payment": payment})


def payment_review_refund(*, order, actor, reason):
    """Staff answer a charge of another amount (an attempt in ``review``): the whole charge goes
    back to the card through the gateway, once (its key names the attempt), the attempt records
    it, and the cart is free to be paid again. Called with no transaction open: the gateway is."""
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError("Say why (what the customer was told).")
    payment = order.payments.filter(state=PaymentState.REVIEW).order_by("-pk").first()
    if payment is None:
        raise ServiceError("This order has no charge under review.")
    left = (payment.charged_cents or 0) - payment.refunded_cents
    if left <= 0:
        raise ServiceError("That charge is refunded already.")
    result = get_gateway(payment.gateway).refund(
        key=f"review-{payment.pk}", reference=payment.reference, amount_cents=left,
    )
    if not result.succeeded:
        raise ServiceError(f"The payment service did not refund it ({result.message or 'no answer'}): "
                           "nothing changed, try again.")
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if payment.refunded_cents < (payment.charged_cents or 0):
            before = {"refunded_cents": payment.refunded_cents}
            payment.refunded_cents = payment.charged_cents
            payment.message = f"Refunded in full by our staff ({result.reference}): {reason}"[:300]
            payment.save(update_fields=["refunded_cents", "message", "updated_at"])
            audit_record(
                account=order.account, actor=actor, kind="payment.review_refunded",
                summary=f"Order {order.pk}: charge {payment.reference} of {format_cents(payment.charged_cents)} "
                        f"refunded ({result.reference})",
                before=before, after={"refunded_cents": payment.refunded_cents}, reason=reason,
            )
    return payment
