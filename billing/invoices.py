"""Invoices: issued from orders, numbered without gaps per series, paid, voided by credit note.

Numbering: a number is taken from the series' ``next_number`` under a row lock
(``select_for_update``) in the same transaction that inserts the invoice, and
``(series, number)`` is unique in the database. Two concurrent finalisations queue on the lock,
so they never share a number; a transaction that rolls back gives its number back with its
invoice, so none is skipped.
"""

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.services import ServiceError, audit_record
from billing import credits, documents, emails
from billing.models import (
    CreditSettlement,
    Invoice,
    InvoiceLine,
    InvoiceSeries,
    InvoiceState,
    Order,
    OrderKind,
    OrderState,
    Subscription,
)
from billing.subscriptions import subscription_refresh_payment_state
from billing.tax import TAX_FIELDS, tax_rule_for
from billing.terms import NET_DAYS

INVOICE_SERIES = "INV"
CREDIT_NOTE_SERIES = "CN"


def series_next_number(series_code):
    """The series' next number, taken under its row lock. Call inside a transaction: rolled
    back with it, so no number is skipped (invoices INV, credit notes CN, quotes QT)."""
    InvoiceSeries.objects.get_or_create(code=series_code)  # unique code: safe under a race
    series = InvoiceSeries.objects.select_for_update().get(code=series_code)
    number = series.next_number
    series.next_number = number + 1
    series.save(update_fields=["next_number"])
    return series, number


def _snapshot(invoice):
    return {
        "number": invoice.display_number, "state": invoice.state, "total_cents": invoice.total_cents,
        "order": invoice.order_id,
        "due_at": invoice.due_at.isoformat() if invoice.due_at else None,
    }


def invoice_issue_for_order(*, order, actor, paid, due_days=NET_DAYS):
    """Finalises the order's invoice: the next number of series INV, the order's lines copied.

    ``paid``: the order was charged (state paid) or is to be paid by invoice (state open, due in
    ``due_days``). One invoice per order: called twice, it returns the first one. A renewal
    order's invoice also carries (subscription, term start), one per term in the database.
    """
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        existing = Invoice.objects.filter(order=order, credit_note_for__isnull=True).first()
        if existing is not None:
            return existing
        now = timezone.now()
        renewal = order.kind == OrderKind.RENEWAL and order.renewal_of_id is not None
        if renewal:
            # One invoice per subscription per term (a renewal job run twice asks again).
            term_invoice = Invoice.objects.filter(
                subscription_id=order.renewal_of_id, term_start=order.renewal_term_start,
                credit_note_for__isnull=True,
            ).first()
            if term_invoice is not None:
                raise ServiceError("This subscription term already has its invoice.")
        decide_now = order.taxed_at is None and not paid
        if decide_now:
            # An order made elsewhere (a renewal, a quote): its tax is decided now, before any
            # money is asked for, and copied onto the order too (issue 14). A paid order's tax
            # was decided when it was priced (the cart) and is copied as it is.
            rule = tax_rule_for(account=order.account_id)
            rule.copy_to(order, tax_cents=rule.amount_cents(order.total_cents))
            order.total_cents += order.tax_cents
            order.taxed_at = now
        series, number = series_next_number(INVOICE_SERIES)
        try:
            with transaction.atomic():
                invoice = Invoice.objects.create(
                    account_id=order.account_id, order=order, series=series, number=number,
                    state=InvoiceState.PAID if paid else InvoiceState.OPEN,
                    subscription_id=order.renewal_of_id if renewal else None,
                    term_start=order.renewal_term_start if renewal else None,
                    total_cents=order.total_cents, issued_at=now,
                    due_at=now if paid else now + timedelta(days=due_days),
                    paid_at=(order.paid_at or now) if paid else None,
                    credit_applied_cents=order.credit_applied_cents,
                    **{name: getattr(order, name) for name in TAX_FIELDS},
                )
        except IntegrityError:
            # Lost a race for this renewal term. Raising out of this atomic block rolls back the
            # bumped counter with it (a savepoint when nested), so no number is skipped.
            raise ServiceError("This subscription term already has its invoice.") from None
        if decide_now:
            used = credits.credit_use(invoice=invoice, wanted_cents=invoice.total_cents, actor=actor)
            if used:
                order.credit_applied_cents = invoice.credit_applied_cents = used
                order.total_cents = invoice.total_cents = invoice.total_cents - used
                if invoice.total_cents == 0:  # all paid by the account's credit
                    invoice.state, invoice.paid_at = InvoiceState.PAID, now
                invoice.save(update_fields=["credit_applied_cents", "total_cents", "state", "paid_at"])
            order.save(update_fields=["total_cents", "taxed_at", "credit_applied_cents", *TAX_FIELDS])
        else:
            credits.credit_use(invoice=invoice, wanted_cents=order.credit_applied_cents, actor=actor,
                               priced=True)
        InvoiceLine.objects.bulk_create(
            InvoiceLine(
                invoice=invoice, description=line.description, quantity=line.quantity,
                unit_price_cents=line.unit_price_cents, days=line.days, term_days=line.term_days,
                discount_percent=line.discount_percent, discount_label=line.discount_label,
                amount_cents=line.amount_cents, sort_order=line.sort_order,
            )
            for line in order.lines.all()
        )
        audit_record(
            account=order.account, actor=actor, kind="invoice.issued",
            summary=f"Invoice {invoice.display_number} issued ({invoice.get_state_display()})",
            after=_snapshot(invoice),
        )
        documents.document_prepare(invoice=invoice)
        emails.send_invoice_issued(invoice=invoice)
    return invoice


