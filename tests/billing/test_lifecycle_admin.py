"""Staff's side: the quote queue, the fulfilment action, discounts; and the jobs' schedules."""

from decimal import Decimal

import pytest
from django.core.management import call_command
from django_q.models import Schedule

from accounts.actors import Actor
from accounts.jobs import JOBS, schedules_sync
from accounts.models import AuditEntry
from billing.models import BillingProfile, Order, Quote
from billing.quotes import quote_request
from tests.factories import make_account

pytestmark = pytest.mark.django_db

LIFECYCLE_JOBS = {
    "expire_trials": ("billing.tasks.expire_trials", Schedule.HOURLY),
    "send_billing_notices": ("billing.tasks.send_billing_notices", Schedule.DAILY),
    "mark_invoices_past_due": ("billing.tasks.mark_invoices_past_due", Schedule.DAILY),
    "renew_subscriptions": ("billing.tasks.renew_subscriptions", Schedule.DAILY),
}


@pytest.fixture
def staff_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def quote():
    account, admin = make_account(plan="professional", licenses=10)
    return quote_request(account=account, topic="activconnect", message="BI", actor=Actor.for_user(admin))


def test_the_quote_queue_filters_and_searches(staff_client, quote):
    response = staff_client.get("/admin/billing/quote/", {"state": "requested", "q": quote.account.name})
    assert response.status_code == 200 and quote.account.name in response.text
    assert staff_client.get("/admin/billing/quote/", {"topic": "premier"}).status_code == 200


def test_staff_price_accept_and_fulfil_a_quote_into_an_order(staff_client, quote):
    url = f"/admin/billing/quote/{quote.pk}/change/"
    response = staff_client.post(url, {"plan": "", "licenses": "", "quoted_price_cents": "2400",
                                       "quoted_discount_percent": ""})
    assert response.status_code == 302, response.text
    assert Quote.objects.get(pk=quote.pk).state == "quoted"
    changelist = "/admin/billing/quote/"
    staff_client.post(changelist, {"action": "mark_accepted", "_selected_action": [quote.pk]})
    assert Quote.objects.get(pk=quote.pk).state == "accepted"
    staff_client.post(changelist, {"action": "fulfil", "_selected_action": [quote.pk]})
    order = Order.objects.get(quote=quote)
    assert order.lines.get().unit_price_cents == 2400
    assert Quote.objects.get(pk=quote.pk).state == "fulfilled"


def test_the_admin_form_refuses_a_quote_without_a_price(staff_client, quote):
    response = staff_client.post(f"/admin/billing/quote/{quote.pk}/change/", {
        "plan": "", "licenses": "", "quoted_price_cents": "", "quoted_discount_percent": "",
    })
    assert response.status_code == 200 and "Fill in the quoted price" in response.text
    assert Quote.objects.get(pk=quote.pk).state == "requested"


def test_fulfilling_a_quote_that_is_not_accepted_says_why(staff_client, quote):
    response = staff_client.post(
        "/admin/billing/quote/", {"action": "fulfil", "_selected_action": [quote.pk]}, follow=True
    )
    assert "Only an accepted quote can be fulfilled (this one is requested)." in response.text
    assert not Order.objects.exists()


def test_staff_set_a_discount_and_it_is_recorded(staff_client, admin_user):
    account, _ = make_account(plan="professional", licenses=10)
    response = staff_client.post("/admin/billing/billingprofile/add/", {
        "account": account.pk, "discount_percent": "20", "discount_reason": "nonprofit",
    })
    assert response.status_code == 302, response.text
    profile = BillingProfile.objects.get(account=account)
    assert (profile.discount_percent, profile.discount_reason) == (Decimal("20.00"), "nonprofit")
    entry = AuditEntry.objects.get(kind="billing.discount_set", account=account)
    assert entry.actor_user == admin_user and entry.after["discount_percent"] == "20.00"
    response = staff_client.post(f"/admin/billing/billingprofile/{profile.pk}/change/", {
        "discount_percent": "30", "discount_reason": "", "invoice_eligible": "on",
    })
    assert "Say why the account gets a discount" in response.text
    assert BillingProfile.objects.get(account=account).discount_percent == Decimal("20.00")


def test_the_lifecycle_jobs_are_registered_once_and_runnable_as_commands():
    for name, (func, schedule_type) in LIFECYCLE_JOBS.items():
        assert (JOBS[name].func, JOBS[name].schedule_type) == (func, schedule_type)
    schedules_sync()
    schedules_sync()
    for name, (func, _) in LIFECYCLE_JOBS.items():
        assert Schedule.objects.filter(name=name).count() == 1
        assert Schedule.objects.get(name=name).func == func
        call_command(name)


def test_staff_see_scheduled_changes_and_notices_read_only(staff_client):
    from billing.models import ScheduledChange

    account, _ = make_account(plan="professional", licenses=10)
    ScheduledChange.objects.create(subscription=account.subscription, licenses=6)
    listing = staff_client.get("/admin/billing/scheduledchange/")
    assert listing.status_code == 200 and account.name in listing.text
    assert staff_client.get("/admin/billing/billingnotice/").status_code == 200
    assert staff_client.get("/admin/billing/scheduledchange/add/").status_code == 403
