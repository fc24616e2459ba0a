"""Issue 15 in Chromium, as a customer Admin clicks: the one-click true-up from the banner, a
renewal change that warns first, members, reactivation, and deleting the account (the export,
the typed name, the closing email, the cancellation)."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.core import mail

from accounts.models import Membership, Role
from billing.lifecycle import scheduled_change_set, subscriptions_renew
from billing.models import Cart, ScheduledChange
from licensing.models import AccountLicensing
from tests.billing.lifecycle_support import JOB, paid_account_since
from tests.browser import browser_page, chromium, login_as  # noqa: F401
from tests.factories import add_member, make_account

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_banner_opens_the_cart_at_the_licenses_used_and_says_the_ratio_after(browser_page):  # noqa: F811
    account, admin = make_account(plan="professional", licenses=10, name="Ratioco")
    AccountLicensing.objects.update_or_create(account=account, defaults={
        "used": 14, "state": "grace", "grace_period_ends_at": datetime.now(UTC) + timedelta(days=5)})
    page = browser_page
    login_as(page, admin)
    page.goto("/")
    page.click("#compliance-banner >> text=buy licenses")
    page.wait_for_url("**/cart/?licenses=14")
    assert page.input_value("#id_licenses") == "14"
    page.click("#cart-form button[type=submit], form:has(#id_licenses) button[type=submit]")
    page.wait_for_selector("#ratio-after")
    assert "After paying: 14 users on 14 licenses" in page.inner_text("#ratio-after")
    assert page.inner_text("#total-due").startswith("$")


def test_a_renewal_change_over_the_licenses_warns_and_needs_a_confirm(browser_page):  # noqa: F811
    account, admin = paid_account_since(date.today() - timedelta(days=100), licenses=350)
    AccountLicensing.objects.update_or_create(account=account, defaults={"used": 342})
    page = browser_page
    login_as(page, admin)
    page.goto("/billing/")
    page.fill("#schedule-change-form input[name=licenses]", "5")
    page.click("#schedule-change-form button[type=submit]")
    warning = page.inner_text("#consequence-over_licenses")
    assert "342 users are tracked" in warning and "337 more users than licenses" in warning
    assert not ScheduledChange.objects.exists()
    page.click("#confirm-change")
    page.wait_for_url("**/billing/")
    assert "5 licenses" in page.inner_text("#scheduled-change")
    assert ScheduledChange.objects.get().licenses == 5


def test_an_admin_changes_a_role_and_removes_a_member(browser_page):  # noqa: F811
    account, admin = make_account(plan="professional", licenses=10)
    viewer = add_member(account, Role.VIEWER, email="vera@example.com")
    page = browser_page
    login_as(page, admin)
    page.goto("/members/")
    pk = viewer.membership.pk
    page.select_option(f"#role-{pk}", "billing")
    page.click(f"#set-role-{pk}")
    page.wait_for_load_state()
    assert "vera@example.com is now Billing" in page.content()
    assert Membership.objects.get(user=viewer).role == "billing"
    page.click(f"#remove-{pk}")
    page.wait_for_load_state()
    assert "was removed" in page.content()
    assert not Membership.objects.filter(user=viewer).exists()
    assert page.locator(f"#remove-{admin.membership.pk}").count() == 0  # nobody removes themselves


def test_after_a_move_to_free_the_last_plan_comes_back_in_one_click(browser_page):  # noqa: F811
    account, admin = paid_account_since(date(2026, 4, 15), plan="essentials_plus", licenses=20)
    with time_machine.travel(date(2026, 9, 1), tick=False):
        scheduled_change_set(subscription=account.subscription, actor=JOB, cancel_to_free=True)
    with time_machine.travel(datetime(2027, 4, 15, 2, tzinfo=UTC), tick=False):
        subscriptions_renew(actor=JOB)
    page = browser_page
    login_as(page, admin)
    page.goto("/billing/")
    page.click("#reactivate")
    page.wait_for_url("**/cart/")
    assert page.inner_text("#total-due").startswith("$")
    assert "Essentials Plus" in page.inner_text("#cart-summary")
    cart = Cart.objects.get(account=account)
    assert (cart.plan.code, cart.licenses) == ("essentials_plus", 20)


def test_an_admin_deletes_the_account_then_cancels(browser_page, client):  # noqa: F811
    account, admin = make_account(plan="professional", licenses=10, name="Goodbye Ltd")
    page = browser_page
    login_as(page, admin)
    page.goto("/account/delete/")
    page.fill("#id_name", "Goodbye Ltd")
    page.click("#delete-account")
    assert "Download the export" in page.inner_text("#delete-error")

    with page.expect_download() as download:
        page.click("#download-export")
    assert download.value.suggested_filename.endswith("-export.zip")
    page.goto("/account/delete/")
    assert "last downloaded" in page.inner_text("#last-export")
    page.fill("#id_name", "Goodbye")
    page.click("#delete-account")
    assert "name exactly: Goodbye Ltd" in page.inner_text("#delete-error")
    page.fill("#id_name", "Goodbye Ltd")
    page.click("#delete-account")
    page.wait_for_selector("#account-closed")
    erase_on = (datetime.now(UTC) + timedelta(days=30)).strftime("%-d %B %Y")
    assert f"will be erased on {erase_on}" in page.inner_text("#account-closed")
    (email,) = [m for m in mail.outbox if "closed" in m.subject]
    assert email.to == [admin.email] and "/account/delete/" in email.body

    page.goto("/users/")  # every other page leads back here while closed
    page.wait_for_selector("#account-closed")
    page.click("#cancel-deletion")
    page.wait_for_url("**/")
    page.goto("/users/")
    assert page.locator("#account-closed").count() == 0
    account.refresh_from_db()
    assert account.closed_at is None
