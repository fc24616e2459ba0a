"""Issue 15: a trial that became Free and a credit note are told by email, once each."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail

from accounts.models import Role
from billing.invoices import invoice_issue_for_order, invoice_void_with_credit_note
from billing.lifecycle import trials_expire
from tests.billing.helpers import make_order
from tests.billing.lifecycle_support import JOB, trial_account_since
from tests.factories import add_member

pytestmark = pytest.mark.django_db
SIGNED_UP = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def test_a_trial_that_became_free_is_told_once(django_capture_on_commit_callbacks):
    account, admin = trial_account_since(SIGNED_UP)
    add_member(account, Role.VIEWER)
    with time_machine.travel(SIGNED_UP + timedelta(days=14, minutes=1), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            assert trials_expire(actor=JOB) == 1
            assert trials_expire(actor=JOB) == 0
    (email,) = mail.outbox
    assert email.to == [admin.email]
    assert email.subject == f"{account.name} is now on the Free plan"
    assert "up to 3 users" in email.body and "30 days of data history" in email.body
    assert "/cart/" in email.body


def test_a_credit_note_is_emailed_to_admins_and_billing_members(
    paid_account, django_capture_on_commit_callbacks,
):
    account, admin = paid_account
    billing = add_member(account, Role.BILLING)
    invoice = invoice_issue_for_order(order=make_order(account, lines=[(5, 22800, 365, 365)]),
                                      actor=JOB, paid=True)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        credit_note = invoice_void_with_credit_note(invoice=invoice, actor=JOB, reason="duplicate")
        invoice_void_with_credit_note(invoice=invoice, actor=JOB)  # twice: the first one
    (email,) = mail.outbox
    assert sorted(email.to) == sorted([admin.email, billing.email])
    assert email.subject == f"Credit note {credit_note.display_number} for invoice {invoice.display_number}"
    assert "-$1,140.00" in email.body
    assert email.attachments and email.attachments[0][0] == f"{credit_note.display_number}.pdf"
