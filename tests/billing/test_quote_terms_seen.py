"""Accepting a quote carries the terms the customer saw (issue 10): staff re-pricing it meanwhile
makes the old page's acceptance refused, and the new price is shown to accept."""

import re

import pytest

from accounts.actors import Actor
from billing.models import Quote
from billing.quotes import quote_request, quote_set_terms
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db


def test_accepting_a_quote_staff_re_priced_since_the_page_was_shown_is_refused(admin_client):
    staff = Actor.for_user(StaffFactory())
    quote = quote_request(account=admin_client.account, topic="data_history", message="", actor=staff)
    quote_set_terms(quote=quote, actor=staff, price_cents=2_400)
    page = admin_client.get(f"/billing/quotes/{quote.pk}/").text
    seen = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page))
    assert "$24.00" in page
    quote_set_terms(quote=quote, actor=staff, price_cents=4_800)  # staff re-price meanwhile

    response = admin_client.post(f"/billing/quotes/{quote.pk}/accept/", seen, follow=True)

    assert Quote.objects.get(pk=quote.pk).state == "quoted"
    assert "changed this quote since you saw it" in response.text
    assert "$48.00" in response.text
    # The page now shows the new price; accepting it works.
    page = admin_client.get(f"/billing/quotes/{quote.pk}/").text
    seen = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page))
    admin_client.post(f"/billing/quotes/{quote.pk}/accept/", seen)
    # Issue 14: accepting a Data History quote fulfils it at once (it needs no staff work).
    assert Quote.objects.get(pk=quote.pk).state == "fulfilled"
