"""State true at read time (issue 17): a grace period past its end reads as blocked at once, on
the banner, the reports gate, the agent API and the staff admin, before the hourly job runs;
the job then only makes it durable and sends the emails."""

from datetime import timedelta

import pytest
import time_machine

from licensing.compliance import grace_periods_expire
from licensing.models import AccountLicensing
from staff.models import StaffAccount
from tests.factories import make_account
from tests.licensing.conftest import event

pytestmark = pytest.mark.django_db


def account_in_grace(make_agent):
    account, admin = make_account(plan="professional", licenses=5)
    agent = make_agent(account)
    agent.checkin(*[event(f"user{n}", domain="ACME") for n in range(6)])
    row = AccountLicensing.objects.get(account=account)
    assert row.state == "grace"
    return account, admin, agent, row.grace_period_ends_at


def test_the_last_second_of_grace_is_grace_and_its_end_is_blocked_everywhere(make_agent, client, admin_user):
    account, admin, agent, ends = account_in_grace(make_agent)
    staff = admin_user

    def read_everything():
        client.force_login(admin)
        home = client.get("/").content.decode()
        reports = client.get("/reports/")
        api_state = agent.checkin(event("user0", domain="ACME"))["account"]["state"]
        client.force_login(staff)
        listing = client.get("/admin/staff/staffaccount/?state=blocked").content.decode()
        change = client.get(f"/admin/staff/staffaccount/{account.pk}/change/").content.decode()
        return home, reports, api_state, listing, change

    with time_machine.travel(ends - timedelta(seconds=1), tick=False):
        home, reports, api_state, listing, change = read_everything()
        assert "grace period, 1 day left" in home
        assert reports.status_code == 200 and "blocked-explanation" not in reports.content.decode()
        assert api_state == "grace"
        assert account.name not in listing
        assert "Data access blocked" not in change

    with time_machine.travel(ends, tick=False):
        # The hourly job has not run: the row still says grace.
        assert AccountLicensing.objects.get(account=account).state == "grace"
        home, reports, api_state, listing, change = read_everything()
        assert "Data access is blocked" in home and "grace period" in home
        assert "days left" not in home
        assert reports.status_code == 403 and 'data-reason="grace_expired"' in reports.content.decode()
        assert api_state == "blocked"
        assert account.name in listing
        assert "Data access blocked" in change
        # The job makes it durable; what people read does not change.
        assert grace_periods_expire() == (1, 0)
        assert read_everything()[2] == "blocked"
    assert StaffAccount.objects.filter(pk=account.pk).exists()
