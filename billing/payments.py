"""Payment attempts: placed, then paid, then applied (docs/billing.md, "Payment attempts").

An attempt (``Payment``) is committed in state ``pending`` before any money moves, with its own
key (the gateway's idempotency key, also in the charge's metadata). The gateway is called with no
database transaction open and no row lock held (``payment_run``). ``payment_settle`` then records
the outcome under the attempt's row lock and, only on success, applies what the order bought;
it is the one place an outcome is booked, whoever learned it: the request that paid, the browser
back from 3-D Secure, a webhook (``gateway_event_process``), or the job that asks the gateway
about attempts whose answer never came (``payments_reconcile``). A settled attempt never changes
state again, so each of them may arrive twice, late, or in any order.

The card on file (``card_save``) is charged off-session for renewals; a failed renewal charge is
retried on ``DUNNING_DAYS`` with an email each time (``invoices_collect``).
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
from billing.gateways import CardRefused, ChargeResult, ChargeState, get_gateway
from billing.invoices import invoice_issue_for_order, invoice_mark_paid
from billing.models import (
    PAYMENT_OPEN,
    PAYMENT_SETTLED,
    BillingProfile,
    Cart,
    GatewayEvent,
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

# A renewal charge that fails is tried again on these days after the invoice was issued (day 0
# is the renewal itself); each failure emails the Admins. After the last, the invoice waits for a
# payment and becomes past due on its due date (net 30), by the existing rule.
DUNNING_DAYS = (0, 3, 5, 7)
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


# --- paying an open invoice ------------------------------------------------------------------------


def invoice_pay(*, invoice, actor, setup="", use_card_on_file=False, off_session=False):
    """Pays an open or past-due invoice by card: the card entered (saved as the card on file) or
    the card on file. Returns the attempt, settled or waiting for 3-D Secure."""
    account = invoice.account
    if not use_card_on_file:
        card_save(account=account, actor=actor, setup=setup)
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update(of=("self",)).select_related("order").get(pk=invoice.pk)
        if invoice.state not in (InvoiceState.OPEN, InvoiceState.PAST_DUE) or invoice.order is None:
            raise ServiceError(f"Invoice {invoice.display_number} is {invoice.get_state_display().lower()}: "
                               f"there is nothing to pay.")
        doubt = open_payment(order=invoice.order)
        if doubt is not None:
            raise ServiceError(
                f"A payment of {format_cents(doubt.amount_cents)} for this invoice is still being "
                f"confirmed: its page says what happens next."
            )
        profile = BillingProfile.objects.get(account=account)
        if not profile.has_card:
            raise ServiceError("Add a card first.")
        payment = payment_open(order=invoice.order, amount_cents=invoice.total_cents,
                               payment_method=profile.card_payment_method, off_session=off_session)
    return payment_run(payment=payment, actor=actor)


def invoice_collection_start(*, invoice):
    """A new renewal invoice of an account with a card on file is collected from it (day 0 of
    the dunning). Call in the transaction that issued it."""
    if BillingProfile.objects.filter(account_id=invoice.account_id).exclude(card_payment_method="").exists():
        Invoice.objects.filter(pk=invoice.pk).update(next_collection_at=timezone.now(), collection_attempts=0)


def invoices_collect(*, actor, now=None):
    """Charges the card on file for every invoice whose collection is due (set-based selection,
    one attempt per invoice, no lock held across the gateway call). A failure schedules the next
    try on ``DUNNING_DAYS`` and emails the Admins a link to update the card. Returns counts."""
    now = now or timezone.now()
    counts = {"paid": 0, "failed": 0, "authentication": 0}
    due = list(
        Invoice.objects.filter(state__in=[InvoiceState.OPEN, InvoiceState.PAST_DUE],
                               next_collection_at__lte=now, order__isnull=False)
        .values_list("pk", flat=True)
    )
    for invoice_id in due:
        payment = _collection_open(invoice_id=invoice_id, now=now, actor=actor)
        if payment is None:
            continue
        payment = payment_run(payment=payment, actor=actor)
        if payment.state == PaymentState.SUCCEEDED:
            counts["paid"] += 1
            continue
        counts["authentication" if payment.state == PaymentState.REQUIRES_ACTION else "failed"] += 1
        _dunning_next(invoice_id=invoice_id, payment=payment, now=now)
    return counts


def _collection_open(*, invoice_id, now, actor):
    with transaction.atomic():
        invoice = (Invoice.objects.select_for_update(of=("self",)).select_related("order")
                   .filter(pk=invoice_id, next_collection_at__lte=now,
                           state__in=[InvoiceState.OPEN, InvoiceState.PAST_DUE]).first())
        if invoice is None:
            return None  # another worker took it, or it was paid meanwhile
        profile = BillingProfile.objects.filter(account_id=invoice.account_id).first()
        stale = open_payment(order=invoice.order)
        if stale is not None and stale.state == PaymentState.REQUIRES_ACTION:
            # The last try waits for an authentication that did not come: it is given up for a new one.
            transaction.on_commit(lambda: payment_cancel(payment=stale, actor=actor))
            invoice.next_collection_at = now + timedelta(minutes=5)
            invoice.save(update_fields=["next_collection_at"])
            return None
        if stale is not None or profile is None or not profile.has_card:
            invoice.next_collection_at = None if profile is None or not profile.has_card else invoice.next_collection_at
            invoice.save(update_fields=["next_collection_at"])
            return None
        invoice.collection_attempts += 1
        # Claimed: no other run takes it until this attempt is booked.
        invoice.next_collection_at = None
        invoice.save(update_fields=["collection_attempts", "next_collection_at"])
        return payment_open(order=invoice.order, amount_cents=invoice.total_cents,
                            payment_method=profile.card_payment_method, off_session=True)


def _dunning_next(*, invoice_id, payment, now):
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update(of=("self",)).select_related("series").get(pk=invoice_id)
        if invoice.state not in (InvoiceState.OPEN, InvoiceState.PAST_DUE):
            return
        attempts = invoice.collection_attempts
        retry_on = None
        if attempts < len(DUNNING_DAYS):
            retry_on = invoice.issued_at + timedelta(days=DUNNING_DAYS[attempts])
            invoice.next_collection_at = max(retry_on, now + timedelta(hours=1))
            invoice.save(update_fields=["next_collection_at"])
        if payment.state == PaymentState.REQUIRES_ACTION:
            return  # its own email (a link to authenticate) went out when it was booked
        _email(invoice.account_id,
               subject=f"We could not charge your card for invoice {invoice.display_number}",
               template="emails/billing/payment_retry.txt",
               context={"invoice": invoice, "payment": payment, "attempt": attempts,
                        "attempts": len(DUNNING_DAYS),
                        "retry_on": timezone.localdate(invoice.next_collection_at) if retry_on else None,
                        "due_on": timezone.localdate(invoice.due_at) if invoice.due_at else None})


# --- reconciliation and webhooks ------------------------------------------------------------------


def payments_reconcile(*, actor, now=None):
    """Settles every attempt still pending or unknown ``reconcile_after()`` after it was made,
    by asking the gateway (a lost answer, a killed worker, a missed webhook): each ends paid and
    applied, or not charged. Also processes webhook events stored but not processed. Returns
    how many attempts it settled."""
    now = now or timezone.now()
    settled = 0
    stale = Payment.objects.filter(
        state__in=[PaymentState.PENDING, PaymentState.UNKNOWN], created_at__lte=now - reconcile_after()
    ).select_related("order").order_by("pk")
    for payment in stale:
        if payment_refresh(payment=payment, actor=actor).state in PAYMENT_SETTLED:
            settled += 1
    for event in GatewayEvent.objects.filter(processed_at__isnull=True).order_by("received_at")[:500]:
        gateway_event_process(event=event, actor=actor)
    return settled


HANDLED_EVENTS = (
    "payment_intent.succeeded", "payment_intent.payment_failed", "payment_intent.requires_action",
    "payment_intent.canceled", "charge.refunded", "charge.dispute.created", "setup_intent.succeeded",
)


def gateway_event_receive(*, event, actor):
    """Stores a verified webhook event once by its id, then processes it. A repeated delivery is
    recognised and changes nothing. Returns the stored event."""
    try:
        with transaction.atomic():
            stored = GatewayEvent.objects.create(event_id=event["id"], kind=event.get("type", ""),
                                                 payload=event)
    except IntegrityError:
        return GatewayEvent.objects.get(event_id=event["id"])
    gateway_event_process(event=stored, actor=actor)
    return stored


def _payment_for(obj):
    """Our attempt for a PaymentIntent (by its id, else by the key in its metadata)."""
    intent_id = obj.get("payment_intent") or (obj.get("id") if obj.get("object") == "payment_intent" else "")
    key = (obj.get("metadata") or {}).get("payment", "")
    payment = Payment.objects.filter(reference=intent_id).first() if intent_id else None
    if payment is None and key:
        payment = Payment.objects.filter(key=key).first()
    return payment


def gateway_event_process(*, event, actor):
    """One event, idempotently and in any order: a payment event makes us ask the gateway for
    the PaymentIntent as it is now (the event may be old) and book that; a refund or a dispute
    is recorded on the payment and in the audit log; a saved card updates the card on file."""
    if event.processed_at is not None:
        return event
    obj = (event.payload.get("data") or {}).get("object") or {}
    outcome = "ignored"
    try:
        if event.kind.startswith("payment_intent."):
            payment = _payment_for(obj)
            if payment is None:
                outcome = "no such payment"
            else:
                if payment.reference == "" and obj.get("id"):
                    Payment.objects.filter(pk=payment.pk, reference="").update(reference=obj["id"])
                    payment.refresh_from_db()
                payment = payment_refresh(payment=payment, actor=actor)
                outcome = f"payment {payment.pk}: {payment.state}"
        elif event.kind in ("charge.refunded", "charge.dispute.created"):
            payment = _payment_for(obj)
            if payment is None:
                outcome = "no such payment"
            else:
                outcome = _record_refund_or_dispute(payment=payment, event=event, obj=obj, actor=actor)
        elif event.kind == "setup_intent.succeeded":
            outcome = _record_setup(obj=obj, actor=actor)
    except Exception:  # noqa: BLE001 - kept unprocessed: the reconciliation job tries it again
        log.exception("webhook event %s failed", event.event_id)
        GatewayEvent.objects.filter(pk=event.pk).update(outcome="error: retried by the reconciliation job")
        return event
    GatewayEvent.objects.filter(pk=event.pk).update(processed_at=timezone.now(), outcome=outcome[:200])
    event.refresh_from_db()
    return event


def _record_refund_or_dispute(*, payment, event, obj, actor):
    with transaction.atomic():
        payment = Payment.objects.select_for_update(of=("self",)).select_related("order__account").get(pk=payment.pk)
        if event.kind == "charge.refunded":
            refunded = int(obj.get("amount_refunded") or obj.get("amount") or 0)
            if refunded <= payment.refunded_cents:
                return f"payment {payment.pk}: refund already recorded"
            payment.refunded_cents = refunded
            kind, summary = "payment.refunded", f"refunded {format_cents(refunded)}"
        else:
            if payment.disputed:
                return f"payment {payment.pk}: dispute already recorded"
            payment.disputed = True
            kind, summary = "payment.disputed", f"disputed ({obj.get('reason') or 'no reason given'})"
        payment.save(update_fields=["refunded_cents", "disputed", "updated_at"])
        audit_record(account=payment.order.account, actor=actor, kind=kind,
                     summary=f"Payment {payment.pk} of order {payment.order_id} {summary}",
                     after={"payment": payment.pk, "event": event.event_id,
                            "refunded_cents": payment.refunded_cents, "disputed": payment.disputed})
    return f"payment {payment.pk}: {kind}"


def _record_setup(*, obj, actor):
    profile = BillingProfile.objects.filter(gateway_customer=obj.get("customer") or "-").first()
    method = obj.get("payment_method") or ""
    if profile is None or not method:
        return "no such customer"
    if profile.has_card:
        # The browser came back and saved it (or a newer card): an old event never replaces it.
        return "card on file kept"
    card_save(account=profile.account, actor=actor, setup=obj["id"])
    return "card saved"
