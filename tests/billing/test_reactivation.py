"""Issue 15: after a move to Free, the Billing page offers the last paid plan back in one step."""

from datetime import UTC, date, datetime

import pytest
import time_machine

from billing.lifecycle import scheduled_change_set, subscriptions_renew
from billing.models import Cart, LicenseEvent, LicenseLedger
from tests.billing.lifecycle_support import JOB, paid_account_since
from tests.factories import make_account

pytestmark = pytest.mark.django_db


@pytest.fixture
def moved_to_free(client):
    account, admin = paid_account_since(date(2026, 4, 15), plan="essentials_plus", licenses=20)
    with time_machine.travel(date(2026, 9, 1), tick=False):
        scheduled_change_set(subscription=account.subscription, actor=JOB, cancel_to_free=True)
    with time_machine.travel(datetime(2027, 4, 15, 2, tzinfo=UTC), tick=False):
        subscriptions_renew(actor=JOB)
    assert LicenseLedger.objects.filter(event=LicenseEvent.CANCELLED_TO_FREE).exists()
    client.force_login(admin)
    return client, account


def test_the_billing_page_offers_the_last_paid_plan_back(moved_to_free):
    client, _ = moved_to_free
    page = client.get("/billing/").content.decode()
    assert 'id="reactivate"' in page
    assert "Reactivate Essentials Plus with 20 licenses" in page


def test_reactivating_puts_it_in_the_cart_in_one_step(moved_to_free):
    client, account = moved_to_free
    response = client.post("/billing/reactivate/")
    assert response.status_code == 302 and response.url == "/cart/"
    cart = Cart.objects.get(account=account)
    assert (cart.plan.code, cart.licenses) == ("essentials_plus", 20)
    page = client.get("/cart/").content.decode()
    assert 'id="pay"' in page and 'id="total-due"' in page


def test_an_account_that_never_paid_is_not_offered_a_reactivation(client):
    account, admin = make_account(plan="free")
    client.force_login(admin)
    assert 'id="reactivate"' not in client.get("/billing/").content.decode()
    response = client.post("/billing/reactivate/", follow=True)
    assert "no paid plan to reactivate" in response.content.decode()
    assert not Cart.objects.filter(account=account, plan__isnull=False).exists()
