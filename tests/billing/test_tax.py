"""Issue 14, item 3: tax by the billing country (or state), its own line on the cart, the order,
the invoice and the PDF; the charge includes it; reverse charge for a valid EU VAT id outside the
seller's country; snapshotted, never recomputed."""

import re
from decimal import Decimal

import pytest

from accounts.actors import Actor
from accounts.models import OutboundEmail
from billing.invoices import invoice_issue_for_order
from billing.models import Invoice, Order, TaxRate
from billing.pricing import tax_amount_cents
from billing.tax import REVERSE_CHARGE_NOTE, tax_rule_for
from tests.billing.conftest import GOOD_CARD
from tests.billing.helpers import make_order
from tests.billing.test_documents import download, give_details, pdf_text

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("tests")


def _page_form(client):
    page = client.get("/cart/").content.decode()
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page))
    return page, {key: fields[key] for key in ("cart", "idempotency_key", "expected_total_cents",
                                                "expected_fingerprint")}


def test_the_rates_we_ship_with_are_in_the_table():
    rates = {(str(r.country), r.region): (r.name, r.percent) for r in TaxRate.objects.all()}
    assert rates[("DE", "")] == ("VAT", Decimal("19.00"))
    assert rates[("FR", "")] == ("VAT", Decimal("20.00"))
    assert rates[("GB", "")] == ("VAT", Decimal("20.00"))
    assert rates[("NL", "")] == ("VAT", Decimal("21.00"))
    assert ("US", "") not in rates  # no federal sales tax; states are rows of their own


def test_tax_is_rounded_once_half_up():
    assert tax_amount_cents(taxable_cents=250, percent=Decimal("19")) == 48  # 47.5
    assert tax_amount_cents(taxable_cents=64496, percent=Decimal("19")) == 12254  # 12254.24
    assert tax_amount_cents(taxable_cents=-250, percent=Decimal("19")) == -48
    assert tax_amount_cents(taxable_cents=10_000, percent=Decimal("0")) == 0


def test_a_german_customer_without_vat_id_pays_19_percent_on_the_cart_order_invoice_and_pdf(
        admin_client, sandbox_gateway, django_capture_on_commit_callbacks):
    account = admin_client.account
    give_details(account, tax_id="")
    admin_client.post("/cart/", {"licenses": 15})
    page, form = _page_form(admin_client)
    subtotal = 5 * 22800  # 5 more Professional licenses for a whole term
    tax = 21660  # 19% of $1,140.00
    assert "Subtotal" in page and "VAT 19% (Germany)" in page and "$216.60" in page
    assert int(form["expected_total_cents"]) == subtotal + tax
    assert "Pay $1,356.60" in page

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post("/cart/checkout/", {**form, "payment_method": "card", "card": GOOD_CARD})
    assert response.status_code == 302
    order = Order.objects.get(account=account)
    assert (order.subtotal_cents, order.tax_cents, order.total_cents) == (subtotal, tax, subtotal + tax)
    assert (order.tax_name, order.tax_percent, order.tax_country) == ("VAT", Decimal("19.00"), "DE")
    assert [c[1] for c in sandbox_gateway.charges] == [subtotal + tax]
    invoice = Invoice.objects.get(order=order)
    assert (invoice.tax_cents, invoice.total_cents, invoice.tax_name) == (tax, subtotal + tax, "VAT")
    for url in (f"/billing/orders/{order.pk}/", f"/billing/invoices/{invoice.pk}/"):
        shown = admin_client.get(url).content.decode()
        assert "Subtotal" in shown and "VAT 19% (Germany)" in shown and "$216.60" in shown, url
    text = pdf_text(download(admin_client, invoice))
    assert "VAT 19% (Germany)" in text and "$216.60" in text and "$1,356.60" in text
    email = OutboundEmail.objects.get(subject=f"Invoice {invoice.display_number}")
    assert "Subtotal: $1,140.00\nVAT 19% (Germany): $216.60\nTotal: $1,356.60" in email.body

    # Staff change the rate: the issued invoice keeps what it said (a snapshot, not recomputed).
    TaxRate.objects.filter(country="DE", region="").update(percent=Decimal("16"))
    invoice.refresh_from_db()
    assert invoice.tax_cents == tax and invoice.tax_percent == Decimal("19.00")
    assert "VAT 19% (Germany)" in admin_client.get(f"/billing/invoices/{invoice.pk}/").content.decode()


