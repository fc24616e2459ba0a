"""Quotes: the customer's form and list, staff's queue and the fulfilment into an order."""

from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from accounts.actors import Actor
from accounts.models import AuditEntry, Role
from accounts.services import ServiceError
from billing.hooks import quote_accepted
from billing.models import BillingProfile, Invoice, Order, Plan, Quote, Subscription
from billing.quotes import quote_accept, quote_fulfil, quote_request, quote_set_terms
from tests.billing.lifecycle_support import add_addon, paid_account_since
from tests.factories import StaffFactory, add_member, make_account

pytestmark = pytest.mark.django_db

TERM_START = date(2026, 1, 1)  # a 365-day term to 1 January 2027
MID_TERM = date(2026, 10, 2)  # 91 days left


@pytest.fixture
def staff():
    return Actor.for_user(StaffFactory())


def accepted_quote(account, staff, topic, **terms):
    quote = quote_request(account=account, topic=topic, message="please", actor=staff)
    quote_set_terms(quote=quote, actor=staff, **terms)
    return quote_accept(quote=quote, actor=staff)


# --- the customer's pages ---------------------------------------------------------------------


def test_an_admin_asks_for_a_quote_and_sees_it_in_the_list(admin_client):
    response = admin_client.get("/billing/quotes/new/")
    assert response.status_code == 200 and "Get a quote" in response.text
    response = admin_client.post(
        "/billing/quotes/new/", {"topic": "activconnect", "message": "For our BI team"}
    )
    quote = Quote.objects.get(account=admin_client.account)
    assert response.status_code == 302 and response.url == reverse("billing_quote", args=[quote.pk])
    assert (quote.topic, quote.state, quote.message) == ("activconnect", "requested", "For our BI team")
    listing = admin_client.get("/billing/quotes/")
    assert "ActivConnect API" in listing.text and "being priced" in listing.text
    assert AuditEntry.objects.filter(kind="quote.requested", account=admin_client.account).exists()


def test_an_unknown_topic_is_a_form_error(admin_client):
    response = admin_client.post("/billing/quotes/new/", {"topic": "enterprise"})
    assert response.status_code == 200 and not Quote.objects.exists()
    assert "Select a valid choice" in response.text


@pytest.mark.parametrize("url", ["/billing/quotes/", "/billing/quotes/new/"])
def test_a_viewer_gets_403(viewer_client, url):
    assert viewer_client.get(url).status_code == 403
    assert viewer_client.post(url, {"topic": "plan"}).status_code == 403
    assert not Quote.objects.exists()


def test_another_accounts_quote_ids_are_404(admin_client, staff):
    other, _ = make_account(plan="essentials", licenses=5)
    theirs = quote_request(account=other, topic="premier", message="", actor=staff)
    quote_set_terms(quote=theirs, actor=staff, price_cents=500_000)
    assert admin_client.get(f"/billing/quotes/{theirs.pk}/").status_code == 404
    assert admin_client.post(f"/billing/quotes/{theirs.pk}/accept/").status_code == 404
    assert admin_client.post(f"/billing/quotes/{theirs.pk}/decline/").status_code == 404
    assert Quote.objects.get(pk=theirs.pk).state == "quoted"
    assert "Premier" not in admin_client.get("/billing/quotes/").text


def test_the_customer_accepts_a_priced_quote_and_was_emailed_it(
    admin_client, staff, django_capture_on_commit_callbacks,
):
    quote = quote_request(account=admin_client.account, topic="data_history", message="", actor=staff)
    with django_capture_on_commit_callbacks(execute=True):
        quote_set_terms(quote=quote, actor=staff, price_cents=2_400)
    assert mail.outbox[0].subject == "Your quote for Data History is ready"
    assert "$24.00 per user per year" in mail.outbox[0].body
    page = admin_client.get(f"/billing/quotes/{quote.pk}/")
    assert "$24.00" in page.text and "Accept this quote" in page.text
    admin_client.post(f"/billing/quotes/{quote.pk}/accept/")
    # Issue 14: a Data History quote needs no staff work: accepting it fulfils it (order, invoice).
    assert Quote.objects.get(pk=quote.pk).state == "fulfilled"


def test_the_quote_list_uses_a_fixed_number_of_queries(admin_client, staff, django_assert_max_num_queries):
    for topic in ["plan", "premier", "nonprofit", "activconnect"]:
        quote_request(account=admin_client.account, topic=topic, message="", actor=staff)
    with django_assert_max_num_queries(8):
        admin_client.get("/billing/quotes/")


# --- staff's fulfilment ---------------------------------------------------------------------


def test_an_addon_quote_becomes_an_order_with_the_quoted_price_co_termed_and_its_invoice(staff):
    account, _ = paid_account_since(TERM_START, plan="professional", licenses=10)
    quote = accepted_quote(account, staff, "activconnect", price_cents=3_650)
    with time_machine.travel(MID_TERM, tick=False):
        order = quote_fulfil(quote=quote, actor=staff)
    assert (order.kind, order.quote_id, order.state) == ("quote", quote.pk, "invoiced")
    (line,) = order.lines.all()
    # 10 users x $36.50 x 91 / 365 days = $91.00
    assert (line.addon_code, line.quantity, line.unit_price_cents, line.days, line.term_days) == (
        "activconnect", 10, 3_650, 91, 365,
    )
    assert line.amount_cents == order.total_cents == 9_100
    row = Subscription.objects.get(account=account).addons.get()
    assert (row.addon.code, row.unit_price_cents) == ("activconnect", 3_650)
    invoice = Invoice.objects.get(order=order)
    assert (invoice.state, invoice.total_cents) == ("open", 9_100)
    assert Quote.objects.get(pk=quote.pk).state == "fulfilled"
    assert AuditEntry.objects.filter(kind="quote.fulfilled", account=account).count() == 1
    with pytest.raises(ServiceError, match="Only an accepted quote"):
        quote_fulfil(quote=quote, actor=staff)
    assert Order.objects.count() == 1


