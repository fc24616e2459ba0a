"""Partial credit notes and refunds (issue 14, item 4).

Staff credit part of an issued invoice, some of its lines or an amount, with a reason
(``invoice_credit``): a credit note in series CN (gapless, ``billing.invoices.series_next_number``),
its PDF made once like an invoice's, and either

- **a refund to the card** (``CreditSettlement.REFUND``): a ``Refund`` row with its own key is
  committed with the credit note, then the gateway is called with no transaction open
  (``refund_run``), with that key as the idempotency key; a lost answer leaves it ``unknown``
  and running it again repeats the same request, which returns the first refund; or
- **account credit** (``CreditSettlement.ACCOUNT_CREDIT``): the amount joins the account's
  credit ledger (``billing.credits``), which the next invoice consumes first.

A credited line carries its tax back at the invoice's own rate (snapshotted, one rounding); a
credited amount is what the customer gets back, tax included (``pricing.tax_included_cents``).
Voiding a whole invoice stays ``billing.invoices.invoice_void_with_credit_note``. Neither a
credit nor a void changes what was bought (docs/billing.md, "Credits, voids and what was bought").
"""

from django.db import transaction
from django.utils import timezone

from accounts.services import ServiceError, audit_record
from billing import credits, documents, pricing
from billing.gateways import get_gateway
from billing.invoices import CREDIT_NOTE_SERIES, _snapshot, series_next_number
from billing.models import (
    CreditSettlement,
    Invoice,
    InvoiceLine,
    InvoiceState,
    Payment,
    PaymentState,
    Refund,
    RefundState,
)
from billing.payments import reconcile_after
from billing.tax import TAX_FIELDS
from billing.templatetags.money import cents as format_cents


def _card_payment(invoice):
    if not invoice.order_id:
        return None
    return Payment.objects.filter(order_id=invoice.order_id, state=PaymentState.SUCCEEDED).order_by("-pk").first()


def credited_cents(invoice) -> int:
    """What the invoice's credit notes gave back already (positive)."""
    return -sum(invoice.credit_notes.values_list("total_cents", flat=True))


def invoice_credit(*, invoice, actor, reason, settlement, line_ids=(), amount_cents=None) -> Invoice:
    """Credits ``line_ids`` (each line once) or ``amount_cents`` (tax included) of an issued
    invoice; returns the credit note. A refund is sent to the gateway after the commit."""
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError("Say why (the reason is printed on the credit note).")
    if settlement not in (CreditSettlement.REFUND, CreditSettlement.ACCOUNT_CREDIT):
        raise ServiceError("Choose a refund to the card or account credit.")
    line_ids = [int(pk) for pk in line_ids or ()]
    if bool(line_ids) == (amount_cents is not None):
        raise ServiceError("Credit some lines or an amount (one of the two).")
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().select_related("series").get(pk=invoice.pk)
        if invoice.credit_note_for_id is not None:
            raise ServiceError("A credit note cannot be credited.")
        if invoice.number is None:
            raise ServiceError("A draft invoice cannot be credited.")
        if invoice.state == InvoiceState.VOID:
            raise ServiceError("This invoice is void: it was credited in full.")
        taxed = invoice.has_tax_line and not invoice.reverse_charge
        if line_ids:
            lines = list(invoice.lines.filter(pk__in=line_ids).select_related("credited_by"))
            if len(lines) != len(set(line_ids)):
                raise ServiceError("Those lines are not lines of this invoice.")
            if any(hasattr(line, "credited_by") for line in lines):
                raise ServiceError("A line of this invoice was already credited.")
            net = sum(line.amount_cents for line in lines)
            tax = pricing.tax_amount_cents(taxable_cents=net, percent=invoice.tax_percent) if taxed else 0
            gross = net + tax
        else:
            gross = int(amount_cents)
            if gross <= 0:
                raise ServiceError("The amount to credit must be more than zero.")
            tax = pricing.tax_included_cents(gross_cents=gross, percent=invoice.tax_percent) if taxed else 0
            net, lines = gross - tax, []
        left = invoice.total_cents - credited_cents(invoice)
        if gross > left:
            raise ServiceError(f"That is more than is left to credit on this invoice ({format_cents(left)}).")
        payment = None
        if settlement == CreditSettlement.REFUND:
            payment = _card_payment(invoice)
            if payment is None:
                raise ServiceError("This invoice has no card payment to refund: keep it as account credit.")
            refundable = (payment.charged_cents or payment.amount_cents) - payment.refunded_cents - sum(
                payment.refunds.exclude(state__in=[RefundState.SUCCEEDED, RefundState.FAILED])
                .values_list("amount_cents", flat=True))
            if gross > refundable:
                raise ServiceError(f"The card payment has {format_cents(refundable)} left to refund.")

        series, number = series_next_number(CREDIT_NOTE_SERIES)
        now = timezone.now()
        credit_note = Invoice.objects.create(
            account_id=invoice.account_id, order_id=invoice.order_id, series=series, number=number,
            state=InvoiceState.PAID, credit_note_for=invoice, total_cents=-gross, issued_at=now,
            due_at=now, paid_at=now, credit_settlement=settlement, credit_reason=reason[:300],
            **{name: getattr(invoice, name) for name in TAX_FIELDS if name != "tax_cents"},
            tax_cents=-tax,
        )
        if lines:
            InvoiceLine.objects.bulk_create(
                InvoiceLine(
                    invoice=credit_note, credited_line=line, description=f"Credit: {line.description}",
                    quantity=line.quantity, unit_price_cents=-line.unit_price_cents, days=line.days,
                    term_days=line.term_days, discount_percent=line.discount_percent,
                    discount_label=line.discount_label, amount_cents=-line.amount_cents,
                    sort_order=line.sort_order,
                )
                for line in lines
            )
        else:
            InvoiceLine.objects.create(
                invoice=credit_note, description=f"Credit: {reason[:180]}", quantity=1,
                unit_price_cents=-net, days=1, term_days=1, amount_cents=-net,
            )
        documents.document_prepare(invoice=credit_note, credited=invoice)
        audit_record(
            account=invoice.account, actor=actor, kind="invoice.credited",
            summary=(f"Credit note {credit_note.display_number}: {format_cents(gross)} of "
                     f"{invoice.display_number} ({credit_note.get_credit_settlement_display().lower()})"),
            before=_snapshot(invoice),
            after={**_snapshot(credit_note), "settlement": settlement, "lines": line_ids},
            reason=reason,
        )
        refund = None
        if settlement == CreditSettlement.ACCOUNT_CREDIT:
            credits.credit_grant(credit_note=credit_note, amount_cents=gross, actor=actor)
        else:
            refund = Refund.objects.create(
                account_id=invoice.account_id, credit_note=credit_note, payment=payment,
                key=f"refund-{credit_note.series.code}-{credit_note.number}", amount_cents=gross,
            )
    # Committed: the credit note and the refund's key exist before any money moves.
    if refund is not None:
        refund_run(refund=refund, actor=actor)
    return credit_note


