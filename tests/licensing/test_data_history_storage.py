"""Issue 15: "purchases the data history add-on" lifts a storage block (PRODUCT.md, compliance).
One Data History unit (12 months) adds 36 GB to a plan that has a storage limit (docs/activity.md)."""

import pytest

from accounts.actors import Actor
from billing.models import Plan
from billing.quotes import addon_grant_by_staff
from licensing.compliance import compliance_evaluate
from licensing.models import AccountLicensing, ComplianceState
from licensing.notices import storage_notices_send
from licensing.reports import DATA_HISTORY_STORAGE_BYTES_PER_MONTH, storage_limit_bytes_for
from tests.factories import StaffFactory, make_account
from tests.licensing.activity_helpers import add_addon

pytestmark = pytest.mark.django_db
GB = 1024**3


def test_one_unit_adds_36_gb_and_a_plan_without_limit_stays_without():
    limited = Plan(storage_limit_bytes=3 * GB)
    assert DATA_HISTORY_STORAGE_BYTES_PER_MONTH * 12 == 36 * GB
    assert storage_limit_bytes_for(plan=limited, extra_history_months=0) == 3 * GB
    assert storage_limit_bytes_for(plan=limited, extra_history_months=12) == 39 * GB
    assert storage_limit_bytes_for(plan=limited, extra_history_months=24) == 75 * GB
    assert storage_limit_bytes_for(plan=Plan(storage_limit_bytes=None), extra_history_months=12) is None


def storage_blocked_paid_account():
    account, _ = make_account(plan="professional", licenses=10)
    # A paid plan given a storage limit (the catalogue's paid plans have none today).
    Plan.objects.filter(pk=account.subscription.plan_id).update(storage_limit_bytes=3 * GB)
    AccountLicensing.objects.update_or_create(account=account, defaults={"storage_bytes": 5 * GB})
    compliance_evaluate(account=account, actor=Actor.system("tests"))
    row = AccountLicensing.objects.get(account=account)
    assert (row.state, row.blocked_reason) == (ComplianceState.BLOCKED, "storage_over_limit")
    return account


def test_staff_granting_data_history_lifts_a_storage_block():
    account = storage_blocked_paid_account()
    addon_grant_by_staff(account=account, addon_code="data_history", price_cents=1200,
                         actor=Actor.for_user(StaffFactory()), reason="deal 42")
    assert AccountLicensing.objects.get(account=account).state == ComplianceState.OK


def test_two_units_add_twice_the_storage():
    account = storage_blocked_paid_account()
    AccountLicensing.objects.filter(account=account).update(storage_bytes=50 * GB)
    add_addon(account, "data_history", units=1)
    compliance_evaluate(account=account, actor=Actor.system("tests"))
    assert AccountLicensing.objects.get(account=account).state == ComplianceState.BLOCKED  # 39 GB < 50
    account.subscription.addons.all().delete()
    add_addon(account, "data_history", units=2)
    compliance_evaluate(account=account, actor=Actor.system("tests"))
    assert AccountLicensing.objects.get(account=account).state == ComplianceState.OK  # 75 GB


def test_the_pages_show_the_limit_with_data_history(client):
    account = storage_blocked_paid_account()
    add_addon(account, "data_history")
    compliance_evaluate(account=account, actor=Actor.system("tests"))
    client.force_login(account.memberships.get().user)
    assert "5.0 GB of 39.0 GB" in client.get("/").content.decode()
    assert "of 39.0" in client.get("/reports/").content.decode()


def test_the_80_percent_notice_counts_the_data_history_storage(django_capture_on_commit_callbacks):
    account = storage_blocked_paid_account()  # 5 GB stored, 3 GB plan limit
    add_addon(account, "data_history")  # 39 GB: 5 GB is 12 %, no warning
    AccountLicensing.objects.filter(account=account).update(storage_notice_percent=0)
    with django_capture_on_commit_callbacks(execute=True):
        assert storage_notices_send() == 0
    AccountLicensing.objects.filter(account=account).update(storage_bytes=32 * GB)  # 82 %
    with django_capture_on_commit_callbacks(execute=True):
        assert storage_notices_send() == 1
