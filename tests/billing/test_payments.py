"""Paying after the cart: 3-D Secure on the attempt's page, the card on file, an open invoice paid
online, the renewal charged to the card on file with dunning, and Stripe's webhooks (signed,
stored once, processed in any order). The sandbox gateway stands in for Stripe except for the
webhooks, which are signed the way Stripe signs them."""

import hashlib
import hmac
import json
import re
import time
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from accounts.actors import Actor
from accounts.models import AuditEntry, OutboundEmail
from billing import collection, payments
from billing.cart import cart_checkout, cart_open, cart_update
from billing.lifecycle import subscriptions_renew
from billing.models import (
    BillingProfile,
    GatewayEvent,
    Invoice,
    InvoiceState,
    Order,
    OrderState,
    Payment,
    PaymentState,
)
from tests.billing.conftest import GOOD_CARD
from tests.billing.lifecycle_support import JOB, paid_account_since

pytestmark = pytest.mark.django_db

THREE_D_SECURE = "4000 0027 6000 3184"
ON_SESSION_3DS = "4000 0025 0000 3155"
DECLINED_AT_CHARGE = "4000 0000 0000 0341"


def _form(page):
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page))


def _cart_page_checkout(client, card):
    client.post("/cart/", {"plan": "", "licenses": 15, "addons": []})
    form = _form(client.get("/cart/").content.decode())
    return client.post("/cart/checkout/", {**form, "payment_method": "card", "card": card})


def test_three_d_secure_in_the_browser_then_paid(admin_client, sandbox_gateway):
    response = _cart_page_checkout(admin_client, THREE_D_SECURE)
    payment = Payment.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/billing/payments/{payment.pk}/"
    assert payment.state == PaymentState.REQUIRES_ACTION and sandbox_gateway.charges == []
    page = admin_client.get(response["Location"]).content.decode()
    assert "Your bank asks you to confirm this payment" in page
    # The cart is frozen meanwhile: no other way to pay it, no change.
    changed = admin_client.post("/cart/", {"plan": "", "licenses": 20, "addons": []})
    assert "still being confirmed" in changed.content.decode()
    done = admin_client.post(f"/billing/payments/{payment.pk}/confirm/", {"decision": "complete"})
    order = Order.objects.get()
    assert done["Location"] == f"/billing/orders/{order.pk}/"
    assert order.state == OrderState.PAID and len(sandbox_gateway.charges) == 1
    assert Invoice.objects.get(order=order).state == InvoiceState.PAID


def test_a_failed_authentication_says_so_and_the_cart_can_be_paid_with_another_card(admin_client, sandbox_gateway):
    _cart_page_checkout(admin_client, THREE_D_SECURE)
    payment = Payment.objects.get()
    response = admin_client.post(f"/billing/payments/{payment.pk}/confirm/", {"decision": "fail"}, follow=True)
    assert "confirmation failed: you were not charged" in response.content.decode()
    assert Order.objects.get().state == OrderState.FAILED
    again = _cart_page_checkout(admin_client, GOOD_CARD)
    assert again.status_code == 302 and Order.objects.get().state == OrderState.PAID
    assert len(sandbox_gateway.charges) == 1


def test_cancelling_a_payment_waiting_for_authentication(admin_client, sandbox_gateway):
    _cart_page_checkout(admin_client, THREE_D_SECURE)
    payment = Payment.objects.get()
    admin_client.post(f"/billing/payments/{payment.pk}/cancel/")
    payment.refresh_from_db()
    assert payment.state == PaymentState.FAILED and sandbox_gateway.charges == []


def test_another_accounts_payment_page_is_a_404(admin_client, sandbox_gateway):
    from tests.factories import make_account

    other, other_admin = make_account(plan="professional", licenses=10)
    actor = Actor.for_user(other_admin)
    cart = cart_update(cart=cart_open(account=other, actor=actor), plan_code=None, licenses=15,
                       addon_codes=[], actor=actor)
    result = cart_checkout(account=other, cart_id=cart.pk, actor=actor, idempotency_key="k", card=THREE_D_SECURE)
    pk = result.payment.pk
    assert admin_client.get(f"/billing/payments/{pk}/").status_code == 404
    assert admin_client.post(f"/billing/payments/{pk}/confirm/", {"decision": "complete"}).status_code == 404
    assert admin_client.post(f"/billing/payments/{pk}/cancel/").status_code == 404
    result.payment.refresh_from_db()
    assert result.payment.state == PaymentState.REQUIRES_ACTION and sandbox_gateway.charges == []


