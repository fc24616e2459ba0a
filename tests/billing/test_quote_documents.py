"""Quotes as documents (issue 14, item 5): a gapless QT number, a 30-day validity an expired
quote cannot pass, a PDF, and acceptance that sets up by itself what needs no staff work."""

import threading
from datetime import UTC, datetime

import pytest
import time_machine
from django.db import connection

from accounts.actors import Actor
from accounts.services import ServiceError
from billing.models import Order, OrderKind, Quote, SubscriptionAddOn
from billing.quotes import quote_accept, quote_request, quote_set_terms
from tests.billing.test_documents import pdf_text
from tests.factories import StaffFactory, make_account
from tests.helpers import requires_postgres

pytestmark = pytest.mark.django_db

PRICED = datetime(2026, 11, 2, 15, tzinfo=UTC)


@pytest.fixture
def staff():
    return Actor.for_user(StaffFactory())


def priced_quote(account, staff, topic="data_history", price_cents=2_400, at=None):
    quote = quote_request(account=account, topic=topic, message="", actor=staff)
    if at is None:
        return quote_set_terms(quote=quote, actor=staff, price_cents=price_cents)
    with time_machine.travel(at, tick=False):
        return quote_set_terms(quote=quote, actor=staff, price_cents=price_cents)


def test_a_priced_quote_gets_the_next_qt_number_and_keeps_it_when_re_priced(admin_client, staff):
    first = priced_quote(admin_client.account, staff)
    second = priced_quote(admin_client.account, staff, topic="activconnect")
    assert (first.display_number, second.display_number) == ("QT-000001", "QT-000002")
    again = quote_set_terms(quote=first, actor=staff, price_cents=3_000)
    assert again.display_number == "QT-000001"
    assert "QT-000002" in admin_client.get("/billing/quotes/").text


def test_a_quote_is_valid_thirty_days_then_cannot_be_accepted(admin_client, staff):
    quote = priced_quote(admin_client.account, staff, at=PRICED)
    assert str(quote.expires_on) == "2026-12-02"
    with time_machine.travel(datetime(2026, 12, 2, 20, tzinfo=UTC), tick=False):
        page = admin_client.get(f"/billing/quotes/{quote.pk}/").text
        assert "valid until 2 December 2026" in page and "Accept this quote" in page
    with time_machine.travel(datetime(2026, 12, 3, 9, tzinfo=UTC), tick=False):
        page = admin_client.get(f"/billing/quotes/{quote.pk}/").text
        assert "expired on 2 December 2026" in page and "Accept this quote" not in page
        response = admin_client.post(f"/billing/quotes/{quote.pk}/accept/", follow=True)
        assert "QT-000001 expired on 2 December 2026" in response.text
        with pytest.raises(ServiceError, match="expired"):
            quote_accept(quote=quote, actor=staff)
        assert Quote.objects.get(pk=quote.pk).state == "quoted"
        # Staff re-price it: valid 30 days from then, and accepting works.
        quote_set_terms(quote=quote, actor=staff, price_cents=2_400)
        admin_client.post(f"/billing/quotes/{quote.pk}/accept/")
    assert Quote.objects.get(pk=quote.pk).state == "fulfilled"


def test_accepting_an_add_on_quote_orders_invoices_and_applies_it_at_once(admin_client, staff):
    quote = priced_quote(admin_client.account, staff)
    response = admin_client.post(f"/billing/quotes/{quote.pk}/accept/", follow=True)
    order = Order.objects.get(account=admin_client.account, kind=OrderKind.QUOTE)
    invoice = order.invoices.get()
    assert f"invoice {invoice.display_number} is on the Billing page" in response.text
    assert SubscriptionAddOn.objects.filter(subscription__account=admin_client.account,
                                            addon__code="data_history", unit_price_cents=2_400).exists()
    assert Quote.objects.get(pk=quote.pk).handled_by == staff.user  # staff's name stays on it


def test_a_signature_quote_waits_for_staff_after_acceptance(admin_client, staff):
    quote = priced_quote(admin_client.account, staff, topic="signature", price_cents=1_000_000)
    response = admin_client.post(f"/billing/quotes/{quote.pk}/accept/", follow=True)
    assert Quote.objects.get(pk=quote.pk).state == "accepted"
    assert "our team will set it up" in response.text
    assert not Order.objects.filter(account=admin_client.account, kind=OrderKind.QUOTE).exists()


def test_the_quote_pdf_names_the_number_price_validity_and_parties(admin_client, staff, settings):
    quote = priced_quote(admin_client.account, staff, at=PRICED)
    response = admin_client.get(f"/billing/quotes/{quote.pk}/pdf/")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="QT-000001.pdf"'
    text = pdf_text(response.content)
    for expected in ("Quote", "QT-000001", "Valid until", "2 December 2026", "Data History",
                     "$24.00 per user per year", settings.SELLER["legal_name"], admin_client.account.name):
        assert expected in text, expected


def test_an_unpriced_quote_has_no_pdf_and_another_accounts_is_404(admin_client, staff):
    asked = quote_request(account=admin_client.account, topic="plan", message="", actor=staff)
    assert admin_client.get(f"/billing/quotes/{asked.pk}/pdf/").status_code == 404
    other, _ = make_account(plan="professional", licenses=10)
    theirs = priced_quote(other, staff)
    assert admin_client.get(f"/billing/quotes/{theirs.pk}/pdf/").status_code == 404


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_pricing_gives_gapless_distinct_quote_numbers():
    staff = Actor.for_user(StaffFactory())
    account, _ = make_account(plan="professional", licenses=10)
    asked = [quote_request(account=account, topic="data_history", message="", actor=staff) for _ in range(10)]
    barrier = threading.Barrier(len(asked))
    errors = []

    def price(quote):
        try:
            barrier.wait()
            quote_set_terms(quote=quote, actor=staff, price_cents=2_400)
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=price, args=(quote,)) for quote in asked]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(Quote.objects.values_list("number", flat=True)) == list(range(1, 11))
