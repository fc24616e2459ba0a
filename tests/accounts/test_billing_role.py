"""PRODUCT.md: Billing members see invoices, orders and the payment method, and pay; they do not
manage users or agents, buy in the cart, or read activity reports. Money emails reach them."""

import pytest
from django.test import Client

from accounts.models import Membership, Role, User
from accounts.selectors import admin_emails, billing_emails
from billing.models import InvoiceState
from tests.billing.conftest import GOOD_CARD
from tests.factories import make_account

pytestmark = pytest.mark.django_db


@pytest.fixture
def billing_member():
    account, admin = make_account(plan="professional", licenses=10)
    clerk = User.objects.create_user(email="clerk@customer.example", password=None)
    Membership.objects.create(account=account, user=clerk, role=Role.BILLING)
    client = Client()
    client.force_login(clerk)
    return account, admin, clerk, client


def test_a_billing_member_pays_an_open_invoice_but_cannot_manage_users_or_buy(billing_member, settings):
    from tests.billing.test_payments import _invoice_with_order

    settings.PAYMENT_GATEWAY = "sandbox"
    account, _admin, _clerk, client = billing_member
    invoice = _invoice_with_order(account)
    billing = client.get("/billing/")
    assert billing.status_code == 200
    page = billing.content.decode()
    assert 'href="/billing/"' in page and 'href="/users/"' not in page and 'href="/reports/"' not in page
    assert "Add licenses or upgrade" not in page
    assert client.get(f"/billing/invoices/{invoice.pk}/").status_code == 200
    paid = client.post(f"/billing/invoices/{invoice.pk}/pay/", {"card": GOOD_CARD})
    assert paid.status_code == 302
    invoice.refresh_from_db()
    assert invoice.state == InvoiceState.PAID
    assert client.post("/billing/card/", {"card": GOOD_CARD}).status_code == 302
    for url in ("/users/", "/agents/", "/cart/", "/reports/", "/members/"):
        assert client.get(url).status_code == 403, url
    assert client.post("/cart/checkout/", {}).status_code == 403


def test_money_emails_go_to_billing_members_and_other_notices_to_admins(billing_member):
    account, admin, clerk, _client = billing_member
    assert billing_emails(account_id=account.pk) == sorted([admin.email, clerk.email])
    assert admin_emails(account_id=account.pk) == [admin.email]


def test_an_admin_invites_a_billing_member(billing_member):
    account, admin, _clerk, _ = billing_member
    client = Client()
    client.force_login(admin)
    page = client.get("/members/").content.decode()
    assert 'value="billing"' in page
    assert account.memberships.filter(role=Role.BILLING).count() == 1
