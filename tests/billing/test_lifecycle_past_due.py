from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command

from accounts.actors import Actor
from accounts.models import AuditEntry
from billing.lifecycle import invoices_mark_past_due, subscription_refresh_payment_state
from billing.models import BillingNotice, Invoice, ScheduledChange, Subscription
from tests.billing.lifecycle_support import JOB, open_invoice
from tests.factories import make_account

pytestmark = pytest.mark.django_db

DUE = datetime(2026, 6, 1, 12, tzinfo=UTC)


def test_overdue_invoices_and_their_subscriptions_become_past_due_with_one_email(
    django_capture_on_commit_callbacks,
):
    account, admin = make_account(plan="professional", licenses=10)
    overdue = open_invoice(account, due_at=DUE)
    not_yet = open_invoice(account, due_at=DUE + timedelta(days=5))
    with time_machine.travel(DUE + timedelta(hours=1), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            assert invoices_mark_past_due(actor=JOB) == 1
        with django_capture_on_commit_callbacks(execute=True):
            assert invoices_mark_past_due(actor=JOB) == 0
    assert Invoice.objects.get(pk=overdue.pk).state == "past_due"
    assert Invoice.objects.get(pk=not_yet.pk).state == "open"
    assert Subscription.objects.get(account=account).state == "past_due"
    assert [m.to for m in mail.outbox] == [[admin.email]]
    assert mail.outbox[0].subject == f"Payment overdue: invoice {overdue.display_number}"
    assert BillingNotice.objects.filter(invoice=overdue, kind="payment_overdue").count() == 1
    assert AuditEntry.objects.filter(kind="invoice.past_due").count() == 1
    assert AuditEntry.objects.filter(kind="subscription.past_due").count() == 1


def test_paying_the_overdue_invoice_returns_the_subscription_to_its_state():
    account, admin = make_account(plan="professional", licenses=10)
    ScheduledChange.objects.create(subscription=account.subscription, cancel_to_free=True)
    Subscription.objects.filter(account=account).update(state="cancelled")
    invoice = open_invoice(account, due_at=DUE)
    with time_machine.travel(DUE + timedelta(days=1), tick=False):
        call_command("mark_invoices_past_due")
    assert Subscription.objects.get(account=account).state == "past_due"
    Invoice.objects.filter(pk=invoice.pk).update(state="paid")  # what invoice_mark_paid does
    sub = subscription_refresh_payment_state(
        subscription=account.subscription, actor=Actor.for_user(admin)
    )
    assert sub.state == "cancelled"  # its scheduled cancellation still stands
    assert AuditEntry.objects.filter(kind="subscription.payment_state").count() == 1
