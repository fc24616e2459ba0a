"""Issue 15 in Chromium: a Free Admin blocked for storage deletes a week of activity from the
blocked page and gets the reports back; an Admin retires a machine and merges Eva's stand-alone
profiles from the Users page's suggestion."""

from datetime import UTC, datetime, timedelta

import pytest

from accounts.actors import Actor
from licensing.activity import activity_ingest
from licensing.compliance import compliance_evaluate
from licensing.models import AccountLicensing, ActivityDay, Machine, TrackedUser
from tests.browser import browser_page, chromium, login_as  # noqa: F401
from tests.factories import make_account
from tests.licensing.activity_helpers import at, tracked_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_storage_blocked_admin_deletes_a_date_range_and_gets_the_reports_back(browser_page):  # noqa: F811
    account, admin = make_account(plan="free", name="Storeco")
    eva = tracked_user(account, "eva")
    today = datetime.now(UTC).date()
    for offset in range(10):
        activity_ingest(account=account, tracked_user=eva, observed_at=at(today - timedelta(days=offset)),
                        items=[{"app": "excel.exe", "url": None, "title": None, "seconds": 60}])
    limit = account.subscription.plan.storage_limit_bytes
    AccountLicensing.objects.filter(account=account).update(storage_bytes=limit + 1)
    compliance_evaluate(account=account, actor=Actor.system("tests"))
    page = browser_page
    login_as(page, admin)
    page.goto("/reports/")
    page.click("#blocked-explanation >> text=Delete activity by date")
    page.fill("#id_start", (today - timedelta(days=9)).isoformat())
    page.fill("#id_end", (today - timedelta(days=3)).isoformat())
    page.click("#delete-range button[type=submit]")
    assert "7 activity rows of 1 person" in page.inner_text("#delete-summary")
    page.check("#id_confirm")
    page.click("#delete-summary button[type=submit]")
    page.wait_for_url("**/reports/")
    assert page.locator("#report-filters").count() == 1  # the reports are open again
    assert ActivityDay.objects.filter(account=account).count() == 3
    assert AccountLicensing.objects.get(account=account).state == "ok"


def test_an_admin_retires_a_machine_and_merges_evas_profiles(browser_page):  # noqa: F811
    account, admin = make_account(plan="professional", licenses=10)
    for host in ("EVA-PC", "EVA-LAPTOP"):
        machine = Machine.objects.create(account=account, machine_id=host, hostname=host.lower())
        TrackedUser.objects.create(account=account, identity_kind="machine", identity_scope=host.lower(),
                                   identity_name="eva", username="eva", machine_hostname=host.lower())
    AccountLicensing.objects.update_or_create(account=account, defaults={"used": 2})
    page = browser_page
    login_as(page, admin)
    page.goto("/agents/")
    page.click(f"#machine-{machine.pk} >> text=Retire")
    assert "keep their licenses" in page.inner_text("#retire-effect")
    page.click("button:has-text('Retire the machine')")
    page.wait_for_url("**/agents/")
    assert page.locator(f"#retired-machine-{machine.pk}").count() == 1
    page.goto("/users/")
    assert "2 stand-alone machines" in page.inner_text("#namesakes")
    page.click("#namesakes button:has-text('Merge into')")
    page.wait_for_url("**/users/")
    assert page.locator("#namesakes").count() == 0
    assert AccountLicensing.objects.get(account=account).used == 1