def test_the_card_on_file_is_shown_replaced_and_used(admin_client, sandbox_gateway):
    assert "No card on file" in admin_client.get("/billing/").content.decode()
    response = admin_client.post("/billing/card/", {"card": "5555 5555 5555 4444"})
    assert response.status_code == 302
    assert "Mastercard ending 4444, expires 12/2034" in admin_client.get("/billing/").content.decode()
    bad = admin_client.post("/billing/card/", {"card": "1234 5678 9012 3456"})
    assert bad.status_code == 400 and "not a sandbox test card" in bad.content.decode()
    assert BillingProfile.objects.get().card_last4 == "4444"
    assert AuditEntry.objects.filter(kind="billing.card_saved").count() == 1
    # The cart offers the card on file.
    admin_client.post("/cart/", {"plan": "", "licenses": 15, "addons": []})
    page = admin_client.get("/cart/").content.decode()
    assert "Pay with Mastercard ending 4444" in page
    paid = admin_client.post("/cart/checkout/", {**_form(page), "payment_method": "card", "use_card_on_file": "on"})
    assert paid.status_code == 302 and Order.objects.get().state == OrderState.PAID


def test_an_open_invoice_is_paid_online(admin_client, sandbox_gateway):
    account = admin_client.account
    invoice = _invoice_with_order(account)
    page = admin_client.get(f"/billing/invoices/{invoice.pk}/").content.decode()
    assert f"/billing/invoices/{invoice.pk}/pay/" in page
    response = admin_client.post(f"/billing/invoices/{invoice.pk}/pay/", {"card": GOOD_CARD})
    assert response.status_code == 302
    invoice.refresh_from_db()
    assert invoice.state == InvoiceState.PAID
    assert sandbox_gateway.charges[0][1] == invoice.total_cents
    again = admin_client.post(f"/billing/invoices/{invoice.pk}/pay/", {"card": GOOD_CARD})
    assert again.status_code == 302 and len(sandbox_gateway.charges) == 1


def _invoice_with_order(account, total_cents=12_000):
    from billing.invoices import invoice_issue_for_order
    from billing.models import OrderKind, OrderLine

    order = Order.objects.create(account=account, kind=OrderKind.QUOTE, state=OrderState.INVOICED,
                                 total_cents=total_cents)
    OrderLine.objects.create(order=order, description="Data History", quantity=1, unit_price_cents=total_cents,
                             days=365, term_days=365, amount_cents=total_cents)
    return invoice_issue_for_order(order=order, actor=JOB, paid=False)


# --- the renewal charged to the card on file, and dunning --------------------------------------

TERM_START = date(2026, 4, 15)
RENEWAL_MORNING = datetime(2027, 4, 15, 2, tzinfo=UTC)


def _renewing_account(card):
    account, admin = paid_account_since(TERM_START, plan="essentials", licenses=10)
    payments.card_save(account=account, actor=Actor.for_user(admin), setup=card)
    return account


def test_a_renewal_is_charged_to_the_card_on_file(sandbox_gateway):
    account = _renewing_account(GOOD_CARD)
    with time_machine.travel(RENEWAL_MORNING, tick=False):
        subscriptions_renew(actor=JOB)
        invoice = Invoice.objects.get(account=account)
        assert invoice.state == InvoiceState.OPEN and invoice.next_collection_at is not None
        assert collection.invoices_collect(actor=JOB) == {"paid": 1, "failed": 0, "authentication": 0}
    invoice.refresh_from_db()
    assert invoice.state == InvoiceState.PAID
    payment = Payment.objects.get()
    assert payment.off_session and payment.amount_cents == invoice.total_cents == sandbox_gateway.charges[0][1]
    assert collection.invoices_collect(actor=JOB)["paid"] == 0, "a second run charges nothing"