def test_a_plan_quote_moves_the_subscription_and_grows_its_addons(staff):
    account, _ = paid_account_since(TERM_START, plan="essentials", licenses=10)
    add_addon(account.subscription, "screen_details")
    BillingProfile.objects.create(account=account, discount_percent=Decimal("10"), discount_reason="np")
    quote = accepted_quote(
        account, staff, "plan", price_cents=20_000, plan=Plan.objects.get(code="professional"),
        licenses=15,
    )
    with time_machine.travel(MID_TERM, tick=False):
        order = quote_fulfil(quote=quote, actor=staff)
    lines = list(order.lines.all())
    assert [(x.plan_code or x.addon_code, x.quantity, x.discount_percent) for x in lines] == [
        ("professional", 15, Decimal("10.00")), ("screen_details", 5, Decimal("10.00")),
    ]
    # 15 x $200 x 91/365 x 0.9 = $673.15; 5 x $36 x 91/365 x 0.9 = $40.39
    assert [x.amount_cents for x in lines] == [67_315, 4_039]
    sub = Subscription.objects.get(account=account)
    assert (sub.plan.code, sub.licenses, sub.term_end) == ("professional", 15, date(2027, 1, 1))


def test_a_plan_quote_cannot_lower_the_licenses_mid_term(staff):
    account, _ = paid_account_since(TERM_START, plan="professional", licenses=10)
    quote = accepted_quote(
        account, staff, "plan", price_cents=20_000, plan=Plan.objects.get(code="professional"), licenses=6,
    )
    with pytest.raises(ServiceError, match="take effect at the renewal"):
        quote_fulfil(quote=quote, actor=staff)
    assert not Order.objects.exists() and Quote.objects.get(pk=quote.pk).state == "accepted"


def test_a_legacy_plan_is_not_quoted(staff):
    account, _ = make_account(plan="professional", licenses=10)
    quote = quote_request(account=account, topic="plan", message="", actor=staff)
    with pytest.raises(ServiceError, match="legacy plan"):
        quote_set_terms(quote=quote, actor=staff, price_cents=1, plan=Plan.objects.get(code="premium"),
                        licenses=10)


def test_a_nonprofit_quote_sets_the_accounts_discount(staff):
    account, _ = make_account(plan="professional", licenses=10)
    quote = accepted_quote(account, staff, "nonprofit", discount_percent=Decimal("25"))
    assert quote_fulfil(quote=quote, actor=staff) is None
    profile = BillingProfile.objects.get(account=account)
    assert profile.discount_percent == Decimal("25.00") and "nonprofit" in profile.discount_reason
    assert AuditEntry.objects.filter(kind="billing.discount_set", account=account).count() == 1


def test_a_support_quote_sends_quote_accepted_for_the_support_app(staff):
    account, _ = make_account(plan="professional", licenses=10)
    quote = accepted_quote(account, staff, "signature", price_cents=1_000_000)
    heard = []

    def listener(sender, account, quote, actor, **kw):
        heard.append((account.pk, quote.topic))

    quote_accepted.connect(listener)
    try:
        order = quote_fulfil(quote=quote, actor=staff)
    finally:
        quote_accepted.disconnect(listener)
    assert heard == [(account.pk, "signature")]
    # Signature is billed for its 12 months at the quoted price: one order, one open invoice.
    assert Order.objects.get() == order and order.total_cents == 1_000_000
    assert order.invoices.get().state == "open"
    # The support app answers the hook: the account now has Signature support from this quote.
    from support.models import AccountSupportPlan

    assert AccountSupportPlan.objects.get(quote=quote).plan.code == "signature"


def test_a_support_quote_needs_a_paid_plan(staff, trial_account):
    account, _ = trial_account
    quote = accepted_quote(account, staff, "premier", price_cents=500_000)
    with pytest.raises(ServiceError, match="needs a paid plan"):
        quote_fulfil(quote=quote, actor=staff)
    assert Quote.objects.get(pk=quote.pk).state == "accepted"


def test_an_addon_needs_a_paid_plan(staff, trial_account):
    account, _ = trial_account
    quote = accepted_quote(account, staff, "data_history", price_cents=1_200)
    with pytest.raises(ServiceError, match="needs a paid plan"):
        quote_fulfil(quote=quote, actor=staff)


def test_admin_members_of_the_account_get_the_quote_email(staff, django_capture_on_commit_callbacks):
    account, admin = make_account(plan="professional", licenses=10)
    add_member(account, Role.VIEWER)
    quote = quote_request(account=account, topic="premier", message="", actor=staff)
    with django_capture_on_commit_callbacks(execute=True):
        quote_set_terms(quote=quote, actor=staff, price_cents=600_000)
    assert [m.to for m in mail.outbox] == [[admin.email]]