def refund_run(*, refund, actor) -> Refund:
    """Sends the refund to the gateway (no transaction open), then books the answer. Safe to
    run again (staff retry, a lost answer): the same key, never a second refund."""
    refund = Refund.objects.select_related("payment").get(pk=refund.pk)
    if refund.state in (RefundState.SUCCEEDED, RefundState.FAILED):
        return refund
    result = get_gateway(refund.payment.gateway).refund(
        key=refund.key, reference=refund.payment.reference, amount_cents=refund.amount_cents,
    )
    with transaction.atomic():
        refund = Refund.objects.select_for_update().select_related("payment__order").get(pk=refund.pk)
        if refund.state in (RefundState.SUCCEEDED, RefundState.FAILED):
            return refund
        if result.succeeded:
            refund.state, refund.reference, refund.settled_at = RefundState.SUCCEEDED, result.reference, timezone.now()
            payment = Payment.objects.select_for_update().get(pk=refund.payment_id)
            payment.refunded_cents += refund.amount_cents
            payment.save(update_fields=["refunded_cents", "updated_at"])
            audit_record(
                account=refund.account, actor=actor, kind="payment.refunded",
                summary=f"Payment {payment.pk} refunded {format_cents(refund.amount_cents)} (refund {refund.key})",
                after={"payment": payment.pk, "refund": refund.key, "reference": result.reference,
                       "refunded_cents": payment.refunded_cents},
            )
        elif result.outcome_unknown:
            refund.state, refund.message = RefundState.UNKNOWN, result.message[:300]
        else:
            refund.state, refund.message, refund.settled_at = RefundState.FAILED, result.message[:300], timezone.now()
            audit_record(
                account=refund.account, actor=actor, kind="payment.refund_failed",
                summary=f"Refund {refund.key} failed: {result.message}"[:300],
                after={"refund": refund.key, "message": result.message},
            )
        refund.save(update_fields=["state", "reference", "message", "settled_at"])
    return refund


def refunds_retry(*, actor, now=None) -> int:
    """The reconciliation job's part for refunds: every refund still pending or unknown a few
    minutes after it was made (a lost answer, a killed worker) is sent again with its key, which
    returns the first refund if it was made. Returns how many settled."""
    now = now or timezone.now()
    settled = 0
    stale = Refund.objects.filter(state__in=[RefundState.PENDING, RefundState.UNKNOWN],
                                  created_at__lte=now - reconcile_after()).order_by("pk")
    for refund in stale:
        if refund_run(refund=refund, actor=actor).state in (RefundState.SUCCEEDED, RefundState.FAILED):
            settled += 1
    return settled
