"""A gateway that charges and then times out is reconciled to exactly one paid order: the
retry asks with the same gateway key and gets the first charge back (docs/billing.md)."""

import json
from pathlib import Path

import pytest
import requests
import responses

from accounts.actors import Actor
from accounts.services import ServiceError
from billing import cart as cart_module
from billing.cart import PaymentMethod, cart_checkout, cart_open, cart_update
from billing.gateways.sandbox import SandboxGateway
from billing.models import BillingProfile, Invoice, Order, OrderState, Payment, PaymentState
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
    # The lost answer is recorded as "outcome unknown" (issue 10), not as a failure.
    assert [p.state for p in second.order.payments.order_by("pk")] == [PaymentState.UNKNOWN, PaymentState.SUCCEEDED]
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


# --- issue 10: the money defects of the old checkout ------------------------------------------


def _timed_out_cart(account, admin):
    actor, cart = _cart(account, admin)
    first = cart_checkout(account=account, cart_id=cart.pk, actor=actor, idempotency_key="page-1",
                          card=CHARGED_THEN_TIMEOUT_CARD)
    assert first.order.payments.get().state == PaymentState.UNKNOWN
    return actor, cart, first


def test_after_a_lost_answer_the_cart_cannot_change_nor_be_paid_for_another_amount(
    paid_account, sandbox_gateway,
):
    """The old checkout let the customer change the cart after a charge whose answer timed out
    and pay again with the first attempt's key: the card was charged one amount and the order
    and the invoice booked another."""
    account, admin = paid_account
    actor, cart, first = _timed_out_cart(account, admin)
    charged = sandbox_gateway.charges[0][1]
    with pytest.raises(ServiceError, match="still being confirmed"):
        cart_update(cart=cart, plan_code=None, licenses=40, addon_codes=[], actor=actor)
    cart.refresh_from_db()
    assert cart.licenses == 15
    # Even if the cart's price moved (here: staff gave a discount meanwhile), no other amount.
    BillingProfile.objects.update_or_create(account=account, defaults={"discount_percent": 50,
                                                                       "discount_reason": "np"})
    with pytest.raises(ServiceError, match="still being confirmed"):
        cart_checkout(account=account, cart_id=cart.pk, actor=actor, idempotency_key="page-2",
                      card=GOOD_CARD)
    BillingProfile.objects.filter(account=account).update(discount_percent=0)
    paid = cart_checkout(account=account, cart_id=cart.pk, actor=actor, idempotency_key="page-3",
                         card=GOOD_CARD)
    assert paid.succeeded and paid.order.total_cents == charged
    assert Invoice.objects.get(order=paid.order).total_cents == charged
    assert len(sandbox_gateway.charges) == 1


def test_after_a_lost_answer_the_cart_cannot_be_paid_by_invoice(paid_account, sandbox_gateway):
    """The old checkout left a card charge and an open invoice for one order."""
    account, admin = paid_account
    BillingProfile.objects.create(account=account, invoice_eligible=True)
    actor, cart, first = _timed_out_cart(account, admin)
    with pytest.raises(ServiceError, match="cannot be paid another way"):
        cart_checkout(account=account, cart_id=cart.pk, actor=actor, idempotency_key="page-2",
                      payment_method=PaymentMethod.INVOICE)
    assert not Invoice.objects.exists()


def test_a_past_due_account_cannot_buy_on_invoice(paid_account, sandbox_gateway):
    from tests.billing.lifecycle_support import past_due_invoice

    account, admin = paid_account
    BillingProfile.objects.create(account=account, invoice_eligible=True)
    past_due_invoice(account)
    actor, cart = _cart(account, admin)
    with pytest.raises(ServiceError, match="past due: pay it first"):
        cart_checkout(account=account, cart_id=cart.pk, actor=actor, idempotency_key="k",
                      payment_method=PaymentMethod.INVOICE)
    assert not Order.objects.filter(cart=cart).exists()


def test_a_cart_changed_in_another_tab_to_the_same_total_is_refused(admin_client, sandbox_gateway):
    """The old form carried only the total: other lines with the same total were paid unseen."""
    import re

    from billing.cart import cart_fingerprint, cart_quote_for

    account = admin_client.account
    admin = account.memberships.get().user
    actor, cart = _cart(account, admin)
    page = admin_client.get("/cart/").content.decode()
    form = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page))
    assert form["expected_fingerprint"] == cart_fingerprint(cart_quote_for(cart=cart))
    # The second tab: other lines. The attacker-friendly case keeps the total the page showed.
    cart = cart_update(cart=cart, plan_code=None, licenses=16, addon_codes=[], actor=actor)
    form["expected_total_cents"] = str(cart_quote_for(cart=cart).total_cents)
    response = admin_client.post("/cart/checkout/", {**form, "payment_method": "card", "card": GOOD_CARD})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Your cart changed since you saw it" in page, re.findall(r'role="alert".{0,300}', page, re.S)
    assert not Order.objects.exists() and sandbox_gateway.charges == []