def test_a_failed_renewal_charge_is_retried_on_the_dunning_schedule_with_emails(sandbox_gateway):
    account = _renewing_account(DECLINED_AT_CHARGE)
    tries = []
    for day in (0, 3, 5, 7, 9):
        with time_machine.travel(RENEWAL_MORNING + timedelta(days=day, hours=1), tick=False):
            if day == 0:
                subscriptions_renew(actor=JOB)
            tries.append(collection.invoices_collect(actor=JOB)["failed"])
    assert tries == [1, 1, 1, 1, 0], "days 0, 3, 5, 7, then no more"
    invoice = Invoice.objects.get(account=account)
    assert invoice.collection_attempts == len(collection.DUNNING_DAYS) and invoice.next_collection_at is None
    retry_emails = OutboundEmail.objects.filter(subject__startswith="We could not charge your card")
    assert retry_emails.count() == 4
    bodies = [email.body for email in retry_emails.order_by("pk")]
    assert "We will try again on 18 April 2027" in bodies[0] and "/billing/card/" in bodies[0]
    assert "We will not try again automatically" in bodies[-1]
    assert invoice.state == InvoiceState.OPEN, "past due only on its due date, by the existing rule"


def test_a_new_card_during_dunning_is_tried_at_the_next_run(sandbox_gateway):
    account = _renewing_account(DECLINED_AT_CHARGE)
    with time_machine.travel(RENEWAL_MORNING, tick=False):
        subscriptions_renew(actor=JOB)
        collection.invoices_collect(actor=JOB)
    with time_machine.travel(RENEWAL_MORNING + timedelta(days=1), tick=False):
        admin = account.memberships.get().user
        payments.card_save(account=account, actor=Actor.for_user(admin), setup=GOOD_CARD)
        assert collection.invoices_collect(actor=JOB)["paid"] == 1
    assert Invoice.objects.get(account=account).state == InvoiceState.PAID


def test_a_renewal_card_that_needs_authentication_emails_a_link(sandbox_gateway):
    _renewing_account(THREE_D_SECURE)
    with time_machine.travel(RENEWAL_MORNING, tick=False):
        subscriptions_renew(actor=JOB)
        assert collection.invoices_collect(actor=JOB)["authentication"] == 1
    payment = Payment.objects.get()
    email = OutboundEmail.objects.get(subject="Your bank asks you to confirm a payment")
    assert f"/billing/payments/{payment.pk}/" in email.body
    # A card that only authenticates on session (Stripe's 3155) renews off-session without it.
    other = _renewing_account(ON_SESSION_3DS)
    with time_machine.travel(RENEWAL_MORNING, tick=False):
        subscriptions_renew(actor=JOB)
        assert collection.invoices_collect(actor=JOB)["paid"] == 1
    assert Invoice.objects.get(account=other).state == InvoiceState.PAID


# --- webhooks ----------------------------------------------------------------------------------

SECRET = "whsec_test_secret"


def _signed(client, event, secret=SECRET):
    payload = json.dumps(event)
    stamp = int(time.time())
    signature = hmac.new(secret.encode(), f"{stamp}.{payload}".encode(), hashlib.sha256).hexdigest()
    return client.post("/billing/stripe/webhook/", payload, content_type="application/json",
                       HTTP_STRIPE_SIGNATURE=f"t={stamp},v1={signature}")


@pytest.fixture
def webhook_secret(settings):
    settings.STRIPE_WEBHOOK_SECRET = SECRET


def _paid_order(account, admin):
    actor = Actor.for_user(admin)
    cart = cart_update(cart=cart_open(account=account, actor=actor), plan_code=None, licenses=15,
                       addon_codes=[], actor=actor)
    return cart_checkout(account=account, cart_id=cart.pk, actor=actor, idempotency_key="k", card=GOOD_CARD)


