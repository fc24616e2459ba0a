"""The seeded catalogue carries exactly the values of PRODUCT.md."""

import pytest

from billing.models import AddOn, Plan
from support.models import SupportAllowance, SupportPlan

pytestmark = pytest.mark.django_db

GB = 1024**3


@pytest.mark.parametrize(
    "code,name,cents,max_users,months,days,sold,rows,storage",
    [
        ("professional", "Professional", 1900, None, 12, None, True, 50_000, None),
        ("essentials_plus", "Essentials Plus", 1500, None, 6, None, True, 50_000, None),
        ("essentials", "Essentials", 1000, None, 6, None, True, 10_000, None),
        ("free", "Free", 0, 3, None, 30, True, 10_000, 3 * GB),
        ("premium", "Premium (legacy)", 1900, None, 12, None, False, 50_000, None),
        ("advanced", "Advanced (legacy)", 1000, None, 6, None, False, 50_000, None),
    ],
)
def test_plans_match_product(code, name, cents, max_users, months, days, sold, rows, storage):
    plan = Plan.objects.get(code=code)
    assert (plan.name, plan.price_per_user_month_cents, plan.max_users) == (name, cents, max_users)
    assert (plan.data_history_months, plan.data_history_days) == (months, days)
    assert plan.is_sold is sold
    assert plan.export_row_limit == rows
    assert plan.storage_limit_bytes == storage
    if code == "free":
        assert (plan.is_paid, plan.grace_period_days, plan.min_licenses) == (False, 0, 0)
    else:
        assert (plan.is_paid, plan.grace_period_days, plan.min_licenses) == (True, 14, 5)


def test_exactly_six_plans_four_sold():
    assert Plan.objects.count() == 6
    assert set(Plan.objects.filter(is_sold=True).values_list("code", flat=True)) == {
        "professional", "essentials_plus", "essentials", "free"
    }


def test_addons_paid_plans_only_and_how_sold():
    channels = dict(AddOn.objects.values_list("code", "sales_channel"))
    assert channels == {"screen_details": "cart", "activconnect": "staff", "data_history": "staff"}
    for addon in AddOn.objects.all():
        eligible = set(addon.eligible_plans.values_list("code", flat=True))
        assert "free" not in eligible
        assert {"professional", "essentials_plus", "essentials"} <= eligible
    assert AddOn.objects.get(code="data_history").extends_history_months == 12


def test_support_plans_match_product():
    rows = {
        p.code: (p.email_response_hours, p.coverage, p.has_csm, p.has_tam, p.included_with_paid)
        for p in SupportPlan.objects.all()
    }
    assert rows == {
        "digital": (12, "weekdays", False, False, True),
        "premier": (8, "weekdays_weekends", True, False, False),
        "signature": (4, "always", True, True, False),
    }
    allowances = {(a.plan.code, a.kind): a.quantity for a in SupportAllowance.objects.select_related("plan")}
    assert allowances[("premier", "live_training")] == 2
    assert allowances[("signature", "live_training")] == 4
    assert allowances[("premier", "training_voucher")] == 2
    assert allowances[("signature", "training_voucher")] == 4
    assert allowances[("premier", "productivity_snapshot")] == 2
    assert allowances[("signature", "productivity_assessment")] == 2
    assert allowances[("signature", "integration_hours")] == 10
    assert allowances[("signature", "business_review")] == 4
    assert not any(code == "digital" for code, _ in allowances)


def test_pricing_page_renders_catalogue_from_data(client):
    Plan.objects.filter(code="essentials").update(price_per_user_month_cents=1100)
    response = client.get("/pricing/")
    assert response.status_code == 200
    html = response.content.decode()
    for text in ["Professional", "$19", "Essentials Plus", "$15", "$11", "Free", "3 max",
                 "12 months", "6 months", "30 days", "Screen Details", "ActivConnect API",
                 "Data History", "Digital", "Premier", "Signature", "&lt; 4 h"]:
        assert text in html, text
    sold, legacy = html.split('id="legacy-plans"')
    assert "Premium (legacy)" not in sold and "Advanced (legacy)" not in sold
    assert "Premium (legacy)" in legacy and "Advanced (legacy)" in legacy
