"""django-q2 entry points of billing's scheduled jobs: thin, state-based, safe to run twice.
Each is also a management command of the same name (billing/management/commands/)."""

from accounts.actors import Actor
from billing import (
    collection,
    credit_notes,
    documents,
    reconciliation,
    renewal_notices,
    renewals,
    trials,
)


def expire_trials():
    return trials.trials_expire(actor=Actor.job("expire_trials"))


def send_billing_notices():
    return renewal_notices.notices_send()


def mark_invoices_past_due():
    return renewals.invoices_mark_past_due(actor=Actor.job("mark_invoices_past_due"))


def renew_subscriptions():
    return renewals.subscriptions_renew(actor=Actor.job("renew_subscriptions"))


def reconcile_payments():
    actor = Actor.job("reconcile_payments")
    settled = reconciliation.payments_reconcile(actor=actor)
    return settled + credit_notes.refunds_retry(actor=actor)  # refunds whose answer was lost


def collect_invoices():
    return collection.invoices_collect(actor=Actor.job("collect_invoices"))


def render_invoice_document(invoice_id):
    """Queued after an invoice or credit note is issued: its PDF, made and stored once."""
    documents.document_render(invoice_id=invoice_id)


def render_invoice_documents():
    return documents.documents_render_missing()
