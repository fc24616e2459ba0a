"""After a failed submit the error is where the eye lands: a summary at the top of the form,
inside the first screen, focused, with a link to each field in error (issue 17)."""

import pytest

from tests.billing.conftest import DECLINED_CARD, sandbox_gateway  # noqa: F401
from tests.browser import browser_page, chromium, login_as  # noqa: F401
from tests.factories import make_account

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def assert_error_in_first_screen(page, text):
    summary = page.locator("[data-error-summary]").first
    assert text in summary.inner_text()
    page.wait_for_function("document.activeElement && document.activeElement.matches('[data-error-summary]')")
    box = summary.bounding_box()
    viewport = page.viewport_size
    top = page.evaluate("el => el.getBoundingClientRect().top", summary.element_handle())
    assert -1 <= top and top + min(box["height"], 80) <= viewport["height"], (top, box, viewport)


def test_a_declined_card_is_shown_and_focused_in_the_first_screen(browser_page, sandbox_gateway):  # noqa: F811
    account, admin = make_account(plan="essentials", licenses=10)
    page = browser_page
    login_as(page, admin)
    page.goto("/cart/")
    page.fill("#id_licenses", "25")
    page.click("#update-cart")
    page.wait_for_url("**/cart/")
    page.fill("#id_card", DECLINED_CARD)
    page.click("#pay")
    page.wait_for_load_state()
    assert_error_in_first_screen(page, "declined")
    link = page.locator("[data-error-summary] a[href='#id_card']")
    link.click()
    assert page.evaluate("document.activeElement.id") == "id_card"


def test_sign_up_and_login_errors_are_summarised_with_links(browser_page):  # noqa: F811
    page = browser_page
    account, admin = make_account(plan="essentials", licenses=10)
    page.goto("/signup/")
    page.fill("#id_organisation", "Acme")
    # Any address (issue 11: sign-up no longer says whether an email has a login): the password.
    page.fill("#id_email", "someone-new@example.com")
    page.fill("#id_password", "123")
    page.click("main form button[type=submit]")
    page.wait_for_load_state()
    assert_error_in_first_screen(page, "This password is too short")
    assert page.locator("[data-error-summary] a[href^='#id_']").count() >= 2

    page.goto("/login/")
    page.fill("#id_username", "nobody@example.com")
    page.fill("#id_password", "wrong")
    page.click("main form button[type=submit]")
    page.wait_for_load_state()
    assert_error_in_first_screen(page, "correct email address and password")
