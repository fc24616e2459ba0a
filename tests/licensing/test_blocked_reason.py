"""One BlockedReason (issue 12, item 5): one value and one wording per reason, the same on the
banner, the reports page and the admin; the numbers it names come from the catalogue."""

import pytest

from billing.models import Plan
from licensing.models import AccountLicensing, BlockedReason, ComplianceState
from tests.factories import make_account

pytestmark = pytest.mark.django_db


def blocked(client, *, plan, reason, used, licenses=None):
    account, admin = make_account(plan=plan, licenses=licenses)
    AccountLicensing.objects.update_or_create(
        account=account, defaults={"state": ComplianceState.BLOCKED, "blocked_reason": reason, "used": used},
    )
    client.force_login(admin)
    return account


def banner_text(content):
    start = content.index('id="compliance-banner"')
    return content[start:content.index("</div>", start)]


@pytest.mark.parametrize("reason", list(BlockedReason))
def test_the_banner_and_the_reports_page_give_one_wording(client, reason):
    plan = "free" if reason == BlockedReason.FREE_OVER_LIMIT else "professional"
    blocked(client, plan=plan, reason=reason, used=12, licenses=None if plan == "free" else 10)
    wording = BlockedReason.explain(
        reason, used=12, licenses=3 if plan == "free" else 10,
        grace_days=Plan.objects.get(code=plan).grace_period_days,
    )
    banner = banner_text(client.get("/").content.decode())
    reports = client.get("/reports/").content.decode()
    escaped = wording.replace("'", "&#x27;")
    assert f"Data access is blocked:</strong> {escaped}." in banner
    assert f"<strong>Why:</strong> {escaped[0].upper() + escaped[1:]}." in reports


def test_the_catalogue_numbers_are_the_ones_said(client):
    Plan.objects.filter(code="free").update(max_users=4)
    Plan.objects.filter(code="professional").update(grace_period_days=21)
    blocked(client, plan="free", reason=BlockedReason.FREE_OVER_LIMIT, used=6)
    content = client.get("/reports/").content.decode()
    assert "The Free plan tracks at most 4 users and this account tracks 6" in content
    assert "Reclaim users until 4 or fewer are tracked" in content
    blocked(client, plan="professional", licenses=10, reason=BlockedReason.GRACE_EXPIRED, used=12)
    content = client.get("/reports/").content.decode()
    assert "The 21-day grace period ended while more users are tracked" in content


def test_the_admin_lists_the_reason_by_its_name():
    assert BlockedReason("storage_over_limit").label == "Storage over the plan's limit"
    assert AccountLicensing._meta.get_field("blocked_reason").choices == BlockedReason.choices
