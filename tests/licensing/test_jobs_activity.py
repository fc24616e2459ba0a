import datetime as dt

import pytest
import time_machine
from django.core.management import call_command

from accounts.models import AuditEntry
from billing.models import Subscription
from licensing.activity import (
    activity_ingest,
    purge_data_history,
    snapshot_license_usage,
    usage_snapshot_bump,
)
from licensing.models import AccountLicensing, ActivityDay, TrackedUser, UsageSnapshot
from licensing.reports import data_history_start, storage_used_bytes
from tests.factories import make_account
from tests.licensing.activity_helpers import add_addon, at, storage_counter, tracked_user

OCT_15 = dt.datetime(2026, 10, 15, 10, 0, tzinfo=dt.UTC)
ITEM = [{"app": "word.exe", "url": "https://docs.example.com/a", "title": "A", "seconds": 60}]


# --- the window --------------------------------------------------------------------------------

@time_machine.travel(OCT_15, tick=False)
def test_a_30_day_account_on_15_october_sees_back_to_15_september(db):
    free = make_account(plan="free")[0]
    assert data_history_start(account=free) == dt.date(2026, 9, 15)


@time_machine.travel(OCT_15, tick=False)
def test_12_and_6_month_windows_are_calendar_months(db):
    professional = make_account(plan="professional", licenses=5)[0]
    essentials = make_account(plan="essentials", licenses=5)[0]
    assert data_history_start(account=professional) == dt.date(2025, 10, 15)
    assert data_history_start(account=essentials) == dt.date(2026, 4, 15)


@time_machine.travel(dt.datetime(2026, 8, 31, 9, tzinfo=dt.UTC), tick=False)
def test_a_month_back_from_a_long_month_ends_on_the_shorter_months_last_day(db):
    essentials = make_account(plan="essentials", licenses=5)[0]
    assert data_history_start(account=essentials) == dt.date(2026, 2, 28)


@time_machine.travel(OCT_15, tick=False)
def test_each_data_history_unit_adds_12_months(db):
    one = make_account(plan="essentials", licenses=5)[0]
    add_addon(one, "data_history")
    two = make_account(plan="professional", licenses=5)[0]
    add_addon(two, "data_history", units=2)
    assert data_history_start(account=one) == dt.date(2025, 4, 15)
    assert data_history_start(account=two) == dt.date(2023, 10, 15)


# --- the purge ---------------------------------------------------------------------------------

def seed_around(account, start):
    """Activity on the first visible day, the day before it, and today."""
    user = tracked_user(account)
    for day in (start - dt.timedelta(days=1), start, OCT_15.date()):
        activity_ingest(account=account, tracked_user=user, observed_at=at(day), items=ITEM)
    return user


@time_machine.travel(OCT_15, tick=False)
def test_purge_deletes_only_activity_outside_each_window_and_is_harmless_twice(db):
    free = make_account(plan="free")[0]
    professional = make_account(plan="professional", licenses=5)[0]
    extended = make_account(plan="essentials", licenses=5)[0]
    add_addon(extended, "data_history")
    starts = {
        free: dt.date(2026, 9, 15), professional: dt.date(2025, 10, 15), extended: dt.date(2025, 4, 15),
    }
    for account, start in starts.items():
        seed_around(account, start)
    # An old, legitimately kept row of the 12-month account: the 30-day cut must not reach it.
    activity_ingest(
        account=professional, tracked_user=TrackedUser.objects.filter(account=professional).first(),
        observed_at=at(dt.date(2026, 1, 1)), items=ITEM,
    )
    audit_before = AuditEntry.objects.count()
    users_before = TrackedUser.objects.count()

    assert purge_data_history() == 3
    assert purge_data_history() == 0

    for account, start in starts.items():
        days = set(ActivityDay.objects.filter(account=account).values_list("day", flat=True))
        assert min(days) == start
        assert start - dt.timedelta(days=1) not in days
        assert storage_counter(account) == storage_used_bytes(account=account) > 0
    assert ActivityDay.objects.filter(account=professional, day=dt.date(2026, 1, 1)).exists()
    # Configuration and audit data are never purged.
    assert AuditEntry.objects.count() == audit_before
    assert TrackedUser.objects.count() == users_before


