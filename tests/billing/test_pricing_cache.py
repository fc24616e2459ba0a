"""Issue 13: /pricing/ is served from the cache, and a staff edit of the catalogue is on it at
once (billing/catalogue_signals.py)."""

import pytest

from billing.models import AddOn, Plan
from support.models import SupportPlanFeature

pytestmark = pytest.mark.django_db


def test_pricing_is_served_from_the_cache(client, django_assert_num_queries):
    first = client.get("/pricing/")
    assert first.status_code == 200
    with django_assert_num_queries(0):
        again = client.get("/pricing/")
    assert again.content.count(b"plan-card") == first.content.count(b"plan-card") > 0


def test_a_price_edited_by_staff_is_on_pricing_at_once(client, django_capture_on_commit_callbacks):
    client.get("/pricing/")
    plan = Plan.objects.get(code="essentials")
    plan.price_per_user_month_cents = 1234  # $12.34
    with django_capture_on_commit_callbacks(execute=True):
        plan.save()  # what the admin's change form does
    assert b"$12" in client.get("/pricing/").content


def test_an_add_on_made_eligible_and_a_support_feature_edited_are_on_pricing_at_once(
    client, django_capture_on_commit_callbacks
):
    def screen_details_row():
        page = client.get("/pricing/").content.decode()
        return page.split('data-addon="screen_details"', 1)[1].split("</tr>", 1)[0]

    assert "available" in screen_details_row()
    addon = AddOn.objects.get(code="screen_details")
    with django_capture_on_commit_callbacks(execute=True):
        addon.eligible_plans.clear()
    assert "available" not in screen_details_row()
    feature = SupportPlanFeature.objects.order_by("pk").first()
    feature.value = "zz-edited by staff"
    with django_capture_on_commit_callbacks(execute=True):
        feature.save()
    assert "zz-edited by staff" in client.get("/pricing/").content.decode()


def test_catalogue_terms_follow_an_edit_of_the_plans(client, django_capture_on_commit_callbacks):
    assert b"at least 5 licenses" in client.get("/pricing/").content
    for plan in Plan.objects.filter(is_paid=True):
        plan.min_licenses = 7
        with django_capture_on_commit_callbacks(execute=True):
            plan.save()
    assert b"at least 7 licenses" in client.get("/pricing/").content


def test_the_cart_and_the_renewal_panel_follow_an_edit_of_the_plans(client, django_capture_on_commit_callbacks):
    """The cart's plans and the Billing page's lower plans come from the same cache (issue 13):
    a plan staff rename, or take off sale, is there at the next page."""
    from tests.factories import make_account

    account, admin = make_account(plan="professional", licenses=10)
    client.force_login(admin)
    assert "Essentials Plus" in client.get("/cart/").content.decode()
    panel = client.get("/billing/").content.decode().split('id="schedule-change-form"', 1)[1]
    assert "Essentials Plus" in panel.split("</form>", 1)[0]
    plan = Plan.objects.get(code="essentials_plus")
    plan.name = "Essentials Extra"
    with django_capture_on_commit_callbacks(execute=True):
        plan.save()
    assert "Essentials Extra" in client.get("/cart/").content.decode()
    plan.is_sold = False
    with django_capture_on_commit_callbacks(execute=True):
        plan.save()
    assert "Essentials Extra" not in client.get("/cart/").content.decode()
    panel = client.get("/billing/").content.decode().split('id="schedule-change-form"', 1)[1]
    assert "Essentials Extra" not in panel.split("</form>", 1)[0]
    assert "Essentials</option>" in panel.split("</form>", 1)[0]
