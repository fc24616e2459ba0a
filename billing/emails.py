"""Billing's emails to the account's Admins: order confirmation, invoice issued, payment failed.

Each goes out with ``transaction.on_commit``: never for a change that was rolled back.
"""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string

from accounts.selectors import admin_emails


def _send_on_commit(*, account_id, template, subject, context):
    def send():
        recipients = admin_emails(account_id=account_id)
        if not recipients:
            return
        body = render_to_string(
            f"emails/billing/{template}.txt", {**context, "site_url": settings.SITE_URL}
        )
        EmailMultiAlternatives(subject, body, None, recipients).send()

    transaction.on_commit(send)


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
    )


def send_payment_failed(*, order, message):
    _send_on_commit(
        account_id=order.account_id, template="payment_failed",
        subject="Your payment did not go through",
        context={"order": order, "message": message},
    )
