"""Issue 13: check-in event ids are kept for the dedupe window, then purged by a daily job."""

import io
from datetime import timedelta

from django.core.management import call_command
from django.utils import timezone

from accounts.jobs import JOBS
from licensing.checkin_events import CHECKIN_DEDUPE_WINDOW, checkin_events_purge
from licensing.models import CheckinEvent
from tests.licensing.conftest import event


def test_an_event_is_a_duplicate_for_the_whole_window_then_forgotten(agent, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    sent = event("Ann", event_id="evt-late-retry")
    assert agent.checkin(sent)["results"][0]["result"] == "accepted"

    time_machine.shift(CHECKIN_DEDUPE_WINDOW - timedelta(minutes=1))
    checkin_events_purge()
    assert agent.checkin({**sent, "observed_at": timezone.now().isoformat()})["results"][0]["result"] == "duplicate"

    time_machine.shift(timedelta(minutes=2))
    assert checkin_events_purge() == 1
    assert not CheckinEvent.objects.filter(event_id="evt-late-retry").exists()


def test_the_purge_deletes_in_chunks_the_old_ids_only(agent):
    agent.checkin(*[event(f"user{n % 3}") for n in range(7)])
    old = timezone.now() - CHECKIN_DEDUPE_WINDOW - timedelta(seconds=1)
    ids = sorted(CheckinEvent.objects.values_list("pk", flat=True))
    CheckinEvent.objects.filter(pk__in=ids[:5]).update(received_at=old)
    assert checkin_events_purge(chunk=2) == 5  # three transactions of 2, 2 and 1
    assert sorted(CheckinEvent.objects.values_list("pk", flat=True)) == ids[5:]
    assert checkin_events_purge(chunk=2) == 0  # state-based: a second run does nothing


def test_the_purge_is_a_daily_job_and_a_command(agent):
    assert JOBS["purge_checkin_events"].func == "licensing.tasks.purge_checkin_events"
    agent.checkin(event("Ann"))
    CheckinEvent.objects.update(received_at=timezone.now() - timedelta(days=31))
    out = io.StringIO()
    call_command("purge_checkin_events", stdout=out)
    assert out.getvalue().strip() == "1 check-in event ids purged"
    assert not CheckinEvent.objects.exists()


def test_an_accounts_event_ids_go_with_it_and_are_its_own(db, make_agent):
    """The event ids' table has no foreign key in the database (issue 13: one check of the
    account per inserted row); the ORM still deletes them with their account, and one account's
    id is never another's duplicate."""
    from accounts.models import Account
    from tests.factories import make_account

    kept, gone = make_agent(make_account(plan="professional", licenses=10)[0]), make_agent(
        make_account(plan="professional", licenses=10)[0])
    assert kept.checkin(event("Ann", event_id="same-id"))["results"][0]["result"] == "accepted"
    assert gone.checkin(event("Bob", event_id="same-id"))["results"][0]["result"] == "accepted"
    Account.objects.filter(pk=gone.account.pk).delete()
    assert list(CheckinEvent.objects.values_list("account_id", "event_id")) == [(kept.account.pk, "same-id")]
    assert kept.checkin(event("Ann", event_id="same-id"))["results"][0]["result"] == "duplicate"
