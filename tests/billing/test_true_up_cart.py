"""Issue 15: the banner's "buy licenses" opens the cart at the licenses the account uses, and the
cart says what the ratio will be after paying."""

import pytest

from licensing.models import AccountLicensing
from tests.factories import make_account

pytestmark = pytest.mark.django_db


@pytest.fixture
def over(client):
    account, admin = make_account(plan="professional", licenses=10)
    AccountLicensing.objects.update_or_create(account=account, defaults={"used": 14, "state": "grace"})
    client.force_login(admin)
    return client


def test_the_banner_links_to_the_cart_at_the_licenses_used(over):
    page = over.get("/").content.decode()
    assert 'href="/cart/?licenses=14"' in page


def test_the_cart_opens_at_those_licenses_and_shows_the_ratio_after_paying(over):
    page = over.get("/cart/?licenses=14").content.decode()
    assert 'name="licenses" value="14"' in page
    assert 'id="ratio-today"' in page and "14 users on 10 licenses" in page
    over.post("/cart/", {"plan": "", "licenses": "14"})
    page = over.get("/cart/").content.decode()
    assert 'id="ratio-after"' in page and "After paying: 14 users on 14 licenses" in page
    over.post("/cart/", {"plan": "", "licenses": "12"})
    page = over.get("/cart/").content.decode()
    assert "After paying: 14 users on 12 licenses: still 2 more users than licenses" in page


@pytest.mark.parametrize("value", ["abc", "-3", "0", "99999999999", ""])
def test_a_bad_licenses_parameter_is_ignored(over, value):
    response = over.get(f"/cart/?licenses={value}")
    assert response.status_code == 200
    assert 'name="licenses" value="10"' in response.content.decode()