@time_machine.travel(OCT_15, tick=False)
def test_purge_is_one_delete_per_window_whatever_the_number_of_accounts(db, django_assert_max_num_queries):
    for _ in range(6):
        seed_around(make_account(plan="free")[0], dt.date(2026, 9, 15))
    # Reading the windows, one DELETE for the one window, the two storage UPDATEs (+ savepoint).
    with django_assert_max_num_queries(6):
        assert purge_data_history() == 6


@time_machine.travel(OCT_15, tick=False)
def test_purge_runs_as_a_management_command(db, capsys):
    seed_around(make_account(plan="free")[0], dt.date(2026, 9, 15))
    call_command("purge_data_history")
    assert "1 activity rows" in capsys.readouterr().out


# --- usage snapshots ---------------------------------------------------------------------------

def set_used(account, used):
    AccountLicensing.objects.update_or_create(account=account, defaults={"used": used})


def snapshots(account):
    return list(UsageSnapshot.objects.filter(account=account).order_by("day").values_list("day", "used", "licenses"))


@pytest.mark.django_db
def test_snapshot_keeps_the_days_high_water_and_is_idempotent():
    account = make_account(plan="professional", licenses=10)[0]
    other = make_account(plan="free")[0]  # no AccountLicensing row yet: counts 0 used
    with time_machine.travel(OCT_15, tick=False):
        set_used(account, 7)
        assert snapshot_license_usage() >= 2
        assert snapshot_license_usage() == 0  # nothing changed: nothing rewritten
        set_used(account, 12)
        snapshot_license_usage()
        set_used(account, 4)  # users reclaimed later that day: the high water stays
        Subscription.objects.filter(account=account).update(licenses=15)
        snapshot_license_usage()
        snapshot_license_usage()
        assert snapshots(account) == [(OCT_15.date(), 12, 15)]
        assert snapshots(other) == [(OCT_15.date(), 0, 3)]
    with time_machine.travel(OCT_15 + dt.timedelta(days=1), tick=False):
        call_command("snapshot_license_usage")
    assert snapshots(account)[-1] == (OCT_15.date() + dt.timedelta(days=1), 4, 15)


@pytest.mark.django_db
def test_a_bump_raises_todays_high_water_between_runs():
    account = make_account(plan="professional", licenses=10)[0]
    with time_machine.travel(OCT_15, tick=False):
        usage_snapshot_bump(account=account, used=11, licenses=10)
        usage_snapshot_bump(account=account, used=9, licenses=10)
        set_used(account, 9)
        snapshot_license_usage()
    assert snapshots(account) == [(OCT_15.date(), 11, 10)]


@pytest.mark.django_db
def test_snapshot_is_one_statement_for_any_number_of_accounts(django_assert_max_num_queries):
    for n in range(25):
        set_used(make_account(plan="professional", licenses=5)[0], n)
    with django_assert_max_num_queries(3):  # savepoint, INSERT .. SELECT, release
        assert snapshot_license_usage() == 25


def test_both_jobs_are_scheduled_daily_and_their_tasks_run(db):
    from django_q.models import Schedule

    from accounts.jobs import JOBS, schedules_sync
    from licensing import activity_tasks

    schedules_sync()
    for name in ("purge_data_history", "snapshot_license_usage"):
        schedule = Schedule.objects.get(name=name)
        assert schedule.func == JOBS[name].func == f"licensing.activity_tasks.{name}"
        assert schedule.schedule_type == Schedule.DAILY
        getattr(activity_tasks, name)()  # the entry point django-q2 calls
