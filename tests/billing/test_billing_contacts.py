"""Issue 14, item 2: up to 5 billing contact emails per account, edited by an Admin on the
Billing details page, receive every money email beside the Admins and Billing members."""

import pytest
from django.test import Client

from accounts.models import AuditEntry, BillingContact, OutboundEmail
from accounts.selectors import billing_emails, billing_emails_by_account
from tests.billing.test_billing_details import FORM
from tests.factories import make_account

pytestmark = pytest.mark.django_db


def _save(client, contacts, **extra):
    return client.post("/billing/details/", {**FORM, "billing_contacts": contacts, **extra})


def test_an_admin_adds_billing_contacts_who_then_receive_money_emails(admin_client):
    response = _save(admin_client, "ap@customer.example\nFinance@Customer.example, ap@customer.example")
    assert response.status_code == 302
    account = admin_client.account
    assert sorted(BillingContact.objects.filter(account=account).values_list("email", flat=True)) == [
        "ap@customer.example", "finance@customer.example"]
    recipients = billing_emails(account_id=account.pk)
    assert "ap@customer.example" in recipients and "finance@customer.example" in recipients
    assert account.memberships.get().user.email in recipients
    page = admin_client.get("/billing/details/").content.decode()
    assert "ap@customer.example" in page and "finance@customer.example" in page
    entry = AuditEntry.objects.get(account=account, kind="billing.contacts_updated")
    assert entry.before == {"contacts": []}
    assert entry.after == {"contacts": ["ap@customer.example", "finance@customer.example"]}

    # Removing one keeps the other; the details saved again do not audit unchanged contacts twice.
    assert _save(admin_client, "finance@customer.example").status_code == 302
    assert list(BillingContact.objects.filter(account=account).values_list("email", flat=True)) == [
        "finance@customer.example"]
    assert "ap@customer.example" not in billing_emails(account_id=account.pk)


def test_an_invoice_email_reaches_the_billing_contacts(admin_client):
    from tests.billing.test_payments import _invoice_with_order

    _save(admin_client, "ap@customer.example")
    invoice = _invoice_with_order(admin_client.account)
    email = OutboundEmail.objects.get(subject=f"Invoice {invoice.display_number}")
    assert "ap@customer.example" in email.recipients.splitlines()


@pytest.mark.parametrize("contacts, message", [
    ("not-an-email", "not-an-email is not an email address"),
    ("a@x.example b@x.example c@x.example d@x.example e@x.example f@x.example", "At most 5"),
])
def test_bad_contacts_are_a_form_error_and_nothing_is_saved(admin_client, contacts, message):
    response = _save(admin_client, contacts)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not BillingContact.objects.filter(account=admin_client.account).exists()


def test_one_accounts_contacts_never_reach_another(admin_client):
    other, other_admin = make_account(plan="professional", licenses=10, name="Other")
    _save(admin_client, "ap@customer.example")
    client = Client()
    client.force_login(other_admin)
    assert "ap@customer.example" not in client.get("/billing/details/").content.decode()
    by_account = billing_emails_by_account(account_ids=[admin_client.account.pk, other.pk])
    assert "ap@customer.example" not in by_account[other.pk]
    assert "ap@customer.example" in by_account[admin_client.account.pk]


def test_the_selector_reads_contacts_in_constant_queries(admin_client, django_assert_num_queries):
    _save(admin_client, "ap@customer.example")
    accounts = [make_account(plan="professional", licenses=10, name=f"A{i}")[0] for i in range(3)]
    with django_assert_num_queries(2):
        billing_emails_by_account(account_ids=[admin_client.account.pk] + [a.pk for a in accounts])
