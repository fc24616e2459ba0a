"""A gateway that charges and then times out is reconciled to exactly one paid order: the
retry asks with the same gateway key and gets the first charge back (docs/billing.md)."""

import json
from pathlib import Path

import pytest
import requests
import responses

from accounts.actors import Actor
from billing import cart as cart_module
from billing.cart import cart_checkout, cart_open, cart_update
from billing.gateways.sandbox import SandboxGateway
from billing.models import Invoice, Order, OrderState, Payment, PaymentState
from tests.billing.conftest import GOOD_CARD

CHARGED_THEN_TIMEOUT_CARD = "4000 0000 0000 0259"
STRIPE_URL = "https://api.stripe.com/v1/payment_intents"
SUCCEEDED = json.loads((Path(__file__).parent / "fixtures" / "stripe_payment_intent_succeeded.json").read_text())


def _cart(account, admin):
    actor = Actor.for_user(admin)
    return actor, cart_update(cart=cart_open(account=account, actor=actor), plan_code=None, licenses=15,
                              addon_codes=[], actor=actor)


def _assert_paid_once(account, order_pk, *, total_cents=None):
    order = Order.objects.get(account=account)
    assert order.pk == order_pk and order.state == OrderState.PAID
    assert Payment.objects.filter(order=order, state=PaymentState.SUCCEEDED).count() == 1
    invoices = Invoice.objects.filter(order=order)
    assert invoices.count() == 1 and Invoice.objects.filter(account=account).count() == 1
    account.subscription.refresh_from_db()
    assert account.subscription.licenses == 15


@pytest.mark.parametrize("retry_card", [CHARGED_THEN_TIMEOUT_CARD, GOOD_CARD])
def test_sandbox_charged_then_timed_out_is_paid_once_on_retry(paid_account, sandbox_gateway, retry_card,
                                                              mailoutbox, django_capture_on_commit_callbacks):
    account, admin = paid_account
    actor, cart = _cart(account, admin)
    with django_capture_on_commit_callbacks(execute=True):
        first = cart_checkout(account=account, cart_id=cart.pk, actor=actor, idempotency_key="page-1",
                              card=CHARGED_THEN_TIMEOUT_CARD)
    # The customer sees a failure to retry; the bank did charge.
    assert first.order.state == OrderState.FAILED
    assert "did not answer in time" in first.error
    assert len(sandbox_gateway.charges) == 1
    assert not Invoice.objects.exists()
    account.subscription.refresh_from_db()
    assert account.subscription.licenses == 10

    with django_capture_on_commit_callbacks(execute=True):
        second = cart_checkout(account=account, cart_id=cart.pk, actor=actor, idempotency_key="page-2",
                               card=retry_card)
    assert second.succeeded and not second.replayed
    _assert_paid_once(account, first.order.pk)
    assert len(sandbox_gateway.charges) == 1, "the retry charged again"
    assert second.order.payments.get(state=PaymentState.SUCCEEDED).reference == sandbox_gateway.charges[0][2]
    assert [p.state for p in second.order.payments.order_by("pk")] == [PaymentState.FAILED, PaymentState.SUCCEEDED]
    # A third submission (the page's key again) is a replay: nothing more.
    third = cart_checkout(account=account, cart_id=cart.pk, actor=actor, idempotency_key="page-2", card=GOOD_CARD)
    assert third.replayed and len(sandbox_gateway.charges) == 1
    assert Invoice.objects.count() == 1


@responses.activate
def test_stripe_confirm_times_out_after_the_charge_and_the_retry_gets_the_payment_intent(settings, paid_account):
    settings.PAYMENT_GATEWAY = "stripe"
    settings.STRIPE_SECRET_KEY = "sk_test_recorded"
    account, admin = paid_account
    actor, cart = _cart(account, admin)
    # Stripe made the PaymentIntent and charged; the response never arrived.
    responses.post(STRIPE_URL, body=requests.Timeout("read timed out"))
    first = cart_checkout(account=account, cart_id=cart.pk, actor=actor, idempotency_key="page-1",
                          card="pm_card_visa")
    assert first.order.state == OrderState.FAILED
    assert "not made twice" in first.error and "not charged" not in first.error
    assert not Invoice.objects.exists()

    # The repeated idempotency key: Stripe answers with the PaymentIntent it made the first time.
    responses.replace(responses.POST, STRIPE_URL, json=SUCCEEDED, status=200,
                      headers={"Idempotent-Replayed": "true"})
    second = cart_checkout(account=account, cart_id=cart.pk, actor=actor, idempotency_key="page-2",
                           card="pm_card_visa")
    assert second.succeeded
    _assert_paid_once(account, first.order.pk)
    assert second.order.payments.get(state=PaymentState.SUCCEEDED).reference == SUCCEEDED["id"]
    keys = [call.request.headers["Idempotency-Key"] for call in responses.calls]
    assert keys == [f"cart-{cart.pk}-attempt-1"] * 2, "one charge at Stripe: both calls carry the same key"


class ProcessKilled(BaseException):
    """The worker dies: nothing after this point runs, the open transaction rolls back."""


@pytest.mark.django_db(transaction=True)
def test_the_process_dying_after_the_charge_before_the_commit_still_pays_once(paid_account, sandbox_gateway,
                                                                               monkeypatch):
    account, admin = paid_account
    actor, cart = _cart(account, admin)
    real_charge = SandboxGateway.charge

    def charge_then_die(self, **kwargs):
        real_charge(self, **kwargs)
        raise ProcessKilled

    monkeypatch.setattr(SandboxGateway, "charge", charge_then_die)
    with pytest.raises(ProcessKilled):
        cart_checkout(account=account, cart_id=cart.pk, actor=actor, idempotency_key="page-1", card=GOOD_CARD)
    assert not Order.objects.exists(), "the order was rolled back with the transaction"
    assert len(sandbox_gateway.charges) == 1
    monkeypatch.undo()

    # The customer reloads and confirms again: a new order row (a new id on PostgreSQL).
    paid = cart_checkout(account=account, cart_id=cart.pk, actor=actor, idempotency_key="page-2", card=GOOD_CARD)
    assert paid.succeeded
    _assert_paid_once(account, paid.order.pk)
    assert len(sandbox_gateway.charges) == 1, "the retry charged again"
    assert cart_module._gateway_key(paid.order) == f"cart-{cart.pk}-attempt-1"
