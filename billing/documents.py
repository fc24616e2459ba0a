"""Invoices and credit notes as PDF documents, made once and kept (issue 14, item 1).

When an invoice or credit note is issued, ``document_prepare`` copies what the PDF shows beyond
the invoice's own rows (the seller from settings, the buyer's billing details, the dates and
payment terms at issue) into an ``InvoiceDocument``, in the issuing transaction. After the
commit, the task cluster renders the PDF (``document_render``, WeasyPrint) and stores its bytes
once. Why after the commit and not in the transaction: WeasyPrint takes a tenth of a second or
more per page and needs the system's pango; inside the transaction it would hold the invoice
series' row lock (every other checkout waits for it) and a rendering failure would roll back the
sale. Rendered from the copies, a PDF made a minute or a day late is the PDF of the moment of
issue.

Stored once: the bytes are written by an UPDATE guarded by ``pdf IS NULL``, so two renderers
racing (the task, the email delivery, a download) store one of their results and every reader
gets that one. Whoever finds no PDF yet renders it (``document_pdf``): the "invoice issued" email
and the download never wait for the task cluster. The job ``render_invoice_documents`` renders
any still missing (the broker was down), and prepares the document of an invoice issued before
documents existed (from the details of that moment: the best we have).
"""

import hashlib
import logging
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from billing.models import BillingDetails, Invoice, InvoiceDocument, InvoiceState
from billing.pricing import list_amount_cents
from billing.terms import NET_DAYS

logger = logging.getLogger(__name__)

STYLESHEET = Path(__file__).parent / "documents.css"
PDF_MIMETYPE = "application/pdf"


def seller_snapshot() -> dict:
    seller = getattr(settings, "SELLER", {}) or {}
    return {**seller, "address": list(seller.get("address") or [])}


def buyer_snapshot(*, account) -> dict:
    details = BillingDetails.objects.filter(account=account).first()
    if details is None:
        # No billing details yet: the account's name, and nothing we would have to invent.
        return {"legal_name": account.name, "missing_details": True}
    return details.snapshot()


def _header(invoice, *, credited=None) -> dict:
    site = settings.SITE_URL.rstrip("/")
    paid_at_issue = invoice.state == InvoiceState.PAID
    return {
        "kind": "credit_note" if credited is not None else "invoice",
        "number": invoice.display_number,
        "issued_at": invoice.issued_at.isoformat(),
        "due_at": invoice.due_at.isoformat() if invoice.due_at else None,
        "paid_at_issue": paid_at_issue,
        "net_days": (invoice.due_at - invoice.issued_at).days if invoice.due_at else NET_DAYS,
        "order": invoice.order_id,
        "credits_number": credited.display_number if credited is not None else "",
        "credits_issued_at": credited.issued_at.isoformat() if credited is not None else None,
        "pay_url": f"{site}/billing/invoices/{invoice.pk}/pay/",
        "currency": "USD",
    }


def document_prepare(*, invoice, credited=None) -> InvoiceDocument:
    """Copies the document's parties and terms; renders it after the commit. Call inside the
    transaction that issues ``invoice``. A credit note is made out to the buyer of the invoice it
    credits, as that invoice said."""
    buyer = None
    if credited is not None:
        buyer = (
            InvoiceDocument.objects.filter(invoice=credited).values_list("buyer", flat=True).first()
        )
    document = InvoiceDocument.objects.create(
        invoice=invoice, seller=seller_snapshot(),
        buyer=buyer or buyer_snapshot(account=invoice.account),
        header=_header(invoice, credited=credited),
    )
    transaction.on_commit(lambda: _enqueue_render(invoice.pk))
    return document


def _enqueue_render(invoice_id):
    from django_q.tasks import async_task

    try:
        async_task("billing.tasks.render_invoice_document", invoice_id)
    except Exception:  # the broker is down: the job or the first reader renders it
        logger.exception("invoice %s: rendering not handed to the task cluster", invoice_id)


