"""A Support staff member extends a grace period in the admin (Chromium); the customer's banner
shows the new end."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from licensing.models import AccountLicensing, TrackedUser
from tests.browser import browser_page, chromium, login_as  # noqa: F401
from tests.factories import StaffFactory, make_account


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_support_extends_grace_and_the_customers_banner_changes(browser_page, chromium, live_server):  # noqa: F811
    account, customer_admin = make_account(plan="professional", licenses=5, name="Bannerco")
    for n in range(6):
        TrackedUser.objects.create(account=account, identity_kind="machine", identity_scope="pc",
                                   identity_name=f"u{n}", username=f"u{n}")
    ends = timezone.now() + timedelta(days=2)
    AccountLicensing.objects.filter(account=account).update(
        used=6, state="grace", over_since=timezone.now() - timedelta(days=12), grace_period_ends_at=ends
    )
    support = StaffFactory()
    support.groups.set([Group.objects.get(name="Support")])

    customer = browser_page
    login_as(customer, customer_admin)
    customer.goto("/")
    banner = customer.locator("#compliance-banner")
    assert "2 days left" in banner.inner_text()

    staff_context = chromium.new_context(base_url=live_server.url)
    staff_page = staff_context.new_page()
    staff_page.live_server_url = live_server.url
    login_as(staff_page, support)
    staff_page.goto("/admin/staff/staffaccount/?q=Bannerco")
    staff_page.click("text=Bannerco")
    staff_page.click("a[data-action='extend-grace']")
    staff_page.fill("#id_days", "10")
    staff_page.fill("#id_reason", "purchase order on its way")
    staff_page.click("input[type=submit]")
    staff_page.wait_for_url("**/change/")
    assert "Grace period extended by 10 days" in staff_page.locator(".messagelist").inner_text()
    staff_context.close()

    customer.reload()
    text = customer.locator("#compliance-banner").inner_text()
    assert "12 days left" in text
    new_end = ends + timedelta(days=10)
    assert f"{new_end.day} {new_end:%B %Y}, {new_end:%H:%M} UTC" in text  # the account reads UTC
