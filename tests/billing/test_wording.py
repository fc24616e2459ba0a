"""Words a customer reads on the cart and the pricing page (issue 17)."""

import pytest

from billing.cart import cart_quote
from tests.billing.test_pricing import MIDDLE, _lines, _subscription

pytestmark = pytest.mark.django_db


def test_one_added_license_is_singular_on_the_quote():
    subscription = _subscription(plan="essentials", licenses=10, screen_details=True)
    quote = cart_quote(subscription=subscription, plan=None, licenses=11, screen_details=False,
                       discount_percent=0, today=MIDDLE)
    assert [line[0] for line in _lines(quote)] == [
        "1 additional Essentials license", "Screen Details for the 1 additional license",
    ]


def test_the_billing_period_is_not_in_the_prices_large_font(client):
    page = client.get("/pricing/").content.decode()
    # .price is the large figure; what it is per and how it is billed sits beside it, smaller.
    assert '<span class="price-per">user/month, billed annually</span>' in page
