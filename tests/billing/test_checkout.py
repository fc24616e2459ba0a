"""Checkout: paid once, replays return the first result, a declined card changes nothing."""

import re
import threading

import pytest
from django.db import connection

from accounts.actors import Actor
from accounts.models import AuditEntry
from accounts.services import ServiceError
from billing.cart import PaymentMethod, cart_checkout, cart_open, cart_quote_for, cart_update
from billing.hooks import subscription_changed
from billing.models import (
    BillingProfile,
    Invoice,
    InvoiceState,
    Order,
    OrderState,
    Payment,
    PaymentState,
    SubscriptionState,
)
from tests.billing.conftest import (
    DECLINED_CARD,
    GOOD_CARD,
    INSUFFICIENT_FUNDS_CARD,
    PROCESSING_ERROR_CARD,
)
from tests.factories import make_account
from tests.helpers import requires_postgres


def _cart(account, admin, *, plan_code=None, licenses=15, addon_codes=()):
    actor = Actor.for_user(admin)
    return cart_update(cart=cart_open(account=account, actor=actor), plan_code=plan_code,
                       licenses=licenses, addon_codes=list(addon_codes), actor=actor)


def _page_form(client):
    """The checkout form's hidden fields, as the cart page renders them."""
    page = client.get("/cart/").content.decode()
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page))
    return {key: fields[key] for key in ("cart", "idempotency_key", "expected_total_cents")}


def test_a_paid_checkout_changes_the_subscription_issues_a_paid_invoice_and_emails(
        admin_client, sandbox_gateway, mailoutbox, django_capture_on_commit_callbacks):
    account = admin_client.account
    received = []
    subscription_changed.connect(lambda **kw: received.append(kw["account"].pk), weak=False,
                                 dispatch_uid="test-checkout")
    try:
        admin_client.post("/cart/", {"licenses": 15, "addons": ["screen_details"]})
        form = _page_form(admin_client)
        with django_capture_on_commit_callbacks(execute=True):
            response = admin_client.post("/cart/checkout/", {**form, "payment_method": "card", "card": GOOD_CARD})
    finally:
        subscription_changed.disconnect(dispatch_uid="test-checkout")

    order = Order.objects.get(account=account)
    assert response.status_code == 302 and response.url == f"/billing/orders/{order.pk}/"
    subscription = account.subscription
    subscription.refresh_from_db()
    assert subscription.licenses == 15 and subscription.state == SubscriptionState.ACTIVE
    assert [row.addon.code for row in subscription.addons.all()] == ["screen_details"]
    assert order.state == OrderState.PAID
    # A whole term left (provisioned today): 5 x $228 + 15 x $36.
    assert order.total_cents == int(form["expected_total_cents"]) == 5 * 22800 + 15 * 3600
    assert [(line.plan_code, line.addon_code, line.quantity) for line in order.lines.all()] == [
        ("professional", "", 5), ("", "screen_details", 15)]
    assert [(c[1]) for c in sandbox_gateway.charges] == [order.total_cents]
    invoice = Invoice.objects.get(order=order)
    assert invoice.state == InvoiceState.PAID and invoice.total_cents == order.total_cents
    assert received == [account.pk]
    kinds = set(AuditEntry.objects.filter(account=account).values_list("kind", flat=True))
    assert {"order.placed", "payment.succeeded", "order.paid", "subscription.purchased", "invoice.issued"} <= kinds
    assert sorted(m.subject for m in mailoutbox) == [f"Invoice {invoice.display_number}", f"Your order {order.pk} is confirmed"]
    confirmation = next(m for m in mailoutbox if "confirmed" in m.subject)
    assert "5 additional Professional licenses" in confirmation.body and "Total: $1,680.00" in confirmation.body

    page = admin_client.get(response.url).content.decode()
    assert "Paid" in page and invoice.display_number in page


@pytest.mark.parametrize(("card", "message"), [
    (INSUFFICIENT_FUNDS_CARD, "Your card was declined: insufficient funds."),
    (DECLINED_CARD, "Your card was declined."),
    (PROCESSING_ERROR_CARD, "The payment service had a processing error; you were not charged. Try again."),
])
def test_a_declined_card_changes_nothing_and_says_why(admin_client, sandbox_gateway, mailoutbox,
                                                      django_capture_on_commit_callbacks, card, message):
    account = admin_client.account
    admin_client.post("/cart/", {"plan": "", "licenses": 20})
    form = _page_form(admin_client)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post("/cart/checkout/", {**form, "payment_method": "card", "card": card})

    assert response.status_code == 400
    assert message in response.content.decode()
    assert card not in response.content.decode()  # never echoed back
    account.subscription.refresh_from_db()
    assert account.subscription.licenses == 10
    assert not Order.objects.filter(account=account, state__in=[OrderState.PAID, OrderState.INVOICED]).exists()
    assert Order.objects.get(account=account).state == OrderState.FAILED
    assert not Invoice.objects.filter(account=account).exists()
    assert sandbox_gateway.charges == []
    assert [m.subject for m in mailoutbox] == ["Your payment did not go through"]
    # The same POST again returns the first result: the same refusal, no second attempt.
    again = admin_client.post("/cart/checkout/", {**form, "payment_method": "card", "card": GOOD_CARD})
    assert message in again.content.decode()
    assert Payment.objects.filter(order__account=account).count() == 1


