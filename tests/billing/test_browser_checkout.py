"""An Admin walks from the "Add licenses" button to a paid order in Chromium."""

import pytest

from billing.models import Order, OrderState
from tests.billing.conftest import GOOD_CARD
from tests.browser import browser_page, chromium, login_as  # noqa: F401
from tests.factories import make_account


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_an_admin_buys_licenses_and_sees_the_ratio_change(browser_page, sandbox_gateway):  # noqa: F811
    account, admin = make_account(plan="essentials", licenses=10)
    page = browser_page
    login_as(page, admin)

    page.goto("/")
    page.locator("summary[aria-label='Account menu']").click()
    assert page.locator("#license-ratio strong").inner_text() == "0 / 10"

    page.click("#add-licenses")
    page.wait_for_url("**/cart/")
    page.fill("#id_licenses", "25")
    page.check("#addon-screen_details")
    page.click("#update-cart")
    page.wait_for_url("**/cart/")
    assert "15 additional Essentials licenses" in page.locator("#cart-summary").inner_text()
    total = page.locator("#total-due").inner_text()
    assert total == "$2,700.00"  # a whole term left: 15 x $120 + 25 x $36

    page.fill("#id_card", GOOD_CARD)
    page.click("#pay")
    page.wait_for_url("**/billing/orders/*/")
    assert page.locator("#order-state").inner_text() == "Paid"
    assert page.locator("#total").inner_text() == total

    page.locator("summary[aria-label='Account menu']").click()
    assert page.locator("#license-ratio strong").inner_text() == "0 / 25"
    order = Order.objects.get(account=account)
    assert order.state == OrderState.PAID and len(sandbox_gateway.charges) == 1