def test_a_webhook_with_a_bad_signature_is_refused(client, webhook_secret):
    response = _signed(client, {"id": "evt_1", "type": "charge.refunded"}, secret="whsec_other")
    assert response.status_code == 400 and response["Content-Type"] == "application/problem+json"
    assert response.json()["title"] == "Invalid signature"
    unsigned = client.post("/billing/stripe/webhook/", "{}", content_type="application/json")
    assert unsigned.status_code == 400
    assert not GatewayEvent.objects.exists()


def test_a_refund_and_a_dispute_are_recorded_once_and_shown_to_staff(client, webhook_secret, paid_account,
                                                                      sandbox_gateway):
    account, admin = paid_account
    payment = _paid_order(account, admin).payment
    refund = {"id": "evt_refund", "type": "charge.refunded", "data": {"object": {
        "object": "charge", "payment_intent": payment.reference, "amount_refunded": 5000}}}
    assert _signed(client, refund).status_code == 200
    assert _signed(client, refund).status_code == 200  # Stripe delivers it again
    dispute = {"id": "evt_dispute", "type": "charge.dispute.created", "data": {"object": {
        "object": "dispute", "payment_intent": payment.reference, "reason": "fraudulent"}}}
    assert _signed(client, dispute).status_code == 200
    payment.refresh_from_db()
    assert payment.refunded_cents == 5000 and payment.disputed
    assert GatewayEvent.objects.count() == 2
    assert AuditEntry.objects.filter(account=account, kind="payment.refunded").count() == 1
    assert AuditEntry.objects.filter(account=account, kind="payment.disputed").count() == 1


def test_a_payment_event_settles_a_lost_answer_and_a_late_duplicate_changes_nothing(
        client, webhook_secret, paid_account, sandbox_gateway):
    account, admin = paid_account
    actor = Actor.for_user(admin)
    cart = cart_update(cart=cart_open(account=account, actor=actor), plan_code=None, licenses=15,
                       addon_codes=[], actor=actor)
    lost = cart_checkout(account=account, cart_id=cart.pk, actor=actor, idempotency_key="k",
                         card="4000 0000 0000 0259").payment
    assert lost.state == PaymentState.UNKNOWN
    charged = sandbox_gateway.charges[0]
    succeeded = {"id": "evt_ok", "type": "payment_intent.succeeded", "data": {"object": {
        "object": "payment_intent", "id": charged[2], "metadata": {"payment": lost.key}}}}
    failed_late = {"id": "evt_late", "type": "payment_intent.payment_failed", "data": {"object": {
        "object": "payment_intent", "id": charged[2], "metadata": {"payment": lost.key}}}}
    assert _signed(client, succeeded).status_code == 200
    assert _signed(client, failed_late).status_code == 200
    lost.refresh_from_db()
    assert lost.state == PaymentState.SUCCEEDED
    assert Order.objects.get().state == OrderState.PAID and Invoice.objects.count() == 1
    assert GatewayEvent.objects.filter(processed_at__isnull=False).count() == 2


def test_an_unknown_event_is_stored_and_answered(client, webhook_secret):
    response = _signed(client, {"id": "evt_x", "type": "customer.created", "data": {"object": {}}})
    assert response.status_code == 200 and GatewayEvent.objects.get().outcome == "ignored"


def test_staff_see_a_refund_and_a_dispute_on_the_order(client, webhook_secret, paid_account, sandbox_gateway,
                                                       admin_user):
    account, admin = paid_account
    payment = _paid_order(account, admin).payment
    _signed(client, {"id": "evt_r", "type": "charge.refunded", "data": {"object": {
        "object": "charge", "payment_intent": payment.reference, "amount_refunded": 2500}}})
    _signed(client, {"id": "evt_d", "type": "charge.dispute.created", "data": {"object": {
        "object": "dispute", "payment_intent": payment.reference, "reason": "fraudulent"}}})
    client.force_login(admin_user)
    page = client.get(f"/admin/billing/order/{payment.order_id}/change/").content.decode()
    assert "2500" in page and "Refunded cents" in page and "Disputed" in page
