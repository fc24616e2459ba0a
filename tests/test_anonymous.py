"""PRODUCT.md: an anonymous visitor to a customer page is sent to /login/."""

import re

import pytest

from tests.test_tenant_isolation import routes

# The gateway's webhook is public too: it answers Stripe, signed, not a visitor. "Contact sales"
# is for visitors (billing/sales.py).
PUBLIC = ("healthz", "pricing/", "signup/", "login/", "logout/", "password-reset/", "invitations/", "api/",
          "billing/stripe/webhook/", "contact-sales/")

pytestmark = pytest.mark.django_db


def test_every_customer_page_sends_an_anonymous_visitor_to_login(client):
    checked = 0
    for route in routes():
        if route.startswith(PUBLIC):
            continue
        url = "/" + re.sub(r"<(?:\w+:)?\w+>", "1", route)
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/login/?next="), url
        checked += 1
    assert checked >= 15
