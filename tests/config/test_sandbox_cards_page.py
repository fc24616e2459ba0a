"""The cart shows the sandbox test cards while the sandbox gateway is on, and never otherwise."""

import pytest

pytestmark = pytest.mark.django_db


def _checkout_page(admin_client):
    admin_client.post("/cart/", {"licenses": 15, "plan": ""})
    page = admin_client.get("/cart/").content.decode()
    assert 'id="checkout-form"' in page
    return page


def test_the_sandbox_cart_lists_the_test_cards(admin_client, settings):
    settings.PAYMENT_GATEWAY = "sandbox"
    page = _checkout_page(admin_client)
    assert "4242 4242 4242 4242" in page
    assert "4000 0000 0000 0002" in page and "Your card was declined." in page
    assert "see the README" not in page


def test_the_stripe_cart_shows_no_test_cards(admin_client, settings):
    settings.PAYMENT_GATEWAY = "stripe"
    page = _checkout_page(admin_client)
    assert "4242 4242 4242 4242" not in page
