"""A charge whose answer was lost ends in exactly one paid order, or in none: the attempt was
committed before the gateway was called, so the retry, the reconciliation job or a webhook finds
it by its key (docs/billing.md, "Payment attempts")."""

import json
from pathlib import Path

import pytest
import requests
import responses

from accounts.actors import Actor
from accounts.services import ServiceError
from billing import reconciliation
from billing.cart import PaymentMethod, cart_checkout, cart_open, cart_update
from billing.gateways.sandbox import SandboxGateway
from billing.models import BillingProfile, Invoice, Order, OrderState, Payment, PaymentState
from tests.billing.conftest import GOOD_CARD

CHARGED_THEN_TIMEOUT_CARD = "4000 0000 0000 0259"
STRIPE_URL = "https://api.stripe.com/v1/payment_intents"
SUCCEEDED = json.loads((Path(__file__).parent / "fixtures" / "stripe_payment_intent_succeeded.json").read_text())


def _cart(account, admin, licenses=15):
    actor = Actor.for_user(admin)
    return actor, cart_update(cart=cart_open(account=account, actor=actor), plan_code=None, licenses=licenses,
                              addon_codes=[], actor=actor)


def _assert_paid_once(account, order_pk, *, charges):
    order = Order.objects.get(account=account)
    assert order.pk == order_pk and order.state == OrderState.PAID
    paid = Payment.objects.get(order=order, state=PaymentState.SUCCEEDED)
    assert Invoice.objects.filter(order=order).count() == 1 and Invoice.objects.filter(account=account).count() == 1
    assert len(charges) == 1 and charges[0][1] == paid.amount_cents == order.total_cents
    assert Invoice.objects.get(order=order).total_cents == order.total_cents
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
    # The customer is told the payment is being confirmed; the bank did charge.
    assert not first.succeeded and first.payment.state == PaymentState.UNKNOWN
    assert first.order.state == OrderState.PENDING
    assert len(sandbox_gateway.charges) == 1
    assert not Invoice.objects.exists() and mailoutbox == []
    account.subscription.refresh_from_db()
    assert account.subscription.licenses == 10

    with django_capture_on_commit_callbacks(execute=True):
        second = cart_checkout(account=account, cart_id=cart.pk, actor=actor, idempotency_key="page-2",
                               card=retry_card)
    assert second.succeeded and not second.replayed
    _assert_paid_once(account, first.order.pk, charges=sandbox_gateway.charges)
    # One attempt: the retry asked the gateway about it and booked the charge it had made.
    assert list(second.order.payments.values_list("state", flat=True)) == [PaymentState.SUCCEEDED]
    assert second.payment.reference == sandbox_gateway.charges[0][2]
    third = cart_checkout(account=account, cart_id=cart.pk, actor=actor, idempotency_key="page-2", card=GOOD_CARD)
    assert third.replayed and len(sandbox_gateway.charges) == 1
    assert Invoice.objects.count() == 1


def test_the_reconciliation_job_settles_a_lost_answer_without_the_customer(paid_account, sandbox_gateway, settings):
    account, admin = paid_account
    actor, cart = _cart(account, admin)
    first = cart_checkout(account=account, cart_id=cart.pk, actor=actor, idempotency_key="page-1",
                          card=CHARGED_THEN_TIMEOUT_CARD)
    assert first.payment.state == PaymentState.UNKNOWN
    settings.PAYMENT_RECONCILE_AFTER_SECONDS = 3600
    assert reconciliation.payments_reconcile(actor=Actor.job("t")) == 0, "too early: the request may be in flight"
    settings.PAYMENT_RECONCILE_AFTER_SECONDS = 0
    assert reconciliation.payments_reconcile(actor=Actor.job("t")) == 1
    _assert_paid_once(account, first.order.pk, charges=sandbox_gateway.charges)
    assert reconciliation.payments_reconcile(actor=Actor.job("t")) == 0


