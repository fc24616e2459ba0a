"""An Admin edits the account's billing details on /billing/details/; tax ids are checked by
the billing country's format (billing.tax_ids)."""

import pytest

from accounts.actors import Actor
from accounts.models import AuditEntry
from accounts.services import ServiceError
from billing.models import BillingDetails
from billing.services import billing_details_update
from billing.tax_ids import TaxIdError, tax_id_normalise

FORM = {
    "legal_name": "Acme Corporation GmbH", "address_line1": "Friedrichstrasse 123",
    "address_line2": "", "city": "Berlin", "postal_code": "10117", "region": "",
    "country": "DE", "tax_id": "de 136 695 976", "po_number": "PO-4471",
}


def test_an_admin_saves_billing_details_and_sees_them_on_the_billing_page(admin_client):
    page = admin_client.get("/billing/details/")
    assert page.status_code == 200 and 'name="tax_id"' in page.content.decode()

    response = admin_client.post("/billing/details/", FORM)
    assert response.status_code == 302 and response["Location"] == "/billing/"

    details = BillingDetails.objects.get(account=admin_client.account)
    assert details.tax_id == "DE136695976"  # normalised
    billing = admin_client.get("/billing/").content.decode()
    for shown in ["Acme Corporation GmbH", "Friedrichstrasse 123", "10117 Berlin", "Germany",
                  "DE136695976", "PO-4471"]:
        assert shown in billing
    entry = AuditEntry.objects.get(account=admin_client.account, kind="billing.details_updated")
    assert entry.after["tax_id"] == "DE136695976" and entry.before == {}


def test_editing_keeps_one_row_and_audits_before_and_after(admin_client):
    admin_client.post("/billing/details/", FORM)
    admin_client.post("/billing/details/", {**FORM, "city": "Hamburg", "postal_code": "20095"})
    assert BillingDetails.objects.filter(account=admin_client.account).count() == 1
    entry = AuditEntry.objects.filter(kind="billing.details_updated").order_by("-pk").first()
    assert (entry.before["city"], entry.after["city"]) == ("Berlin", "Hamburg")


@pytest.mark.parametrize("country, tax_id, message", [
    ("DE", "DE123", "not a valid DE VAT number"),
    ("DE", "FR40303265045", "starts with DE"),
    ("GR", "GR094014201", "starts with EL"),
    ("US", "12-34", "EIN of 9 digits"),
    ("ZA", "<script>", "3 to 40 letters"),
])
def test_a_bad_tax_id_is_a_form_error_and_nothing_is_saved(admin_client, country, tax_id, message):
    response = admin_client.post("/billing/details/", {**FORM, "country": country, "tax_id": tax_id})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not BillingDetails.objects.filter(account=admin_client.account).exists()


def test_missing_fields_and_an_unknown_country_are_form_errors(admin_client):
    response = admin_client.post("/billing/details/", {**FORM, "legal_name": "", "country": "ZZ"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "This field is required." in body and "is not one of the available choices" in body


@pytest.mark.parametrize("country, typed, stored", [
    ("DE", "136695976", "DE136695976"),  # the prefix is added
    ("FR", "FR 40 303 265 045", "FR40303265045"),
    ("GR", "EL094014201", "EL094014201"),
    ("US", "042103594", "04-2103594"),
    ("GB", "GB 980780684", "980780684"),
    ("ZA", "4023117925", "4023117925"),  # no check known: kept as typed
    ("US", "", ""),
])
def test_tax_ids_are_normalised_by_country(country, typed, stored):
    assert tax_id_normalise(country=country, tax_id=typed) == stored


def test_a_bad_ein_is_refused_by_the_rule_itself():
    with pytest.raises(TaxIdError):
        tax_id_normalise(country="US", tax_id="1234567890")


def test_the_service_refuses_a_bad_tax_id_whoever_calls_it(paid_account):
    account, _ = paid_account
    with pytest.raises(ServiceError, match="VAT number"):
        billing_details_update(account=account, actor=Actor.system("tests"),
                               **{**FORM, "tax_id": "DE000000000"})
    assert not BillingDetails.objects.filter(account=account).exists()


def test_a_viewer_gets_403_on_billing_details(viewer_client):
    assert viewer_client.get("/billing/details/").status_code == 403
    assert viewer_client.post("/billing/details/", FORM).status_code == 403
    assert not BillingDetails.objects.exists()