def test_after_a_decline_another_card_pays_the_same_order(admin_client, sandbox_gateway):
    admin_client.post("/cart/", {"licenses": 20})
    admin_client.post("/cart/checkout/", {**_page_form(admin_client), "payment_method": "card", "card": DECLINED_CARD})
    response = admin_client.post("/cart/checkout/", {**_page_form(admin_client), "payment_method": "card", "card": GOOD_CARD})
    order = Order.objects.get(account=admin_client.account)
    assert response.url == f"/billing/orders/{order.pk}/"
    assert order.state == OrderState.PAID
    assert list(order.payments.values_list("state", flat=True).order_by("pk")) == ["declined", "succeeded"]
    assert len(sandbox_gateway.charges) == 1


def test_a_replayed_post_returns_the_first_order_without_charging_again(admin_client, sandbox_gateway):
    admin_client.post("/cart/", {"licenses": 12})
    form = {**_page_form(admin_client), "payment_method": "card", "card": GOOD_CARD}
    first = admin_client.post("/cart/checkout/", form)
    second = admin_client.post("/cart/checkout/", form)
    # A second tab with its own key but the same (now paid) cart.
    third = admin_client.post("/cart/checkout/", {**form, "idempotency_key": "another-tab"})
    assert first.url == second.url == third.url
    assert Order.objects.count() == 1 and len(sandbox_gateway.charges) == 1
    admin_client.account.subscription.refresh_from_db()
    assert admin_client.account.subscription.licenses == 12


def test_prices_are_checked_again_when_paying(admin_client, sandbox_gateway):
    admin_client.post("/cart/", {"licenses": 12})
    form = _page_form(admin_client)
    BillingProfile.objects.create(account=admin_client.account, discount_percent=50)
    response = admin_client.post("/cart/checkout/", {**form, "payment_method": "card", "card": GOOD_CARD})
    assert "The total changed since the cart was shown" in response.content.decode()
    assert sandbox_gateway.charges == [] and not Order.objects.exists()


def test_pay_by_invoice_only_when_staff_made_the_account_eligible(paid_account, sandbox_gateway,
                                                                  mailoutbox, django_capture_on_commit_callbacks):
    account, admin = paid_account
    cart = _cart(account, admin, licenses=12)
    with pytest.raises(ServiceError, match="Paying by invoice is for accounts our staff have approved"):
        cart_checkout(account=account, cart_id=cart.pk, actor=Actor.for_user(admin),
                      idempotency_key="k1", payment_method=PaymentMethod.INVOICE)
    assert not Order.objects.exists()

    BillingProfile.objects.create(account=account, invoice_eligible=True)
    with django_capture_on_commit_callbacks(execute=True):
        result = cart_checkout(account=account, cart_id=cart.pk, actor=Actor.for_user(admin),
                               idempotency_key="k2", payment_method=PaymentMethod.INVOICE)
    assert result.order.state == OrderState.INVOICED
    invoice = Invoice.objects.get(order=result.order)
    assert invoice.state == InvoiceState.OPEN and (invoice.due_at - invoice.issued_at).days == 30
    assert sandbox_gateway.charges == []
    account.subscription.refresh_from_db()
    assert account.subscription.licenses == 12
    assert len(mailoutbox) == 2


def test_the_discount_is_applied_automatically_and_recorded_on_the_order(paid_account):
    account, admin = paid_account
    BillingProfile.objects.create(account=account, discount_percent=20, discount_reason="nonprofit")
    cart = _cart(account, admin, licenses=15)
    result = cart_checkout(account=account, cart_id=cart.pk, actor=Actor.for_user(admin),
                           idempotency_key="k", card=GOOD_CARD)
    line = result.order.lines.get()
    assert line.discount_percent == 20 and line.amount_cents == 5 * 22800 * 8 // 10


def test_from_a_trial_the_purchase_starts_an_active_annual_term(trial_account):
    account, admin = trial_account
    cart = _cart(account, admin, plan_code="essentials", licenses=5)
    result = cart_checkout(account=account, cart_id=cart.pk, actor=Actor.for_user(admin),
                           idempotency_key="k", card=GOOD_CARD)
    assert result.succeeded
    subscription = account.subscription
    subscription.refresh_from_db()
    assert (subscription.plan.code, subscription.licenses, subscription.state) == ("essentials", 5, "active")
    assert (subscription.term_end - subscription.term_start).days in (365, 366)
    assert result.order.total_cents == 5 * 12000


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_forty_concurrent_confirms_of_one_cart_give_one_attempt_one_order_one_invoice(sandbox_gateway):
    account, admin = make_account(plan="professional", licenses=10)
    cart = _cart(account, admin, licenses=15)
    total = cart_quote_for(cart=cart).total_cents
    barrier = threading.Barrier(40)
    results, errors = [], []

    def submit(i):
        try:
            barrier.wait()
            # Half replay the same key (a double click), half come from other tabs.
            key = "same-key" if i % 2 else f"tab-{i}"
            results.append(cart_checkout(account=account, cart_id=cart.pk, actor=Actor.for_user(admin),
                                         idempotency_key=key, card=GOOD_CARD, expected_total_cents=total))
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len({result.order.pk for result in results}) == 1
    assert sum(not result.replayed for result in results) == 1
    assert Order.objects.count() == 1 and Payment.objects.count() == 1
    assert len(sandbox_gateway.charges) == 1
    assert Invoice.objects.count() == 1
    account.subscription.refresh_from_db()
    assert account.subscription.licenses == 15


