"""Issue 14 in Chromium: an Admin fills the billing details, buys, and downloads the PDF invoice
(its text read back); a Billing member pays an open invoice but may not open the Users page."""

import pytest

from accounts.models import Membership, Role
from billing.models import Invoice, InvoiceState
from tests.billing.conftest import GOOD_CARD
from tests.billing.test_documents import pdf_text
from tests.browser import browser_page, chromium, login_as  # noqa: F401
from tests.factories import UserFactory, make_account


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_an_admin_fills_billing_details_buys_and_downloads_the_pdf_invoice(browser_page, sandbox_gateway, settings):  # noqa: F811
    account, admin = make_account(plan="essentials", licenses=10, name="Acme Browser")
    page = browser_page
    login_as(page, admin)

    page.goto("/billing/")
    page.click("#edit-billing-details")
    page.fill("#id_legal_name", "Acme Browser GmbH")
    page.fill("#id_address_line1", "Friedrichstrasse 123")
    page.fill("#id_city", "Berlin")
    page.fill("#id_postal_code", "10117")
    page.select_option("#id_country", "DE")
    page.fill("#id_tax_id", "DE 136 695 976")
    page.fill("#id_po_number", "PO-4471")
    page.click("#save-billing-details")
    page.wait_for_url("**/billing/")

    page.goto("/cart/")
    page.fill("#id_licenses", "15")
    page.click("#update-cart")
    page.wait_for_url("**/cart/")
    total = page.locator("#total-due").inner_text()
    page.fill("#id_card", GOOD_CARD)
    page.click("#pay")
    page.wait_for_url("**/billing/orders/*/")

    page.goto("/billing/")
    invoice = Invoice.objects.get(account=account)
    with page.expect_download() as download:
        page.click(f"text={invoice.display_number}.pdf")
    assert download.value.suggested_filename == f"{invoice.display_number}.pdf"
    with open(download.value.path(), "rb") as pdf:
        text = pdf_text(pdf.read())
    for expected in (settings.SELLER["legal_name"], "Acme Browser GmbH", "Friedrichstrasse 123", "10117 Berlin",
                     "DE136695976", "PO-4471", invoice.display_number, "5 additional Essentials licenses", total):
        assert expected in text, expected


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_billing_member_pays_an_open_invoice_but_gets_403_on_the_users_page(browser_page, sandbox_gateway):  # noqa: F811
    from tests.billing.test_payments import _invoice_with_order

    account, _ = make_account(plan="professional", licenses=10)
    clerk = UserFactory(email="ap@acme-browser.example")
    Membership.objects.create(account=account, user=clerk, role=Role.BILLING)
    invoice = _invoice_with_order(account)
    page = browser_page
    login_as(page, clerk)

    page.goto("/billing/")
    page.click("#invoices >> text=Pay now")
    page.wait_for_url(f"**/billing/invoices/{invoice.pk}/pay/")
    page.fill("#id_card", GOOD_CARD)
    page.click("#pay")
    page.wait_for_load_state()
    invoice.refresh_from_db()
    assert invoice.state == InvoiceState.PAID

    response = page.goto("/users/")
    assert response.status == 403
    assert "Admin" in page.locator("main").inner_text()  # the page says who can open it
