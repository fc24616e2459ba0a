"""Keyboard only (issue 17): the avatar menu, the cart and the users page's actions work with
Tab, typing and Enter, no mouse."""

import pytest

from licensing.models import AccountLicensing, TrackedUser
from tests.billing.conftest import GOOD_CARD, sandbox_gateway  # noqa: F401
from tests.browser import browser_page, chromium, login_as  # noqa: F401
from tests.factories import make_account
from tests.frontend.axe import axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def tab_to(page, selector, presses=80):
    """Presses Tab until ``selector`` has the focus; fails if it never does."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        if page.evaluate("s => !!document.activeElement && document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} is not reachable with Tab")


def test_avatar_menu_cart_and_user_actions_without_a_mouse(browser_page, sandbox_gateway):  # noqa: F811
    account, admin = make_account(plan="essentials", licenses=10)
    user = TrackedUser.objects.create(account=account, identity_kind="machine", identity_scope="pc-1",
                                      identity_name="kim", username="kim", machine_hostname="PC-1")
    AccountLicensing.objects.filter(account=account).update(used=1)  # the counter the agent API keeps
    page = browser_page
    login_as(page, admin)

    page.goto("/")
    tab_to(page, "summary[aria-label='Account menu']")
    page.keyboard.press("Enter")
    assert page.locator("details.avatar-menu[open]").count() == 1
    page.keyboard.press("Escape")  # closes it, the focus back on its button
    assert page.locator("details.avatar-menu[open]").count() == 0
    assert page.evaluate("document.activeElement.matches(\"summary[aria-label='Account menu']\")")
    page.keyboard.press("Enter")
    assert page.locator("details.avatar-menu[open]").count() == 1
    tab_to(page, ".avatar-menu a[href='/members/']", presses=10)
    page.keyboard.press("Enter")
    page.wait_for_url("**/members/")

    page.goto("/cart/")
    tab_to(page, "#id_licenses")
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type("12")
    page.keyboard.press("Enter")  # submits the cart form
    page.wait_for_selector("#cart-summary")
    assert "2 additional Essentials licenses" in page.locator("#cart-summary").inner_text()
    tab_to(page, "#id_card")
    page.keyboard.type(GOOD_CARD)
    tab_to(page, "#pay", presses=5)
    page.keyboard.press("Enter")
    page.wait_for_url("**/billing/orders/*/")
    assert page.locator("#order-state").inner_text() == "Paid"

    page.goto("/users/")
    tab_to(page, f"a[href='/users/{user.pk}/do-not-track/']")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/users/{user.pk}/do-not-track/")
    tab_to(page, "main form button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url("**/users/")
    assert "Do Not Track list" in page.locator(".messages").inner_text()
    user.refresh_from_db()
    assert user.state == "do_not_track"


def test_a_form_with_errors_passes_axe(browser_page):  # noqa: F811
    page = browser_page
    page.goto("/signup/")
    page.fill("#id_organisation", "Acme")
    page.fill("#id_email", "someone@example.com")
    page.fill("#id_password", "1")
    page.click("main form button[type=submit]")
    page.wait_for_selector("[data-error-summary]")
    assert axe_violations(page) == []
