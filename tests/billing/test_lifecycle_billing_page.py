"""The renewal panel inside the Billing page (the page itself is the cart work's, billing/views.py).
Skipped until that page is merged in beside this work."""

from datetime import date

import pytest
import time_machine
from django.urls import NoReverseMatch, reverse

from accounts.models import Role
from tests.billing.lifecycle_support import paid_account_since
from tests.factories import add_member

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def needs_the_billing_page():
    try:
        reverse("billing")
    except NoReverseMatch:
        pytest.skip("the Billing page (/billing/) is not in this tree yet")


def test_the_billing_page_shows_the_renewal_panel_with_the_last_day_to_cancel(client):
    account, admin = paid_account_since(date(2026, 4, 15), plan="essentials_plus", licenses=20)
    with time_machine.travel(date(2026, 9, 1), tick=False):
        client.force_login(admin)
        page = client.get("/billing/").content.decode()
        assert "The last day to cancel at this renewal is 16 March 2027." in page
        assert 'id="cancel-at-renewal"' in page and "No refunds" in page
        client.post("/billing/schedule/cancel/")
        page = client.get("/billing/").content.decode()
    assert "moves to <strong>Free</strong> on <strong>15 April 2027</strong>" in page
    assert 'id="withdraw-change"' in page


def test_a_viewer_never_sees_the_panel(client):
    account, _ = paid_account_since(date(2026, 4, 15))
    viewer = add_member(account, Role.VIEWER)
    client.force_login(viewer)
    assert client.get("/billing/").status_code == 403
