import pytest
from dateutil.relativedelta import relativedelta

from accounts.models import AuditEntry
from billing.models import Quote
from support.models import AccountSupportPlan
from tests.factories import UserFactory, make_account
from tests.support.conftest import active_plan

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.mark.parametrize("model", ["supportplan", "accountsupportplan", "supportquote",
                                   "entitlementuse", "supportcase"])
def test_support_admin_pages_open(staff_client, premier_account, model):
    assert staff_client.get(f"/admin/support/{model}/").status_code == 200
    assert staff_client.get(f"/admin/support/{model}/?q=Customer").status_code == 200


def test_staff_activate_a_quote_from_the_admin_action(staff_client, paid_account):
    account, _ = paid_account
    quote = Quote.objects.create(account=account, topic="signature", state="accepted", quoted_price_cents=1_000_000)
    requested = Quote.objects.create(account=account, topic="premier", state="requested")
    response = staff_client.post("/admin/support/supportquote/", {
        "action": "activate", "_selected_action": [quote.pk, requested.pk],
    }, follow=True)
    html = response.content.decode()
    assert "Signature active for" in html
    assert f"Quote {requested.pk}: Only an accepted quote activates a support plan." in html
    row = active_plan(account, "signature")
    assert row.quote == quote
    assert AuditEntry.objects.get(kind="support.plan_activated").actor_kind == "staff"
    # A second click changes nothing.
    staff_client.post("/admin/support/supportquote/", {
        "action": "activate", "_selected_action": [quote.pk]})
    assert AccountSupportPlan.objects.filter(quote=quote).count() == 1


def test_staff_renew_from_the_admin_action(staff_client, premier_account):
    row = active_plan(premier_account[0], "premier")
    digital = active_plan(premier_account[0], "digital")
    response = staff_client.post("/admin/support/accountsupportplan/", {
        "action": "renew", "_selected_action": [row.pk, digital.pk]}, follow=True)
    assert "comes with the subscription; it has no term" in response.content.decode()
    ends_on = row.ends_on
    row.refresh_from_db()
    assert row.ends_on == ends_on + relativedelta(months=12)


def test_a_quote_of_another_topic_is_not_in_the_support_list(staff_client):
    account, _ = make_account(plan="professional", licenses=10)
    Quote.objects.create(account=account, topic="activconnect", state="accepted")
    page = staff_client.get("/admin/support/supportquote/")
    assert list(page.context["cl"].result_list) == []


def test_admin_refuses_a_tam_on_premier_as_a_form_error(staff_client, premier_account):
    row = active_plan(premier_account[0], "premier")
    staff = UserFactory(is_staff=True)
    response = staff_client.post(f"/admin/support/accountsupportplan/{row.pk}/change/", {
        "csm": staff.pk, "tam": staff.pk, "entitlement_uses-TOTAL_FORMS": 0,
        "entitlement_uses-INITIAL_FORMS": 0})
    assert response.status_code == 200
    assert "Premier has no dedicated technical account manager." in response.content.decode()
    row.refresh_from_db()
    assert row.csm is None and row.tam is None
