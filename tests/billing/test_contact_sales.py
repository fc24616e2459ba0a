"""The public "Contact sales" form (issue 15): a visitor leaves a lead for staff, an account
Admin's message becomes a real quote request; staff are emailed and the sender gets a receipt."""

import pytest
from django.core import mail
from django.test import Client, TestCase, override_settings

from accounts.models import AuditEntry, Role
from billing.models import Quote, SalesLead
from tests.factories import add_member, make_account

pytestmark = pytest.mark.django_db

URL = "/contact-sales/"


def _post(client, ip="198.51.100.1", **data):
    form = {"name": "Ada Lovelace", "email": "ada@example.org", "company": "Analytical Ltd",
            "topic": "nonprofit", "message": "We are a charity of 40 people.", "website": ""}
    return _sent(client, form | data, REMOTE_ADDR=ip)


def _sent(client, data, **extra):
    """Posts the form; the emails it queued are delivered as the commit would."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(URL, data, **extra)


@override_settings(STAFF_EMAIL="sales-team@example.com")
def test_a_visitor_leaves_a_lead_staff_are_told_and_the_sender_gets_a_receipt(client):
    page = client.get(URL)
    assert page.status_code == 200 and "Contact sales" in page.text and "csrfmiddlewaretoken" in page.text
    response = _post(client, ip="198.51.100.10")
    assert response.status_code == 302 and response.url == "/contact-sales/thanks/"
    lead = SalesLead.objects.get()
    assert (lead.name, lead.email, lead.company, lead.topic) == (
        "Ada Lovelace", "ada@example.org", "Analytical Ltd", "nonprofit")
    assert not Quote.objects.exists()
    to = {tuple(m.to): m for m in mail.outbox}
    assert "Nonprofit discount" in to[("sales-team@example.com",)].body
    assert "ada@example.org" in to[("sales-team@example.com",)].body
    assert "We are a charity" in to[("sales-team@example.com",)].body
    receipt = to[("ada@example.org",)]
    assert "received" in receipt.subject.lower() and "Nonprofit discount" in receipt.body
    assert "Thanks" in client.get(response.url).text


def test_without_staff_email_the_server_email_is_told(client, settings):
    settings.STAFF_EMAIL = ""
    settings.SERVER_EMAIL = "root@example.net"
    _post(client, ip="198.51.100.11", email="bo@example.org")
    assert {m.to[0] for m in mail.outbox} == {"root@example.net", "bo@example.org"}


def test_a_free_accounts_admin_gets_a_real_quote_request(client):
    account, admin = make_account(plan="free")
    client.force_login(admin)
    page = client.get(URL)
    assert account.name in page.text  # no name and email to type: they are known
    response = _sent(client, {"topic": "premier", "message": "Premier for next year", "website": ""})
    quote = Quote.objects.get(account=account)
    assert response.status_code == 302 and response.url == f"/billing/quotes/{quote.pk}/"
    assert (quote.topic, quote.message, quote.requested_by) == ("premier", "Premier for next year", admin)
    assert not SalesLead.objects.exists()
    assert AuditEntry.objects.filter(kind="quote.requested", account=account).exists()
    assert any(admin.email in m.to for m in mail.outbox)  # the receipt


def test_a_member_who_is_not_an_admin_leaves_a_lead_with_their_login(client):
    account, _ = make_account(plan="professional", licenses=10)
    viewer = add_member(account, Role.VIEWER)
    client.force_login(viewer)
    response = client.post(
        URL, {"name": "Vi", "topic": "signature", "message": "Our Admin is away", "website": ""},
        REMOTE_ADDR="198.51.100.12",
    )
    assert response.status_code == 302
    lead = SalesLead.objects.get()
    assert lead.email == viewer.email and lead.company == account.name
    assert not Quote.objects.exists()


def test_a_filled_honeypot_looks_sent_but_stores_and_sends_nothing(client):
    response = _post(client, ip="198.51.100.13", website="http://spam.example")
    assert response.status_code == 302 and response.url == "/contact-sales/thanks/"
    assert not SalesLead.objects.exists() and mail.outbox == []


@pytest.mark.parametrize("data, error", [
    ({"email": "not-an-email"}, "Enter a valid email address"),
    ({"topic": "enterprise"}, "Select a valid choice"),
    ({"message": ""}, "This field is required"),
    ({"name": ""}, "This field is required"),
])
def test_bad_input_is_a_form_error(client, data, error):
    response = _post(client, ip="198.51.100.14", **data)
    assert response.status_code == 200 and error in response.text
    assert not SalesLead.objects.exists()


def test_the_form_needs_its_csrf_token(db):
    client = Client(enforce_csrf_checks=True)
    response = _post(client, ip="198.51.100.15")
    assert response.status_code == 403 and not SalesLead.objects.exists()


def test_one_address_is_held_back_past_the_limit(client, settings):
    settings.CONTACT_SALES_LIMIT_PER_IP = 2
    for n in range(2):
        assert _post(client, ip="198.51.100.16", email=f"p{n}@example.org").status_code == 302
    response = _post(client, ip="198.51.100.16", email="p9@example.org")
    assert response.status_code == 429 and "try again later" in response.text
    assert SalesLead.objects.count() == 2


def test_one_email_is_held_back_past_the_limit_whatever_the_ip(client, settings):
    settings.CONTACT_SALES_LIMIT_PER_EMAIL = 1
    assert _post(client, ip="198.51.100.17", email="Same@Example.org").status_code == 302
    response = _post(client, ip="198.51.100.18", email="same@example.org")
    assert response.status_code == 429
    assert SalesLead.objects.count() == 1 and len(mail.outbox) == 2  # only the first one's


def test_pricing_and_every_page_footer_link_to_it(client):
    assert 'href="/contact-sales/"' in client.get("/pricing/").text
    assert 'href="/contact-sales/"' in client.get("/login/").text


def test_staff_see_leads_in_the_admin(admin_client, django_user_model):
    from tests.factories import StaffFactory

    SalesLead.objects.create(name="Ada", email="ada@example.org", topic="premier", message="hi")
    staff = StaffFactory(is_superuser=True)
    client = Client()
    client.force_login(staff)
    response = client.get("/admin/billing/saleslead/")
    assert response.status_code == 200 and "ada@example.org" in response.text


def test_the_page_and_a_post_take_a_fixed_number_of_queries(client, django_assert_max_num_queries):
    with django_assert_max_num_queries(0):
        assert client.get(URL).status_code == 200  # a visitor's page reads nothing
    form = {"name": "Q", "email": "q@example.org", "topic": "premier", "message": "hi", "website": ""}
    # The request only: the lead and the two queued emails (and their savepoints); the emails
    # are delivered by the task cluster after the commit.
    with django_assert_max_num_queries(9):
        assert client.post(URL, form, REMOTE_ADDR="198.51.100.19").status_code == 302
