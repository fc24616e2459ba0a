"""What the gateway tells us and what we ask it: the job that settles every attempt still open
after ``reconcile_after()`` by asking the gateway (``payments_reconcile``), and Stripe's webhook
events, stored once by id and processed idempotently in any order (``gateway_event_receive``)."""

import logging

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.services import audit_record
from billing.models import (
    PAYMENT_SETTLED,
    BillingProfile,
    GatewayEvent,
    Payment,
    PaymentState,
)
from billing.payments import (
    card_save,
    payment_refresh,
    reconcile_after,
)
from billing.templatetags.money import cents as format_cents

log = logging.getLogger(__name__)


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