def test_a_valid_eu_vat_id_in_another_member_state_is_reverse_charged(admin_client, settings):
    settings.SELLER = {**settings.SELLER, "country": "NL"}
    account = admin_client.account
    give_details(account)  # DE, DE136695976
    rule = tax_rule_for(account=account)
    assert rule.reverse_charge and rule.percent == 0
    admin_client.post("/cart/", {"licenses": 15})
    page, form = _page_form(admin_client)
    assert REVERSE_CHARGE_NOTE in page and int(form["expected_total_cents"]) == 5 * 22800

    invoice = invoice_issue_for_order(order=make_order(account, state="invoiced"), actor=ACTOR, paid=False)
    assert invoice.reverse_charge and invoice.tax_cents == 0 and invoice.total_cents == 22800
    text = pdf_text(download(admin_client, invoice))
    assert "Reverse charge: VAT to be accounted for by the recipient" in text
    assert "DE136695976" in text


@pytest.mark.parametrize("seller, country, tax_id, expected", [
    ("DE", "DE", "DE136695976", ("VAT", Decimal("19.00"), False)),  # the seller's own country
    ("US", "DE", "DE136695976", ("VAT", Decimal("0"), True)),  # outside the seller's country
    ("US", "FR", "", ("VAT", Decimal("20.00"), False)),  # no VAT id: consumer VAT
    ("US", "GB", "GB980780684", ("VAT", Decimal("20.00"), False)),  # not in the EU
    ("US", "ZA", "", ("", Decimal("0"), False)),  # no rate in the table: no tax line
])
def test_which_rate_applies(paid_account, settings, seller, country, tax_id, expected):
    settings.SELLER = {**settings.SELLER, "country": seller}
    account, _ = paid_account
    give_details(account, country=country, tax_id=tax_id)
    rule = tax_rule_for(account=account)
    assert (rule.name, rule.percent, rule.reverse_charge) == expected


def test_a_us_state_rate_applies_by_the_state_code(paid_account):
    account, _ = paid_account
    TaxRate.objects.create(country="US", region="NY", name="Sales tax", percent=Decimal("4"))
    give_details(account, country="US", region="ny", tax_id="", city="New York")
    assert (tax_rule_for(account=account).name, tax_rule_for(account=account).percent) == (
        "Sales tax", Decimal("4.00"))
    give_details(account, country="US", region="OR", tax_id="")
    assert tax_rule_for(account=account).percent == 0


def test_no_billing_details_no_tax_line(admin_client):
    admin_client.post("/cart/", {"licenses": 15})
    page, form = _page_form(admin_client)
    assert int(form["expected_total_cents"]) == 5 * 22800
    assert "VAT" not in page and "add your billing details" in page


def test_a_changed_country_asks_for_confirmation_again(admin_client, sandbox_gateway):
    account = admin_client.account
    give_details(account, country="FR", tax_id="")
    admin_client.post("/cart/", {"licenses": 15})
    _page, form = _page_form(admin_client)
    give_details(account, country="NL", tax_id="")  # 21% instead of 20%
    form["expected_total_cents"] = str(5 * 22800 * 121 // 100)  # even the new total is not enough
    response = admin_client.post("/cart/checkout/", {**form, "payment_method": "card", "card": GOOD_CARD})
    assert response.status_code == 400
    assert "Your cart changed since you saw it" in response.content.decode()
    assert sandbox_gateway.charges == []


def test_a_renewal_or_quote_invoice_is_taxed_when_issued_and_keeps_it(paid_account):
    account, _ = paid_account
    give_details(account, country="NL", tax_id="")
    order = make_order(account, state="invoiced", kind="renewal")
    invoice = invoice_issue_for_order(order=order, actor=ACTOR, paid=False)
    order.refresh_from_db()
    assert (invoice.tax_cents, invoice.total_cents) == (4788, 22800 + 4788)  # 21% of $228.00
    assert order.total_cents == invoice.total_cents and order.tax_cents == 4788
    give_details(account, country="FR", tax_id="")
    assert invoice_issue_for_order(order=order, actor=ACTOR, paid=False).tax_cents == 4788


def test_staff_edit_rates_in_the_admin(admin_client):
    from django.contrib.auth.models import Group

    from tests.factories import StaffFactory

    staff = StaffFactory()
    staff.groups.add(Group.objects.get(name="Billing"))  # the staff role that edits the rates
    admin_client.force_login(staff)
    rate = TaxRate.objects.get(country="DE", region="")
    response = admin_client.post(f"/admin/billing/taxrate/{rate.pk}/change/",
                                 {"country": "DE", "region": "", "name": "VAT", "percent": "19.5"})
    assert response.status_code == 302, response.content.decode()[:2000]
    rate.refresh_from_db()
    assert rate.percent == Decimal("19.50")
