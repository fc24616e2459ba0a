"""Issue 15: an Admin deletes the account's activity of a date range (the seed's "until data is
deleted"), sees first what will go, and a storage block lifts once the account is under its limit."""

import datetime as dt

import pytest
import time_machine

from accounts.actors import Actor
from accounts.models import AuditEntry, Role
from licensing.activity import activity_ingest
from licensing.compliance import compliance_evaluate
from licensing.models import AccountLicensing, ActivityDay, ComplianceState
from tests.factories import add_member, make_account
from tests.licensing.activity_helpers import at, storage_counter, tracked_user

pytestmark = pytest.mark.django_db
TODAY = dt.date(2027, 2, 12)
URL = "/reports/delete/"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(dt.datetime(2027, 2, 12, 12, tzinfo=dt.UTC), tick=False):
        yield


def with_activity(account):
    eva, bob = tracked_user(account, "eva"), tracked_user(account, "bob")
    for offset in range(10):  # 10 days, two people, one app each
        day = TODAY - dt.timedelta(days=offset)
        activity_ingest(account=account, tracked_user=eva, observed_at=at(day),
                        items=[{"app": "excel.exe", "url": "https://a.example/x", "title": "t", "seconds": 60}])
        activity_ingest(account=account, tracked_user=bob, observed_at=at(day),
                        items=[{"app": "word.exe", "url": None, "title": None, "seconds": 30}])
    return eva, bob


def test_the_confirm_page_says_what_will_be_deleted_and_nothing_goes(client):
    account, admin = make_account(plan="professional", licenses=10)
    with_activity(account)
    client.force_login(admin)
    page = client.get(URL, {"start": "2027-02-03", "end": "2027-02-05"})
    assert page.status_code == 200
    text = page.content.decode()
    assert 'id="delete-summary"' in text
    assert "6 activity rows of 2 people" in text
    assert "from 2027-02-03 to 2027-02-05" in text
    assert ActivityDay.objects.filter(account=account).count() == 20


def test_deleting_a_range_deletes_its_rows_only_and_lowers_storage_with_an_audit_row(client):
    account, admin = make_account(plan="professional", licenses=10)
    with_activity(account)
    other, _ = make_account(plan="professional", licenses=10)
    with_activity(other)
    before = storage_counter(account)
    client.force_login(admin)
    response = client.post(URL, {"start": "2027-02-03", "end": "2027-02-05", "confirm": "on"})
    assert response.status_code == 302
    days = set(ActivityDay.objects.filter(account=account).values_list("day", flat=True))
    assert len(days) == 7 and not any(dt.date(2027, 2, 3) <= d <= dt.date(2027, 2, 5) for d in days)
    assert ActivityDay.objects.filter(account=other).count() == 20
    assert 0 < storage_counter(account) < before
    assert storage_counter(account) == before * 7 // 10
    entry = AuditEntry.objects.get(account=account, kind="activity.deleted")
    assert entry.actor_user == admin
    assert entry.after["rows_deleted"] == 6 and entry.after["start"] == "2027-02-03"
    assert entry.before["storage_bytes"] == before


def test_without_the_confirmation_nothing_is_deleted(client):
    account, admin = make_account(plan="professional", licenses=10)
    with_activity(account)
    client.force_login(admin)
    response = client.post(URL, {"start": "2027-02-03", "end": "2027-02-05"})
    assert response.status_code == 400
    assert "Tick the box" in response.content.decode()
    assert ActivityDay.objects.filter(account=account).count() == 20


@pytest.mark.parametrize("start,end,message", [
    ("2027-02-05", "2027-02-03", "The start date is after the end date."),
    ("2027-02-03", "2027-03-01", "Choose a date up to today"),
    ("nonsense", "2027-02-03", "Enter a valid date."),
])
def test_bad_dates_are_refused_with_a_reason(client, start, end, message):
    account, admin = make_account(plan="professional", licenses=10)
    with_activity(account)
    client.force_login(admin)
    response = client.post(URL, {"start": start, "end": end, "confirm": "on"})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert ActivityDay.objects.filter(account=account).count() == 20


def test_only_admins_delete_activity(client):
    account, _ = make_account(plan="professional", licenses=10)
    with_activity(account)
    viewer = add_member(account, Role.VIEWER, email="viewer@x.example")
    client.force_login(viewer)
    assert client.post(URL, {"start": "2027-02-03", "end": "2027-02-05", "confirm": "on"}).status_code == 403
    assert ActivityDay.objects.filter(account=account).count() == 20


def test_deleting_under_the_limit_lifts_a_storage_block(client):
    account, admin = make_account(plan="free")
    with_activity(account)
    limit = account.subscription.plan.storage_limit_bytes
    # Storage over the limit: blocked (the counter set as if far more had been stored).
    AccountLicensing.objects.filter(account=account).update(storage_bytes=limit + 1)
    compliance_evaluate(account=account, actor=Actor.system("tests"))
    assert AccountLicensing.objects.get(account=account).state == ComplianceState.BLOCKED
    client.force_login(admin)
    blocked = client.get("/reports/").content.decode()
    assert URL in blocked  # the blocked page offers the way out
    response = client.post(URL, {"start": "2027-02-03", "end": "2027-02-05", "confirm": "on"})
    assert response.status_code == 302
    row = AccountLicensing.objects.get(account=account)
    assert row.storage_bytes < limit
    assert row.state == ComplianceState.OK
    assert client.get("/reports/").status_code == 200


def test_the_confirm_page_has_constant_queries(client, django_assert_max_num_queries):
    account, admin = make_account(plan="professional", licenses=10)
    with_activity(account)
    client.force_login(admin)
    client.get(URL, {"start": "2027-02-01", "end": "2027-02-12"})
    with django_assert_max_num_queries(15):
        assert client.get(URL, {"start": "2027-02-01", "end": "2027-02-12"}).status_code == 200