@responses.activate
def test_stripe_times_out_after_the_charge_and_the_retry_finds_the_payment_intent(settings, paid_account):
    settings.PAYMENT_GATEWAY = "stripe"
    settings.STRIPE_SECRET_KEY = "sk_test_recorded"
    account, admin = paid_account
    BillingProfile.objects.create(account=account, gateway_customer="cus_recorded",
                                  card_payment_method="pm_card_visa", card_brand="visa", card_last4="4242",
                                  card_exp_month=12, card_exp_year=2034)
    actor, cart = _cart(account, admin)
    # Stripe made the PaymentIntent and charged; the response never arrived.
    responses.post(STRIPE_URL, body=requests.Timeout("read timed out"))
    first = cart_checkout(account=account, cart_id=cart.pk, actor=actor, idempotency_key="page-1",
                          use_card_on_file=True)
    assert first.payment.state == PaymentState.UNKNOWN
    assert "not made twice" in first.error and "not charged" not in first.error
    assert not Invoice.objects.exists()

    # The retry first looks the attempt up by its key (Stripe's search): the charge is there.
    found = {**SUCCEEDED, "amount": first.payment.amount_cents, "amount_received": first.payment.amount_cents,
             "metadata": {"payment": first.payment.key}}
    responses.get(f"{STRIPE_URL}/search", json={"object": "search_result", "data": [found], "has_more": False})
    second = cart_checkout(account=account, cart_id=cart.pk, actor=actor, idempotency_key="page-2",
                           use_card_on_file=True)
    assert second.succeeded
    assert second.payment.reference == SUCCEEDED["id"]
    creates = [call for call in responses.calls if call.request.method == "POST"]
    assert len(creates) == 1, "one PaymentIntent created: the retry did not charge again"
    assert creates[0].request.headers["Idempotency-Key"] == first.payment.key
    search = [call for call in responses.calls if "search" in call.request.url][0]
    assert first.payment.key in requests.utils.unquote(search.request.url)


class ProcessKilled(BaseException):
    """The worker dies: nothing after this point runs."""


@pytest.mark.django_db(transaction=True)
def test_the_process_dying_after_the_charge_still_pays_once(paid_account, sandbox_gateway, monkeypatch, settings):
    """The old checkout charged inside its transaction: a worker killed after the charge rolled
    the order back and the retry charged again. Now the attempt was committed first."""
    account, admin = paid_account
    actor, cart = _cart(account, admin)
    real_charge = SandboxGateway.charge

    def charge_then_die(self, **kwargs):
        real_charge(self, **kwargs)
        raise ProcessKilled

    monkeypatch.setattr(SandboxGateway, "charge", charge_then_die)
    with pytest.raises(ProcessKilled):
        cart_checkout(account=account, cart_id=cart.pk, actor=actor, idempotency_key="page-1", card=GOOD_CARD)
    monkeypatch.undo()
    attempt = Payment.objects.get()
    assert attempt.state == PaymentState.PENDING and len(sandbox_gateway.charges) == 1

    # Confirming again at once: the attempt may still be on its way, its page says so.
    again = cart_checkout(account=account, cart_id=cart.pk, actor=actor, idempotency_key="page-2",
                          use_card_on_file=True)
    assert again.replayed and again.payment.pk == attempt.pk and not again.succeeded
    # Later (the worker is gone), confirming again asks the gateway about it: not charged again.
    settings.PAYMENT_RECONCILE_AFTER_SECONDS = 0
    paid = cart_checkout(account=account, cart_id=cart.pk, actor=actor, idempotency_key="page-3",
                         use_card_on_file=True)
    assert paid.succeeded and paid.payment.pk == attempt.pk
    _assert_paid_once(account, paid.order.pk, charges=sandbox_gateway.charges)


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
    BillingProfile.objects.filter(account=account).update(discount_percent=50, discount_reason="np")
    with pytest.raises(ServiceError, match="still being confirmed"):
        cart_checkout(account=account, cart_id=cart.pk, actor=actor, idempotency_key="page-2",
                      card=GOOD_CARD)
    BillingProfile.objects.filter(account=account).update(discount_percent=0)
    paid = cart_checkout(account=account, cart_id=cart.pk, actor=actor, idempotency_key="page-3",
                         card=GOOD_CARD)
    assert paid.succeeded and paid.order.total_cents == charged
    assert Invoice.objects.get(order=paid.order).total_cents == charged
    assert len(sandbox_gateway.charges) == 1