def document_context(document: InvoiceDocument) -> dict:
    """What the template shows: the copies, and the invoice's own lines (copied at issue)."""
    from django.utils.dateparse import parse_datetime

    header = dict(document.header)
    for key in ("issued_at", "due_at", "credits_issued_at"):
        header[key] = parse_datetime(header[key]) if header.get(key) else None
    invoice = document.invoice
    lines = list(invoice.lines.all())
    list_cents = sum(list_amount_cents(line) for line in lines)
    lines_cents = sum(line.amount_cents for line in lines)
    return {
        "seller": document.seller, "buyer": document.buyer, "header": header,
        "is_credit_note": header.get("kind") == "credit_note", "lines": lines,
        "subtotal_cents": list_cents, "discount_cents": lines_cents - list_cents,
        "total_cents": invoice.total_cents, "invoice": invoice,
    }


def pdf_render(context: dict) -> bytes:
    """The PDF of a document's context (WeasyPrint). Pure: reads no table."""
    from weasyprint import CSS, HTML

    html = render_to_string("billing/documents/invoice.html", context)
    return HTML(string=html, base_url=str(STYLESHEET.parent)).write_pdf(
        stylesheets=[CSS(filename=str(STYLESHEET))],
    )


def document_render(*, invoice_id: int) -> InvoiceDocument:
    """Renders and stores the invoice's PDF unless it has one; returns the stored document.
    Safe to call twice, late, or from two workers: the first stored bytes are kept."""
    document = _document_for(invoice_id)
    if document.rendered_at is not None:
        return document
    pdf = pdf_render(document_context(document))
    stored = InvoiceDocument.objects.filter(pk=document.pk, pdf__isnull=True).update(
        pdf=pdf, sha256=hashlib.sha256(pdf).hexdigest(), rendered_at=timezone.now(),
    )
    if not stored:
        logger.info("invoice %s: PDF rendered twice, the first one kept", invoice_id)
    return InvoiceDocument.objects.get(pk=document.pk)


def _document_for(invoice_id):
    document = InvoiceDocument.objects.select_related("invoice__series").filter(
        invoice_id=invoice_id
    ).first()
    if document is not None:
        return document
    # An invoice issued before documents existed: its parties as they are now, copied once.
    invoice = Invoice.objects.select_related("series", "account", "credit_note_for__series").get(
        pk=invoice_id
    )
    if invoice.number is None:
        raise Invoice.DoesNotExist("a draft has no document")
    with transaction.atomic():
        if not InvoiceDocument.objects.filter(invoice=invoice).exists():
            InvoiceDocument.objects.create(
                invoice=invoice, seller=seller_snapshot(),
                buyer=buyer_snapshot(account=invoice.account),
                header=_header(invoice, credited=invoice.credit_note_for),
            )
    return InvoiceDocument.objects.select_related("invoice__series").get(invoice=invoice)


def document_pdf(*, invoice) -> tuple[str, bytes]:
    """(file name, bytes) of the invoice's PDF, rendered now if nobody has yet."""
    document = document_render(invoice_id=invoice.pk)
    return f"{document.invoice.display_number}.pdf", bytes(document.pdf)


def invoice_pdf_attachment(invoice_id):
    """The email queue's attachment loader (accounts.mail): called when the email is sent."""
    invoice = Invoice.objects.select_related("series").get(pk=invoice_id)
    filename, content = document_pdf(invoice=invoice)
    return filename, content, PDF_MIMETYPE


def documents_render_missing(*, limit: int = 200) -> int:
    """The job: every issued invoice or credit note without its PDF yet, oldest first."""
    invoice_ids = list(
        Invoice.objects.filter(number__isnull=False)
        .exclude(document__rendered_at__isnull=False)
        .order_by("issued_at", "pk").values_list("pk", flat=True)[:limit]
    )
    done = 0
    for invoice_id in invoice_ids:
        try:
            document_render(invoice_id=invoice_id)
            done += 1
        except Exception:  # one broken document does not stop the others; retried next run
            logger.exception("invoice %s: PDF not rendered", invoice_id)
    return done
