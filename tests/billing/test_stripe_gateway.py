"""The Stripe gateway against recorded Stripe responses, replayed at the HTTP boundary."""

import json
from pathlib import Path
from urllib.parse import parse_qs

import pytest
import requests
import responses

from accounts.actors import Actor
from billing.cart import cart_checkout, cart_open, cart_update
from billing.gateways import ChargeState, get_gateway
from billing.models import Invoice, OrderState

FIXTURES = Path(__file__).parent / "fixtures"
URL = "https://api.stripe.com/v1/payment_intents"


def _recorded(name):
    return json.loads((FIXTURES / name).read_text())


@pytest.fixture
def stripe_settings(settings):
    settings.PAYMENT_GATEWAY = "stripe"
    settings.STRIPE_SECRET_KEY = "sk_test_recorded"
    return settings


@responses.activate
def test_a_successful_payment_intent(stripe_settings):
    responses.post(URL, json=_recorded("stripe_payment_intent_succeeded.json"), status=200,
                   headers={"Request-Id": "req_recorded1"})
    result = get_gateway().charge(amount_cents=114000, card="pm_card_visa", idempotency_key="order-1-attempt-1",
                                  description="Order 1 of Customer 1", metadata={"order": "1"})
    assert result.state == ChargeState.SUCCEEDED
    assert result.reference == "pi_3QKx8fLkdIwHu7ix0Zb2mN4c"
    request = responses.calls[0].request
    assert request.headers["Authorization"] == "Bearer sk_test_recorded"
    assert request.headers["Idempotency-Key"] == "order-1-attempt-1"
    form = parse_qs(request.body)
    assert form["amount"] == ["114000"] and form["currency"] == ["usd"]
    assert form["confirm"] == ["true"] and form["payment_method"] == ["pm_card_visa"]


@responses.activate
def test_a_declined_card(stripe_settings):
    responses.post(URL, json=_recorded("stripe_payment_intent_declined.json"), status=402)
    result = get_gateway().charge(amount_cents=114000, card="pm_card_visa_chargeDeclinedInsufficientFunds",
                                  idempotency_key="k")
    assert result.state == ChargeState.DECLINED
    assert result.message == "Your card was declined: insufficient funds."
    assert result.reference == "pi_3QKx9aLkdIwHu7ix1Yd4Rk2s"


@responses.activate
def test_the_network_failing_is_a_failed_charge_not_an_exception(stripe_settings):
    responses.post(URL, body=requests.ConnectionError("connection reset"))
    result = get_gateway().charge(amount_cents=100, card="pm_card_visa", idempotency_key="k")
    assert result.state == ChargeState.FAILED
    assert "not made twice" in result.message


@responses.activate
def test_checkout_through_stripe_pays_and_a_decline_changes_nothing(stripe_settings, paid_account):
    account, admin = paid_account
    actor = Actor.for_user(admin)
    cart = cart_update(cart=cart_open(account=account, actor=actor), plan_code=None, licenses=15,
                       addon_codes=[], actor=actor)
    responses.post(URL, json=_recorded("stripe_payment_intent_declined.json"), status=402)
    declined = cart_checkout(account=account, cart_id=cart.pk, actor=actor, idempotency_key="a",
                             card="pm_card_chargeDeclinedInsufficientFunds")
    assert declined.order.state == OrderState.FAILED
    account.subscription.refresh_from_db()
    assert account.subscription.licenses == 10 and not Invoice.objects.exists()

    responses.replace(responses.POST, URL, json=_recorded("stripe_payment_intent_succeeded.json"), status=200)
    paid = cart_checkout(account=account, cart_id=cart.pk, actor=actor, idempotency_key="b", card="pm_card_visa")
    assert paid.order.state == OrderState.PAID
    assert paid.order.payments.latest("pk").reference == "pi_3QKx8fLkdIwHu7ix0Zb2mN4c"
    account.subscription.refresh_from_db()
    assert account.subscription.licenses == 15
    # The second attempt used a new gateway key: the first one was definitively declined.
    keys = [call.request.headers["Idempotency-Key"] for call in responses.calls]
    assert keys == [f"cart-{cart.pk}-attempt-1", f"cart-{cart.pk}-attempt-2"]
