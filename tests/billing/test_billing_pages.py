"""Who reaches the cart, the billing page, orders and invoices; what the pages show."""

import pytest
from django.test import Client

from accounts.actors import Actor
from billing.cart import cart_checkout, cart_open, cart_update
from billing.models import AddOn, SubscriptionAddOn
from licensing.models import AccountLicensing, ComplianceState
from tests.billing.conftest import GOOD_CARD
from tests.factories import make_account

PAGES = ["/cart/", "/billing/"]


def _paid_order(account, admin, licenses=12):
    actor = Actor.for_user(admin)
    cart = cart_update(cart=cart_open(account=account, actor=actor), plan_code=None, licenses=licenses,
                       addon_codes=[], actor=actor)
    return cart_checkout(account=account, cart_id=cart.pk, actor=actor, idempotency_key="k", card=GOOD_CARD).order


@pytest.mark.parametrize("url", PAGES)
def test_a_viewer_gets_403(viewer_client, url):
    assert viewer_client.get(url).status_code == 403


def test_a_viewer_cannot_post_to_the_cart_or_checkout(viewer_client):
    assert viewer_client.post("/cart/", {"licenses": 20}).status_code == 403
    assert viewer_client.post("/cart/checkout/", {}).status_code == 403


def test_a_viewer_gets_403_on_the_order_and_invoice_pages(viewer_client, paid_account):
    order = _paid_order(*paid_account)
    invoice = order.invoices.get()
    assert viewer_client.get(f"/billing/orders/{order.pk}/").status_code == 403
    assert viewer_client.get(f"/billing/invoices/{invoice.pk}/").status_code == 403


@pytest.mark.parametrize("url", PAGES + ["/cart/checkout/"])
def test_anonymous_visitors_go_to_login(client, db, url):
    response = client.get(url)
    assert response.status_code == 302 and response.url.startswith("/login/")


def test_another_accounts_admin_gets_404_on_orders_and_invoices(paid_account):
    order = _paid_order(*paid_account)
    invoice = order.invoices.get()
    _other_account, other_admin = make_account(plan="professional", licenses=10)
    client = Client()
    client.force_login(other_admin)
    assert client.get(f"/billing/orders/{order.pk}/").status_code == 404
    assert client.get(f"/billing/invoices/{invoice.pk}/").status_code == 404
    owner = Client()
    owner.force_login(paid_account[1])
    assert owner.get(f"/billing/invoices/{invoice.pk}/").status_code == 200


def test_another_accounts_admin_cannot_pay_or_see_a_cart(paid_account, sandbox_gateway):
    account, admin = paid_account
    actor = Actor.for_user(admin)
    cart = cart_update(cart=cart_open(account=account, actor=actor), plan_code=None, licenses=12,
                       addon_codes=[], actor=actor)
    _other, other_admin = make_account(plan="professional", licenses=10)
    client = Client()
    client.force_login(other_admin)
    response = client.post("/cart/checkout/", {
        "cart": cart.pk, "idempotency_key": "x", "expected_total_cents": 0,
        "payment_method": "card", "card": GOOD_CARD,
    })
    assert response.status_code == 404
    assert sandbox_gateway.charges == []


def test_a_blocked_account_still_reaches_the_cart_and_billing(admin_client):
    AccountLicensing.objects.update_or_create(
        account=admin_client.account, defaults={"state": ComplianceState.BLOCKED, "used": 40})
    assert admin_client.get("/cart/").status_code == 200
    assert admin_client.get("/billing/").status_code == 200


def test_the_cart_page_shows_each_line_prorated_the_total_and_the_yearly_price(admin_client):
    admin_client.post("/cart/", {"licenses": 15, "addons": ["screen_details"]})
    page = admin_client.get("/cart/").content.decode()
    assert "5 additional Professional licenses" in page
    assert "Screen Details for 15 licenses" in page
    assert "365 / 365" in page or "366 / 366" in page
    assert 'id="total-due">$1,680.00<' in page
    assert 'id="yearly-price">$3,960.00<' in page  # 15 x ($228 + $36)
    assert 'id="add-licenses"' in page


def test_the_cart_page_query_count_is_pinned(admin_client, django_assert_max_num_queries):
    account = admin_client.account
    SubscriptionAddOn.objects.create(subscription=account.subscription, addon=AddOn.objects.get(code="screen_details"))
    admin_client.post("/cart/", {"licenses": 15, "plan": ""})
    admin_client.get("/cart/")
    # session, user, membership, account, header usage (2), subscription, its add-ons, plans,
    # add-ons and their plans, the cart, the billing profile, the account's discounts; the billing
    # details (tax: no rates read without a country) and the account credit balance (issue 14).
    with django_assert_max_num_queries(16):
        response = admin_client.get("/cart/")
    assert response.status_code == 200


def test_the_billing_page_lists_the_plan_renewal_and_invoices(admin_client, paid_account,
                                                              django_assert_max_num_queries):
    order = _paid_order(*paid_account, licenses=14)
    invoice = order.invoices.get()
    # 13: the card on file (billing profile) is one more read since the Billing page shows it;
    # 14: the account credit balance (issue 14).
    with django_assert_max_num_queries(14):
        page = admin_client.get("/billing/").content.decode()
    subscription = paid_account[0].subscription
    assert "14 licenses" in page
    assert f'href="/billing/invoices/{invoice.pk}/"' in page and invoice.display_number in page
    assert subscription.term_end.strftime("%-d %B %Y") in page
    assert "Digital (included)" in page


def test_the_invoice_page_is_printable(admin_client, paid_account):
    invoice = _paid_order(*paid_account).invoices.get()
    page = admin_client.get(f"/billing/invoices/{invoice.pk}/").content.decode()
    assert f"Invoice {invoice.display_number}" in page
    assert "2 additional Professional licenses" in page
    assert "/static/css/app.css" in page  # its @media print hides the header


@pytest.mark.django_db
def test_an_account_without_a_subscription_sees_every_page_and_can_buy(client):
    """An account made by neither sign-up nor provisioning (by staff, in a shell) has no
    subscription: Billing says so and offers a plan, the cart gives it Free first (as every
    account has) and sells from there, and no page answers with a 500."""
    from billing.models import Subscription
    from tests.test_page_queries import candidate_urls

    account, admin = make_account()
    Subscription.objects.filter(account=account).delete()
    client.force_login(admin)
    page = client.get("/billing/").content.decode()
    assert "No subscription yet: the account has no licenses." in page and 'href="/cart/"' in page
    assert client.get("/cart/").status_code == 200
    subscription = Subscription.objects.select_related("plan").get(account=account)
    assert (subscription.plan.code, subscription.licenses) == ("free", 3)
    assert account.audit_entries.filter(kind="subscription.provisioned").exists()
    # Through the cart's own form, as the Admin buys.
    assert client.post("/cart/", {"plan": "essentials", "licenses": 12}).status_code in (200, 302)
    actor = Actor.for_user(admin)
    cart = cart_open(account=account, actor=actor)
    assert (cart.plan.code, cart.licenses) == ("essentials", 12)
    order = cart_checkout(account=account, cart_id=cart.pk, actor=actor, idempotency_key="k", card=GOOD_CARD).order
    assert order.state == "paid"
    subscription = Subscription.objects.select_related("plan").get(account=account)
    assert (subscription.plan.code, subscription.licenses) == ("essentials", 12)

    Subscription.objects.filter(account=account).delete()
    answers = {url: client.get(url).status_code for _, urls in candidate_urls(account) for url in urls}
    assert answers and all(status < 500 for status in answers.values()), answers