def test_after_a_processing_error_the_retry_is_a_new_attempt_with_its_own_key(paid_account, sandbox_gateway):
    account, admin = paid_account
    cart = _cart(account, admin, licenses=12)
    actor = Actor.for_user(admin)
    failed = cart_checkout(account=account, cart_id=cart.pk, actor=actor, idempotency_key="a",
                           card=PROCESSING_ERROR_CARD)
    assert failed.order.state == OrderState.FAILED and "not charged" in failed.error
    paid = cart_checkout(account=account, cart_id=cart.pk, actor=actor, idempotency_key="b", card=GOOD_CARD)
    assert paid.order.pk == failed.order.pk and paid.order.state == OrderState.PAID
    # The processing error was a definitive "not charged": the retry is another attempt, and a
    # key is never reused for another request (Stripe's rule).
    attempts = list(paid.order.payments.order_by("pk"))
    assert [p.state for p in attempts] == [PaymentState.FAILED, PaymentState.SUCCEEDED]
    assert attempts[0].key != attempts[1].key
    assert [key for key, _amount, _ref in sandbox_gateway.charges] == [attempts[1].key]


def test_a_refused_update_leaves_no_cart_on_the_page(admin_client):
    admin_client.post("/cart/", {"licenses": 3})
    page = admin_client.get("/cart/").content.decode()
    assert 'id="cart-summary"' not in page and "Your cart is empty" not in page


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_first_clicks_make_one_cart():
    """Issue 11, item 7: two "Update the cart" clicks at once made two carts, and the stale one
    came back as the open cart after the other was paid."""
    from billing.models import Cart

    account, admin = make_account(plan="professional", licenses=10)
    actor = Actor.for_user(admin)
    barrier = threading.Barrier(8)
    carts, errors = [], []

    def click():
        try:
            barrier.wait()
            carts.append(cart_open(account=account, actor=actor).pk)
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=click) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(set(carts)) == 1 and Cart.objects.filter(account=account).count() == 1


def test_a_paid_cart_is_closed_and_the_next_purchase_opens_a_new_one(paid_account, sandbox_gateway):
    account, admin = paid_account
    cart = _cart(account, admin)
    paid = cart_checkout(account=account, cart_id=cart.pk, actor=Actor.for_user(admin),
                         idempotency_key="k", card=GOOD_CARD)
    assert paid.succeeded
    cart.refresh_from_db()
    assert cart.is_open is False
    again = cart_open(account=account, actor=Actor.for_user(admin))
    assert again.pk != cart.pk and again.is_open


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_no_row_lock_is_held_while_the_gateway_is_called(sandbox_gateway, monkeypatch):
    """The old checkout charged inside its transaction, the cart and subscription rows locked for
    the gateway's whole latency (30 s at worst): every other writer of the account waited."""
    import psycopg

    from billing.gateways.sandbox import SandboxGateway
    from billing.models import Cart, Subscription
    from tests.hardening.test_job_faults import _dsn

    account, admin = make_account(plan="professional", licenses=10)
    cart = _cart(account, admin, licenses=15)
    seen = {}
    real_charge = SandboxGateway.charge

    def charge(self, **kwargs):
        # Another connection, NOWAIT: it fails at once if any row it asks for is locked.
        with psycopg.connect(_dsn()) as other:
            for table, pk in ((Cart._meta.db_table, cart.pk),
                              (Subscription._meta.db_table, account.subscription.pk),
                              (Payment._meta.db_table, kwargs["metadata"] and Payment.objects.get().pk)):
                try:
                    other.execute(f"SELECT id FROM {table} WHERE id = %s FOR UPDATE NOWAIT", [pk])
                    seen[table] = "free"
                except psycopg.errors.LockNotAvailable:
                    seen[table] = "locked"
                    other.rollback()
            other.rollback()
        seen["attempt committed"] = Payment.objects.filter(state=PaymentState.PENDING).exists()
        return real_charge(self, **kwargs)

    monkeypatch.setattr(SandboxGateway, "charge", charge)
    result = cart_checkout(account=account, cart_id=cart.pk, actor=Actor.for_user(admin), idempotency_key="k",
                           card=GOOD_CARD)
    assert result.succeeded
    assert seen == {"billing_cart": "free", "billing_subscription": "free", "billing_payment": "free",
                    "attempt committed": True}
