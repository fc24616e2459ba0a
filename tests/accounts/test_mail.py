"""Emails leave through the task cluster (issue 13): a slow or failing mailer never fails the
change it tells about, a failed email is retried by the minute job, and none is sent twice."""

from datetime import timedelta

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone

from accounts.mail import MAX_ATTEMPTS, email_deliver, email_queue, emails_deliver_queued
from accounts.models import OutboundEmail, OutboundEmailState

pytestmark = pytest.mark.django_db



@pytest.fixture
def broken_mailer(monkeypatch):
    """The SMTP server refuses every connection, until the test repairs it."""

    def refuse(self, *args, **kwargs):
        raise ConnectionRefusedError("SMTP server down")

    monkeypatch.setattr("django.core.mail.EmailMessage.send", refuse)
    return monkeypatch


def test_an_email_is_sent_after_the_commit_and_recorded(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        email_queue(subject="Hello", body="Body", recipients=["a@example.com", "b@example.com"])
        assert mail.outbox == []  # nothing leaves before the commit
    assert [(m.subject, m.to) for m in mail.outbox] == [("Hello", ["a@example.com", "b@example.com"])]
    row = OutboundEmail.objects.get()
    assert row.state == OutboundEmailState.SENT and row.sent_at is not None and row.attempts == 1


def test_a_rolled_back_change_sends_nothing(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            email_queue(subject="Hello", body="Body", recipients=["a@example.com"])
            raise RuntimeError("the change failed")
    assert mail.outbox == [] and not OutboundEmail.objects.exists()


def test_a_failing_mailer_fails_nothing_and_the_job_retries_it(
    django_capture_on_commit_callbacks, broken_mailer,
):
    with django_capture_on_commit_callbacks(execute=True):
        email_queue(subject="Invoice", body="Body", recipients=["a@example.com"])  # no exception
    row = OutboundEmail.objects.get()
    assert (row.state, row.attempts) == (OutboundEmailState.QUEUED, 1)
    assert "SMTP server down" in row.last_error
    assert emails_deliver_queued() == 0  # not due yet: the next attempt is a minute later
    broken_mailer.undo()  # the SMTP server is back
    assert emails_deliver_queued(now=timezone.now() + timedelta(minutes=2)) == 1
    assert [m.subject for m in mail.outbox] == ["Invoice"]
    assert emails_deliver_queued(now=timezone.now() + timedelta(days=1)) == 0  # sent once
    assert len(mail.outbox) == 1


def test_a_mailer_down_for_good_gives_up_after_the_last_attempt(broken_mailer):
    row = email_queue(subject="Invoice", body="Body", recipients=["a@example.com"])
    for _ in range(MAX_ATTEMPTS + 2):
        email_deliver(row.pk)
    row.refresh_from_db()
    assert (row.state, row.attempts) == (OutboundEmailState.FAILED, MAX_ATTEMPTS)


def test_one_email_per_key_and_one_delivery_per_row(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = email_queue(subject="Breach", body="x", recipients=["s@example.com"], key="breach-1")
        again = email_queue(subject="Breach", body="x", recipients=["s@example.com"], key="breach-1")
    assert first is not None and again is None
    assert email_deliver(first.pk) is False  # delivered already: a second worker sends nothing
    assert len(mail.outbox) == 1


def test_a_billing_job_with_the_mailer_down_still_records_its_notice(
    django_capture_on_commit_callbacks, broken_mailer,
):
    from datetime import UTC, datetime

    import time_machine

    from billing.lifecycle import notices_send
    from billing.models import BillingNotice
    from tests.billing.lifecycle_support import trial_account_since

    trial_account_since(datetime(2026, 3, 1, 9, 30, tzinfo=UTC))
    with time_machine.travel(datetime(2026, 3, 12, 6, tzinfo=UTC), tick=False), \
            django_capture_on_commit_callbacks(execute=True):
        assert notices_send() == 1
    assert BillingNotice.objects.count() == 1
    email = OutboundEmail.objects.get()
    assert email.state == OutboundEmailState.QUEUED and email.subject.startswith("Your Professional trial")