def invoice_mark_paid(*, invoice, actor, paid_at=None, reason=""):
    """Staff record a payment received for an open or past-due invoice (check, wire, deposit).

    The order it bills becomes paid; a subscription that was past due only because of unpaid
    invoices becomes active again once none is left past due.
    """
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().select_related("series").get(pk=invoice.pk)
        if invoice.state == InvoiceState.PAID:
            return invoice
        if invoice.state not in (InvoiceState.OPEN, InvoiceState.PAST_DUE):
            raise ServiceError(f"A {invoice.get_state_display().lower()} invoice cannot be paid.")
        before = _snapshot(invoice)
        invoice.state = InvoiceState.PAID
        invoice.paid_at = paid_at or timezone.now()
        invoice.save(update_fields=["state", "paid_at"])
        audit_record(
            account=invoice.account, actor=actor, kind="invoice.paid",
            summary=f"Invoice {invoice.display_number} paid", before=before, after=_snapshot(invoice),
            reason=reason,
        )
        if invoice.order_id:
            order = Order.objects.select_for_update().get(pk=invoice.order_id)
            if order.state != OrderState.PAID:
                order.state, order.paid_at = OrderState.PAID, invoice.paid_at
                order.save(update_fields=["state", "paid_at"])
                audit_record(
                    account=invoice.account, actor=actor, kind="order.paid",
                    summary=f"Order {order.pk} paid by invoice {invoice.display_number}",
                    after={"order": order.pk, "state": order.state},
                )
        _refresh_payment_state(account=invoice.account, actor=actor)
    return invoice


def _refresh_payment_state(*, account, actor):
    subscription = Subscription.objects.filter(account=account).first()
    if subscription is not None:
        subscription_refresh_payment_state(subscription=subscription, actor=actor)


def invoice_void_with_credit_note(*, invoice, actor, reason=""):
    """Voids an issued invoice and issues its credit note (series CN) negating every line.

    Numbers are never reused or deleted: the voided invoice keeps its number and the credit note
    takes the next one of its own series. The credit note is settled against the invoice at once
    (state paid). Voiding twice returns the first credit note.
    """
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().select_related("series").get(pk=invoice.pk)
        if invoice.credit_note_for_id is not None:
            raise ServiceError("A credit note cannot be voided.")
        if invoice.state == InvoiceState.VOID:
            return Invoice.objects.get(credit_note_for=invoice, credit_settlement=CreditSettlement.VOID)
        if invoice.credit_notes.exists():
            raise ServiceError("This invoice has partial credit notes: credit the rest of it instead "
                               "of voiding it.")
        if invoice.number is None:
            raise ServiceError("A draft invoice has no number to void.")
        before = _snapshot(invoice)
        now = timezone.now()
        invoice.state, invoice.voided_at = InvoiceState.VOID, now
        invoice.save(update_fields=["state", "voided_at"])
        series, number = series_next_number(CREDIT_NOTE_SERIES)
        credit_note = Invoice.objects.create(
            account_id=invoice.account_id, order_id=invoice.order_id, series=series, number=number,
            state=InvoiceState.PAID, credit_note_for=invoice, total_cents=-invoice.total_cents,
            issued_at=now, due_at=now, paid_at=now, credit_settlement=CreditSettlement.VOID,
            credit_reason=reason[:300], tax_cents=-invoice.tax_cents,
            credit_applied_cents=-invoice.credit_applied_cents,
            **{name: getattr(invoice, name) for name in TAX_FIELDS if name != "tax_cents"},
        )
        InvoiceLine.objects.bulk_create(
            InvoiceLine(
                invoice=credit_note, description=f"Credit: {line.description}",
                quantity=line.quantity, unit_price_cents=-line.unit_price_cents, days=line.days,
                term_days=line.term_days, discount_percent=line.discount_percent,
                discount_label=line.discount_label, amount_cents=-line.amount_cents,
                sort_order=line.sort_order,
            )
            for line in invoice.lines.all()
        )
        if invoice.credit_applied_cents > 0:
            # The account credit the invoice consumed goes back to the account's balance.
            credits.credit_grant(credit_note=credit_note, amount_cents=invoice.credit_applied_cents,
                                 actor=actor)
        documents.document_prepare(invoice=credit_note, credited=invoice)
        audit_record(
            account=invoice.account, actor=actor, kind="invoice.voided",
            summary=f"Invoice {invoice.display_number} voided by credit note {credit_note.display_number}",
            before=before, after=_snapshot(invoice), reason=reason,
        )
        audit_record(
            account=invoice.account, actor=actor, kind="invoice.credit_note_issued",
            summary=f"Credit note {credit_note.display_number} for {invoice.display_number}",
            after=_snapshot(credit_note), reason=reason,
        )
        _refresh_payment_state(account=invoice.account, actor=actor)
        emails.send_credit_note_issued(credit_note=credit_note, invoice=invoice)
    return credit_note