def test_a_charge_of_another_amount_is_never_booked_as_paid(paid_account, sandbox_gateway, settings):
    from billing.models import SandboxCharge

    account, admin = paid_account
    actor, cart, first = _timed_out_cart(account, admin)
    SandboxCharge.objects.update(amount_cents=first.payment.amount_cents + 100_000)
    settings.PAYMENT_RECONCILE_AFTER_SECONDS = 0
    reconciliation.payments_reconcile(actor=Actor.job("t"))
    first.payment.refresh_from_db()
    assert first.payment.state == PaymentState.REVIEW
    assert Order.objects.get().state == OrderState.PENDING and not Invoice.objects.exists()
    account.subscription.refresh_from_db()
    assert account.subscription.licenses == 10
    with pytest.raises(ServiceError, match="still being confirmed"):
        cart_checkout(account=account, cart_id=cart.pk, actor=actor, idempotency_key="x", card=GOOD_CARD)


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


def test_the_fingerprint_does_not_depend_on_how_the_discount_was_read(paid_account, sandbox_gateway):
    """A card saved just before paying made the account's billing profile: its 0.00 discount
    read from the database must not look like a changed cart."""
    from billing.cart import cart_fingerprint, cart_quote_for

    account, admin = paid_account
    actor, cart = _cart(account, admin)
    before = cart_fingerprint(cart_quote_for(cart=cart))
    BillingProfile.objects.create(account=account)
    assert cart_fingerprint(cart_quote_for(cart=cart)) == before


def test_staff_refund_a_charge_under_review_once_and_the_cart_can_be_paid_again(
    client, paid_account, sandbox_gateway, settings,
):
    from django.contrib.auth.models import Group

    from accounts.models import AuditEntry
    from billing.models import SandboxCharge
    from tests.factories import StaffFactory

    account, admin = paid_account
    actor, cart, first = _timed_out_cart(account, admin)
    SandboxCharge.objects.update(amount_cents=first.payment.amount_cents + 100_000)
    settings.PAYMENT_RECONCILE_AFTER_SECONDS = 0
    reconciliation.payments_reconcile(actor=Actor.job("t"))
    order = Order.objects.get()
    url = f"/admin/billing/order/{order.pk}/act/review-refund/"

    sales = StaffFactory()
    sales.groups.add(Group.objects.get(name="Sales"))
    client.force_login(sales)
    assert client.post(url, {"reason": "x"}).status_code == 403
    clerk = StaffFactory()
    clerk.groups.add(Group.objects.get(name="Billing"))
    client.force_login(clerk)
    assert "Refund the charge under review" in client.get(f"/admin/billing/order/{order.pk}/change/").text
    client.post(url, {"reason": "charged the wrong amount; customer told"})
    client.post(url, {"reason": "clicked twice"})  # refused: refunded already

    payment = Payment.objects.get(order=order)
    assert payment.state == PaymentState.REVIEW and payment.refunded_cents == payment.charged_cents
    assert SandboxGateway.refunds() == [(f"review-{payment.pk}", payment.reference, payment.charged_cents)]
    assert AuditEntry.objects.filter(account=account, kind="payment.review_refunded").count() == 1
    # The cart is no longer frozen: the customer pays it, once, at its own price.
    paid = cart_checkout(account=account, cart_id=cart.pk, actor=actor, idempotency_key="after-refund",
                         card=GOOD_CARD)
    assert paid.succeeded and paid.order.pk == order.pk
    assert Invoice.objects.get(order=order).total_cents == first.payment.amount_cents
