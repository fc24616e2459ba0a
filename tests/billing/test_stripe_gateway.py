"""The Stripe gateway against recorded Stripe responses, replayed at the HTTP boundary: the cases
localstripe cannot show (a decline's exact body, the network failing). tests/billing/
test_localstripe.py runs the same gateway against localstripe."""

import json
from pathlib import Path
from urllib.parse import parse_qs

import pytest
import requests
import responses

from accounts.actors import Actor
from billing.cart import cart_checkout, cart_open, cart_update
from billing.gateways import ChargeState, get_gateway
from billing.models import BillingProfile, Invoice, OrderState, PaymentState

FIXTURES = Path(__file__).parent / "fixtures"
URL = "https://api.stripe.com/v1/payment_intents"


def _recorded(name, **changes):
    return {**json.loads((FIXTURES / name).read_text()), **changes}


@pytest.fixture
def stripe_settings(settings):
    settings.PAYMENT_GATEWAY = "stripe"
    settings.STRIPE_SECRET_KEY = "sk_test_recorded"
    settings.STRIPE_API_BASE = ""
    return settings


def _charge(**overrides):
    arguments = {"key": "pay_1", "amount_cents": 114000, "customer": "cus_1", "payment_method": "pm_card_visa",
                 "metadata": {"order": "1"}}
    return get_gateway().charge(**{**arguments, **overrides})


@responses.activate
def test_a_successful_payment_intent(stripe_settings):
    responses.post(URL, json=_recorded("stripe_payment_intent_succeeded.json"), status=200,
                   headers={"Request-Id": "req_recorded1"})
    result = _charge()
    assert result.state == ChargeState.SUCCEEDED and result.amount_cents == 114000
    assert result.reference == "pi_3QKx8fLkdIwHu7ix0Zb2mN4c"
    request = responses.calls[0].request
    assert request.headers["Authorization"] == "Bearer sk_test_recorded"
    assert request.headers["Idempotency-Key"] == "pay_1"
    form = parse_qs(request.body)
    assert form["amount"] == ["114000"] and form["currency"] == ["usd"] and form["customer"] == ["cus_1"]
    assert form["confirm"] == ["true"] and form["payment_method"] == ["pm_card_visa"]
    assert form["metadata[payment]"] == ["pay_1"], "the attempt's key: the lookup finds a lost charge by it"
    assert "off_session" not in form


@responses.activate
def test_a_renewal_is_charged_off_session(stripe_settings):
    responses.post(URL, json=_recorded("stripe_payment_intent_succeeded.json"), status=200)
    _charge(off_session=True)
    assert parse_qs(responses.calls[0].request.body)["off_session"] == ["true"]


@responses.activate
def test_a_declined_card(stripe_settings):
    responses.post(URL, json=_recorded("stripe_payment_intent_declined.json"), status=402)
    result = _charge(payment_method="pm_card_visa_chargeDeclinedInsufficientFunds")
    assert result.state == ChargeState.DECLINED
    assert result.message == "Your card was declined: insufficient funds."
    assert result.reference == "pi_3QKx9aLkdIwHu7ix1Yd4Rk2s"


@responses.activate
def test_the_network_failing_is_an_unknown_outcome_not_an_exception(stripe_settings):
    responses.post(URL, body=requests.ConnectionError("connection reset"))
    result = _charge(amount_cents=100)
    assert result.state == ChargeState.FAILED and result.outcome_unknown
    assert "not made twice" in result.message


@responses.activate
def test_checkout_through_stripe_pays_and_a_decline_changes_nothing(stripe_settings, paid_account):
    account, admin = paid_account
    BillingProfile.objects.create(account=account, gateway_customer="cus_1", card_payment_method="pm_card_visa",
                                  card_brand="visa", card_last4="4242", card_exp_month=1, card_exp_year=2030)
    actor = Actor.for_user(admin)
    cart = cart_update(cart=cart_open(account=account, actor=actor), plan_code=None, licenses=15,
                       addon_codes=[], actor=actor)
    responses.post(URL, json=_recorded("stripe_payment_intent_declined.json"), status=402)
    declined = cart_checkout(account=account, cart_id=cart.pk, actor=actor, idempotency_key="a",
                             use_card_on_file=True)
    assert declined.order.state == OrderState.FAILED
    account.subscription.refresh_from_db()
    assert account.subscription.licenses == 10 and not Invoice.objects.exists()

    total = declined.order.total_cents
    responses.replace(responses.POST, URL, status=200, json=_recorded(
        "stripe_payment_intent_succeeded.json", amount=total, amount_received=total))
    paid = cart_checkout(account=account, cart_id=cart.pk, actor=actor, idempotency_key="b", use_card_on_file=True)
    assert paid.order.state == OrderState.PAID
    assert paid.payment.reference == "pi_3QKx8fLkdIwHu7ix0Zb2mN4c"
    account.subscription.refresh_from_db()
    assert account.subscription.licenses == 15
    # The second attempt has its own key: the first was definitively declined.
    keys = [call.request.headers["Idempotency-Key"] for call in responses.calls]
    assert keys == list(paid.order.payments.order_by("pk").values_list("key", flat=True)) and len(set(keys)) == 2


@responses.activate
def test_stripe_charging_another_amount_is_held_for_review(stripe_settings, paid_account):
    account, admin = paid_account
    BillingProfile.objects.create(account=account, gateway_customer="cus_1", card_payment_method="pm_card_visa",
                                  card_brand="visa", card_last4="4242", card_exp_month=1, card_exp_year=2030)
    actor = Actor.for_user(admin)
    cart = cart_update(cart=cart_open(account=account, actor=actor), plan_code=None, licenses=15,
                       addon_codes=[], actor=actor)
    responses.post(URL, json=_recorded("stripe_payment_intent_succeeded.json", amount=1, amount_received=1))
    result = cart_checkout(account=account, cart_id=cart.pk, actor=actor, idempotency_key="a", use_card_on_file=True)
    assert result.payment.state == PaymentState.REVIEW and not result.succeeded
    assert not Invoice.objects.exists()
