"""Billing's emails to the account's Admins: order confirmation, invoice issued, payment failed.

Each is queued in the transaction of its change and sent by the task cluster after the commit:
never for a change that was rolled back, never from inside the request.
"""

from django.conf import settings
from django.template.loader import render_to_string

from accounts.mail import email_queue
from accounts.selectors import billing_emails


def _send_on_commit(*, account_id, template, subject, context, attachments=None):
    """Queued with the change (accounts.mail): the task cluster sends it after the commit."""
    recipients = billing_emails(account_id=account_id)
    if not recipients:
        return
    body = render_to_string(
        f"emails/billing/{template}.txt", {**context, "site_url": settings.SITE_URL}
    )
    email_queue(subject=subject, body=body, recipients=recipients, attachments=attachments)


def send_order_confirmation(*, order):
    _send_on_commit(
        account_id=order.account_id, template="order_confirmation",
        subject=f"Your order {order.pk} is confirmed",
        context={"order": order, "lines": list(order.lines.all())},
    )


def send_invoice_issued(*, invoice):
    _send_on_commit(
        account_id=invoice.account_id, template="invoice_issued",
        subject=f"Invoice {invoice.display_number}",
        context={"invoice": invoice, "lines": list(invoice.lines.all())},
        # The PDF, read (or rendered, if the task cluster has not yet) when the email is sent.
        attachments=[("billing.documents.invoice_pdf_attachment", [invoice.pk])],
    )


def send_payment_failed(*, order, message):
    _send_on_commit(
        account_id=order.account_id, template="payment_failed",
        subject="Your payment did not go through",
        context={"order": order, "message": message},
    )


def send_credit_note_issued(*, credit_note, invoice):
    """Issue 15: a credit note is money: Admins and Billing members get it, its PDF attached.
    Once: voiding twice returns the first credit note without coming here."""
    _send_on_commit(
        account_id=credit_note.account_id, template="credit_note_issued",
        subject=f"Credit note {credit_note.display_number} for invoice {invoice.display_number}",
        context={"credit_note": credit_note, "invoice": invoice, "lines": list(credit_note.lines.all())},
        attachments=[("billing.documents.invoice_pdf_attachment", [credit_note.pk])],
    )


def format_day(day):
    """A date as the emails and messages write it: 30 November 2026."""
    return f"{day.day} {day:%B %Y}"
