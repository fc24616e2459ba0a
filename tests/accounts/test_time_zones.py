"""Every datetime a person reads says its zone (issue 17): customer pages in the account's time
zone, which an Admin sets on the account settings page; the staff admin and support in CT."""

import re
from datetime import UTC, datetime

import pytest
import time_machine

from accounts.models import Account, AuditEntry, Role
from licensing.models import AccountLicensing
from tests.factories import add_member, make_account

pytestmark = pytest.mark.django_db

ENDS = datetime(2026, 12, 16, 17, 25, 48, 206784, tzinfo=UTC)
RAW = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?\+00:00")


def in_grace(account):
    AccountLicensing.objects.filter(account=account).update(
        used=30, state="grace", over_since=datetime(2026, 12, 2, tzinfo=UTC), grace_period_ends_at=ENDS,
    )


def test_a_new_account_reads_utc_and_an_admin_sets_its_time_zone(client):
    account, admin = make_account(plan="professional", licenses=25)
    assert account.time_zone == "UTC"
    client.force_login(admin)
    page = client.get("/settings/").content.decode()
    assert 'name="time_zone"' in page and "America/New_York" in page
    response = client.post("/settings/", {"time_zone": "America/New_York"})
    assert response.status_code == 302
    assert Account.objects.get(pk=account.pk).time_zone == "America/New_York"
    entry = AuditEntry.objects.get(account=account, kind="account.time_zone_changed")
    assert entry.before == {"time_zone": "UTC"} and entry.after == {"time_zone": "America/New_York"}

    bad = client.post("/settings/", {"time_zone": "Mars/Olympus_Mons"})
    assert bad.status_code == 400 and "data-error-summary" in bad.content.decode()
    assert Account.objects.get(pk=account.pk).time_zone == "America/New_York"


def test_only_an_admin_sets_the_time_zone(client):
    account, _ = make_account(plan="professional", licenses=25)
    client.force_login(add_member(account, Role.VIEWER))
    assert client.get("/settings/").status_code == 403
    assert client.post("/settings/", {"time_zone": "Europe/Paris"}).status_code == 403


@time_machine.travel(datetime(2026, 12, 10, 12, tzinfo=UTC), tick=False)
def test_the_banner_says_the_end_in_the_accounts_zone_with_its_zone(client):
    account, admin = make_account(plan="professional", licenses=25)
    in_grace(account)
    client.force_login(admin)
    assert "16 December 2026, 17:25 UTC" in client.get("/").content.decode()
    Account.objects.filter(pk=account.pk).update(time_zone="America/New_York")
    assert "16 December 2026, 12:25 EST" in client.get("/").content.decode()


@time_machine.travel(datetime(2026, 12, 10, 12, tzinfo=UTC), tick=False)
def test_staff_admin_datetimes_are_formatted_in_central_time_with_the_zone(client, admin_user):
    account, _ = make_account(plan="professional", licenses=25, name="Zoneco")
    in_grace(account)
    client.force_login(admin_user)
    listing = client.get("/admin/staff/staffaccount/?q=Zoneco").content.decode()
    change = client.get(f"/admin/staff/staffaccount/{account.pk}/change/").content.decode()
    audit = client.get("/admin/accounts/auditentry/").content.decode()
    for page in (listing, change, audit):
        assert not RAW.search(page), RAW.search(page).group(0)
    assert "16 Dec 2026, 11:25 CST" in listing
    assert "16 Dec 2026, 11:25 CST" in change


def test_emails_state_times_in_the_accounts_zone(client, django_capture_on_commit_callbacks):
    """Issue 17: the grace email names the end in the zone an Admin chose, with the zone."""
    import time_machine
    from django.core import mail

    from accounts.models import Account
    from tests.factories import make_account
    from tests.licensing.conftest import Agent, event

    account, _ = make_account(plan="professional", licenses=5)
    Account.objects.filter(pk=account.pk).update(time_zone="America/New_York")
    account.refresh_from_db()
    with time_machine.travel(datetime(2026, 12, 2, 17, 25, tzinfo=UTC), tick=False), \
            django_capture_on_commit_callbacks(execute=True):
        Agent(client, account).checkin(*(event(f"user{n}") for n in range(6)))
    [email] = [m for m in mail.outbox if "grace period" in m.subject]
    assert "16 December 2026, 12:25 EST" in email.body, email.body  # 14 days on, 17:25 UTC
