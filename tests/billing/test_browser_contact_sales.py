"""Issue 15 in Chromium: a visitor goes from /pricing/ to "Contact sales", sends the form, and
both emails arrive; a Free account's Admin does the same and lands on their quote request; staff
record a health check and the customer sees it on /support/."""

import pytest
from django.core import mail

from billing.models import Quote, SalesLead
from tests.browser import browser_page, chromium, login_as  # noqa: F401
from tests.factories import StaffFactory, make_account
from tests.support.conftest import accept_quote, active_plan

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_visitor_contacts_sales_from_the_pricing_page(browser_page, settings):  # noqa: F811
    settings.STAFF_EMAIL = "sales-team@example.com"
    page = browser_page
    page.goto("/pricing/")
    page.click("#contact-sales-link >> text=Contact sales")
    page.wait_for_url("**/contact-sales/")
    honeypot = page.locator("input[name=website]").bounding_box()
    assert honeypot["x"] + honeypot["width"] <= 0  # the honeypot stays out of sight
    page.fill("#id_name", "Nora Nonprofit")
    page.fill("#id_email", "nora@charity.example")
    page.fill("#id_company", "Helping Hands")
    page.select_option("#id_topic", "nonprofit")
    page.fill("#id_message", "We are 60 volunteers.")
    page.click("#contact-sales button[type=submit]")
    page.wait_for_url("**/contact-sales/thanks/")
    assert "reached our sales team" in page.inner_text("main")
    assert SalesLead.objects.get().company == "Helping Hands"
    assert sorted(m.to[0] for m in mail.outbox) == ["nora@charity.example", "sales-team@example.com"]


def test_a_free_admin_contacts_sales_from_the_footer_and_gets_a_quote_request(browser_page):  # noqa: F811
    account, admin = make_account(plan="free", name="Freebird")
    page = browser_page
    login_as(page, admin)
    page.goto("/")
    page.click("footer >> text=Contact sales")
    page.wait_for_url("**/contact-sales/")
    assert "Freebird" in page.inner_text("main") and not page.is_visible("#id_email")
    page.select_option("#id_topic", "plan")
    page.fill("#id_message", "A deal for 40 users")
    page.click("#contact-sales button[type=submit]")
    quote = Quote.objects.get(account=account)
    page.wait_for_url(f"**/billing/quotes/{quote.pk}/")
    assert quote.message == "A deal for 40 users" and not SalesLead.objects.exists()
    assert any(m.to == [admin.email] for m in mail.outbox)


def test_staff_record_a_health_check_and_the_customer_sees_it(browser_page):  # noqa: F811
    account, admin = make_account(plan="professional", licenses=10)
    accept_quote(account, "premier")
    premier = active_plan(account, "premier")
    page = browser_page
    login_as(page, StaffFactory(is_superuser=True))
    page.goto("/admin/support/entitlementuse/add/")
    page.select_option("#id_support_plan", str(premier.pk))
    page.select_option("#id_kind", "health_check")
    page.fill("#id_used_on", premier.starts_on.isoformat())  # bought today (its UTC day)
    page.fill("#id_note", "Asked for by their IT lead")
    page.click("input[name=_save]")
    page.wait_for_url("**/admin/support/entitlementuse/")
    page.context.clear_cookies()
    login_as(page, admin)
    page.goto("/support/")
    row = page.locator("#entitlements tr[data-kind=health_check] td")
    assert row.all_inner_texts()[0] == "Annual technical health checks"
    assert [t.strip() for t in row.all_inner_texts()[1:]] == ["1", "1", "0"]  # included, used, left
