"""An Admin enters a coupon in the cart in Chromium, sees it by name, and pays the discounted total."""

import pytest

from billing.models import Coupon, CouponRedemption, Order
from tests.billing.conftest import GOOD_CARD
from tests.browser import browser_page, chromium, login_as  # noqa: F401
from tests.factories import make_account


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_an_admin_applies_a_coupon_in_the_cart_and_pays_less(browser_page, sandbox_gateway):  # noqa: F811
    account, admin = make_account(plan="essentials", licenses=10)
    Coupon.objects.create(code="WELCOME20", name="Welcome offer", percent=20)
    page = browser_page
    login_as(page, admin)

    page.goto("/cart/")
    page.fill("#id_licenses", "15")
    page.fill("#id_coupon", "nope")
    page.click("#update-cart")
    assert "not valid: check its spelling" in page.locator("#cart-form").inner_text()

    page.fill("#id_coupon", "welcome20")
    page.click("#update-cart")
    page.wait_for_url("**/cart/")
    assert "Coupon WELCOME20: Welcome offer (20% off)" in page.locator("#coupon-applied").inner_text()
    summary = page.locator("#cart-summary").inner_text()
    assert "Welcome offer 20%" in summary
    total = page.locator("#total-due").inner_text()
    assert total == "$480.00"  # a whole term left: 5 x $120 less 20 %

    page.fill("#id_card", GOOD_CARD)
    page.click("#pay")
    page.wait_for_url("**/billing/orders/*/")
    assert page.locator("#total").inner_text() == total
    assert "Welcome offer 20%" in page.locator("main").inner_text()
    order = Order.objects.get(account=account)
    assert CouponRedemption.objects.get(account=account).order == order
