"""The Billing page's renewal panel and its forms, as an Admin (or a Viewer) uses them."""

from datetime import date, timedelta

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.template import Context, Template
from django.test import RequestFactory

from accounts.models import AuditEntry
from billing.models import Plan, ScheduledChange, Subscription
from tests.billing.lifecycle_support import paid_account_since, past_due_invoice

pytestmark = pytest.mark.django_db

TERM_START = date(2026, 4, 15)
ANNIVERSARY = date(2027, 4, 15)


@pytest.fixture
def admin(client):
    account, admin = paid_account_since(TERM_START, plan="essentials_plus", licenses=20)
    client.force_login(admin)
    client.account = account
    return client


def said(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def render_panel(account, user):
    request = RequestFactory().get("/billing/")
    request.account, request.user = account, user
    request.membership = user.membership
    return Template('{% include "billing/_lifecycle.html" %}').render(
        Context({"request": request, "csrf_token": "x"})
    )


def test_the_panel_says_the_last_day_to_cancel_and_no_refunds(admin):
    user = admin.account.memberships.get().user
    with time_machine.travel(date(2026, 9, 1), tick=False):
        html = render_panel(admin.account, user)
    assert "Renews on <strong>15 April 2027</strong>" in html
    assert "The last day to cancel at this renewal is 16 March 2027." in html
    assert "No refunds" in html


def test_after_the_deadline_the_panel_says_it_is_too_late(admin):
    user = admin.account.memberships.get().user
    with time_machine.travel(ANNIVERSARY - timedelta(days=29), tick=False):
        html = render_panel(admin.account, user)
    assert "Too late to cancel at this renewal: the last day was 16 March 2027" in html
    assert 'id="cancel-at-renewal"' not in html


def test_the_panel_renders_in_a_fixed_number_of_queries(admin, django_assert_max_num_queries):
    user = admin.account.memberships.get().user
    with django_assert_max_num_queries(2):
        render_panel(admin.account, user)


def test_an_admin_cancels_at_renewal_then_withdraws(admin):
    with time_machine.travel(date(2026, 9, 1), tick=False):
        response = admin.post("/billing/schedule/cancel/")
    assert response.status_code == 302 and response.url == "/billing/"
    assert "moves to Free at the renewal on 15 April 2027" in said(response)[0]
    assert "No refunds" in said(response)[0]
    assert Subscription.objects.get(account=admin.account).state == "cancelled"
    response = admin.post("/billing/schedule/withdraw/")
    assert not ScheduledChange.objects.exists()
    assert Subscription.objects.get(account=admin.account).state == "active"


def test_a_late_cancellation_is_refused_with_the_date(admin):
    with time_machine.travel(date(2027, 3, 17), tick=False):
        admin.force_login(admin.account.memberships.get().user)  # the first session has expired
        response = admin.post("/billing/schedule/cancel/")
    assert "the last day was 16 March 2027" in said(response)[0]
    assert not ScheduledChange.objects.exists()


def test_cancellation_is_refused_while_an_invoice_is_past_due(admin):
    past_due_invoice(admin.account)
    with time_machine.travel(date(2026, 9, 1), tick=False):
        response = admin.post("/billing/schedule/cancel/")
    assert "cannot move to Free while an invoice is past due" in said(response)[0]
    assert not ScheduledChange.objects.exists()


def test_an_admin_schedules_fewer_licenses_on_a_lower_plan(admin):
    essentials = Plan.objects.get(code="essentials")
    response = admin.post("/billing/schedule/", {"plan": "essentials", "licenses": "7"})
    assert "Change scheduled for the renewal on 15 April 2027." in said(response)
    change = ScheduledChange.objects.get()
    assert (change.plan, change.licenses) == (essentials, 7)
    assert AuditEntry.objects.filter(kind="subscription.change_scheduled").count() == 1


def test_a_higher_plan_is_not_offered(admin):
    response = admin.post("/billing/schedule/", {"plan": "professional", "licenses": "7"})
    assert "Select a valid choice" in said(response)[0]
    assert not ScheduledChange.objects.exists()


def test_too_few_licenses_are_refused(admin):
    response = admin.post("/billing/schedule/", {"licenses": "3"})
    assert said(response) == ["Essentials Plus needs at least 5 licenses (asked for 3)."]


@pytest.mark.parametrize("url", ["/billing/schedule/", "/billing/schedule/cancel/", "/billing/schedule/withdraw/"])
def test_viewers_get_403_and_anonymous_visitors_go_to_login(viewer_client, client, url):
    assert viewer_client.post(url, {"licenses": "5"}).status_code == 403
    assert not ScheduledChange.objects.exists()
    viewer_client.logout()
    response = viewer_client.post(url)
    assert response.status_code == 302 and response.url.startswith("/login/")


def test_the_schedule_forms_are_post_only(admin):
    assert admin.get("/billing/schedule/").status_code == 405
