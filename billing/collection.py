"""Collecting invoices by card: an open invoice paid online (``invoice_pay``), a renewal's invoice
charged to the card on file off-session, and a failed charge retried on ``DUNNING_DAYS`` with an
email each time (``invoices_collect``, the hourly job ``collect_invoices``). Each charge is a
payment attempt of billing.payments, booked by ``payment_settle``."""

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from accounts.services import ServiceError
from billing.models import (
    BillingProfile,
    Invoice,
    InvoiceState,
    PaymentState,
)
from billing.payments import (
    _email,
    card_save,
    open_payment,
    payment_cancel,
    payment_open,
    payment_run,
)
from billing.templatetags.money import cents as format_cents

log = logging.getLogger(__name__)

# A renewal charge that fails is tried again on these days after the invoice was issued (day 0
# is the renewal itself); each failure emails the Admins. After the last, the invoice waits for a
# payment and becomes past due on its due date (net 30), by the existing rule.
DUNNING_DAYS = (0, 3, 5, 7)


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
