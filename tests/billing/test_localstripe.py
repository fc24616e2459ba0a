"""The Stripe gateway against localstripe (a real, stateful fake Stripe server on loopback): the
card saved with a SetupIntent, charged as a PaymentIntent, 3-D Secure, a decline at charge time,
an attempt whose answer was lost found again by its key; and in Chromium, through the card
Element and localstripe's stripe.js."""

import pytest

from accounts.actors import Actor
from billing import payments
from billing.cart import cart_checkout, cart_open, cart_update
from billing.gateways import ChargeState, get_gateway
from billing.models import BillingProfile, Invoice, Order, OrderState, PaymentState
from tests.browser import browser_page, chromium, login_as  # noqa: F401
from tests.factories import make_account
from tests.localstripe import authenticate_as_stripe_js, confirm_setup_as_stripe_js

PLAIN = "4242424242424242"
THREE_D_SECURE = "4000002760003184"
DECLINED_AT_CHARGE = "4000000000000341"


def _saved_card(account, admin, base, number):
    setup = payments.card_setup_start(account=account)
    confirmed = confirm_setup_as_stripe_js(base, setup.client_secret, number)
    assert confirmed["status"] in ("succeeded", "requires_action"), confirmed
    if confirmed["status"] == "requires_action":
        # localstripe's dialog "Complete authentication" confirms the SetupIntent again.
        import requests

        seti = confirmed["id"]
        requests.post(f"{base}/v1/setup_intents/{seti}/confirm", timeout=5,
                      json={"key": "pk_test_localstripe", "client_secret": setup.client_secret})
    return payments.card_save(account=account, actor=Actor.for_user(admin), setup=confirmed["id"])


def _cart(account, admin, licenses=15):
    actor = Actor.for_user(admin)
    return cart_update(cart=cart_open(account=account, actor=actor), plan_code=None, licenses=licenses,
                       addon_codes=[], actor=actor)


def test_a_card_saved_with_a_setup_intent_pays_the_cart(stripe_on_localstripe, paid_account):
    account, admin = paid_account
    profile = _saved_card(account, admin, stripe_on_localstripe, PLAIN)
    assert profile.card_label == "Visa ending 4242, expires 12/2034"
    assert profile.gateway_customer.startswith("cus_") and profile.card_payment_method.startswith("pm_")
    cart = _cart(account, admin)
    result = cart_checkout(account=account, cart_id=cart.pk, actor=Actor.for_user(admin), idempotency_key="k",
                           use_card_on_file=True)
    assert result.succeeded and result.payment.reference.startswith("pi_")
    assert result.payment.charged_cents == result.order.total_cents
    account.subscription.refresh_from_db()
    assert account.subscription.licenses == 15


def test_a_card_declined_at_charge_time_changes_nothing(stripe_on_localstripe, paid_account):
    account, admin = paid_account
    _saved_card(account, admin, stripe_on_localstripe, DECLINED_AT_CHARGE)
    cart = _cart(account, admin)
    result = cart_checkout(account=account, cart_id=cart.pk, actor=Actor.for_user(admin), idempotency_key="k",
                           use_card_on_file=True)
    assert result.order.state == OrderState.FAILED and "declined" in result.error
    assert not Invoice.objects.exists()


def test_three_d_secure_is_completed_then_booked(stripe_on_localstripe, paid_account):
    account, admin = paid_account
    _saved_card(account, admin, stripe_on_localstripe, THREE_D_SECURE)
    cart = _cart(account, admin)
    actor = Actor.for_user(admin)
    result = cart_checkout(account=account, cart_id=cart.pk, actor=actor, idempotency_key="k", use_card_on_file=True)
    assert result.needs_authentication and result.payment.client_secret
    assert result.order.state == OrderState.PENDING and not Invoice.objects.exists()
    authenticate_as_stripe_js(stripe_on_localstripe, result.payment.client_secret, success=True)
    payment = payments.payment_refresh(payment=result.payment, actor=actor)
    assert payment.state == PaymentState.SUCCEEDED
    assert Order.objects.get().state == OrderState.PAID and Invoice.objects.count() == 1


def test_a_failed_authentication_is_not_charged_and_unfreezes_the_cart(stripe_on_localstripe, paid_account):
    account, admin = paid_account
    _saved_card(account, admin, stripe_on_localstripe, THREE_D_SECURE)
    cart = _cart(account, admin)
    actor = Actor.for_user(admin)
    result = cart_checkout(account=account, cart_id=cart.pk, actor=actor, idempotency_key="k", use_card_on_file=True)
    authenticate_as_stripe_js(stripe_on_localstripe, result.payment.client_secret, success=False)
    payment = payments.payment_refresh(payment=result.payment, actor=actor)
    assert payment.state in (PaymentState.DECLINED, PaymentState.FAILED)
    assert Order.objects.get().state == OrderState.FAILED
    cart_update(cart=cart, plan_code=None, licenses=16, addon_codes=[], actor=actor)  # not frozen


def test_a_lost_answer_is_found_at_localstripe_by_the_attempts_key(stripe_on_localstripe, paid_account):
    account, admin = paid_account
    _saved_card(account, admin, stripe_on_localstripe, PLAIN)
    gateway = get_gateway()
    customer = BillingProfile.objects.get(account=account).gateway_customer
    method = BillingProfile.objects.get(account=account).card_payment_method
    charged = gateway.charge(key="pay_lost_answer", amount_cents=1234, customer=customer, payment_method=method)
    assert charged.state == ChargeState.SUCCEEDED
    # The answer never reached us: no reference recorded. The lookup finds it by its key.
    found = gateway.charge_lookup(key="pay_lost_answer", reference="")
    assert found.state == ChargeState.SUCCEEDED and found.reference == charged.reference
    assert found.amount_cents == 1234
    assert gateway.charge_lookup(key="pay_never_sent", reference="") is None


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("number, authenticate, outcome", [
    (PLAIN, None, "Paid"),
    (THREE_D_SECURE, "Complete authentication", "Paid"),
    ("4000000000000002", None, "declined"),
])
def test_an_admin_pays_through_the_card_element(browser_page, stripe_on_localstripe, number, authenticate,  # noqa: F811
                                                 outcome):
    account, admin = make_account(plan="essentials", licenses=10)
    page = browser_page
    refused = []
    page.on("console", lambda message: "Content Security Policy" in message.text and refused.append(message.text))
    login_as(page, admin)
    page.goto("/cart/")
    page.fill("#id_licenses", "12")
    page.click("#update-cart")
    page.wait_for_url("**/cart/")
    # localstripe's card Element: number, month, year, cvc, postal code.
    element = page.locator("#card-element")
    element.locator("input[placeholder=number]").fill(number)
    element.locator("input[placeholder=exp_month]").fill("12")
    element.locator("input[placeholder=exp_year]").fill("34")
    element.locator("input[placeholder=cvc]").fill("123")
    element.locator("input[placeholder=postal_code]").fill("10001")
    page.click("#pay")
    if authenticate:
        # The card's own 3-D Secure at setup (localstripe's dialog), then the payment's.
        page.get_by_role("button", name=authenticate).click()
        page.wait_for_url("**/billing/payments/*/")
        page.click("#authenticate")
        page.get_by_role("button", name=authenticate).click()
    if outcome == "Paid":
        page.wait_for_url("**/billing/orders/*/")
        assert page.locator("#order-state").inner_text() == "Paid"
        order = Order.objects.get(account=account)
        assert order.state == OrderState.PAID and order.payments.get(state="succeeded").reference.startswith("pi_")
        page.goto("/billing/")
        assert "ending " + number[-4:] in page.locator("#card-on-file").inner_text()
    else:
        page.wait_for_selector("#card-errors:not([hidden]), #payment-error")
        assert outcome in page.locator("#checkout-form").inner_text().lower()
        assert not Order.objects.filter(account=account, state=OrderState.PAID).exists()
    assert refused == [], "the strict CSP let stripe.js and the card Element work"


def _fill_card(page, number):
    element = page.locator("#card-element")
    element.locator("input[placeholder=number]").fill(number)
    element.locator("input[placeholder=exp_month]").fill("11")
    element.locator("input[placeholder=exp_year]").fill("33")
    element.locator("input[placeholder=cvc]").fill("123")
    element.locator("input[placeholder=postal_code]").fill("10001")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_an_admin_replaces_the_card_then_pays_an_open_invoice(browser_page, stripe_on_localstripe):  # noqa: F811
    from tests.billing.test_payments import _invoice_with_order

    account, admin = make_account(plan="essentials", licenses=10)
    invoice = _invoice_with_order(account)
    page = browser_page
    login_as(page, admin)
    page.goto("/billing/")
    assert "No card on file" in page.locator("#card-on-file").inner_text()
    page.click("#replace-card")
    page.wait_for_url("**/billing/card/")
    _fill_card(page, "5555555555554444")
    page.click("#save-card")
    page.wait_for_url("**/billing/")
    assert "ending 4444, expires 11/2033" in page.locator("#card-on-file").inner_text()

    page.goto(f"/billing/invoices/{invoice.pk}/")
    page.click("#pay-invoice")
    page.wait_for_url(f"**/billing/invoices/{invoice.pk}/pay/")
    assert page.locator("#use-card-on-file").is_checked()
    page.click("#pay")
    page.wait_for_url(f"**/billing/invoices/{invoice.pk}/")
    assert page.locator("#invoice-state").inner_text() == "Paid"
    invoice.refresh_from_db()
    assert invoice.state == "paid"
    payment = invoice.order.payments.get()
    assert payment.state == PaymentState.SUCCEEDED and payment.charged_cents == invoice.total_cents


@pytest.mark.django_db(transaction=True)
def test_localstripe_delivers_a_signed_webhook_that_is_stored_once(stripe_on_localstripe, live_server, settings):
    """localstripe signs its events with the endpoint's secret and posts them to our live server."""
    import time

    import requests

    from billing.models import GatewayEvent

    settings.STRIPE_WEBHOOK_SECRET = "whsec_localstripe"
    requests.post(f"{stripe_on_localstripe}/_config/webhooks/backoffice", timeout=5, data={
        "url": f"{live_server.url}/billing/stripe/webhook/", "secret": "whsec_localstripe",
        "events[]": ["payment_intent.succeeded"]})
    account, admin = make_account(plan="professional", licenses=10)
    _saved_card(account, admin, stripe_on_localstripe, PLAIN)
    cart = _cart(account, admin)
    result = cart_checkout(account=account, cart_id=cart.pk, actor=Actor.for_user(admin), idempotency_key="k",
                           use_card_on_file=True)
    assert result.succeeded
    # (An earlier test's PaymentIntent may be delivered too: it is stored and finds no payment.)
    ours = GatewayEvent.objects.filter(kind="payment_intent.succeeded",
                                       payload__data__object__id=result.payment.reference)
    deadline = time.monotonic() + 15
    while not ours.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    event = ours.get()
    assert event.processed_at is not None and event.outcome == f"payment {result.payment.pk}: succeeded"


def test_the_csp_allows_exactly_stripes_origins():
    from config.csp import with_stripe

    policy = with_stripe({"script-src": ["'self'"], "connect-src": ["'self'"]},
                         js_url="https://js.stripe.com/v3/", api_base="")
    assert policy["script-src"] == ["'self'", "https://js.stripe.com"]
    assert policy["frame-src"] == ["https://js.stripe.com", "https://hooks.stripe.com"]
    assert policy["connect-src"] == ["'self'", "https://api.stripe.com", "https://js.stripe.com"]


def test_the_cart_page_loads_stripe_js_under_the_csp(stripe_on_localstripe, admin_client):
    admin_client.post("/cart/", {"plan": "", "licenses": 15, "addons": []})
    response = admin_client.get("/cart/")
    csp = response["Content-Security-Policy"]
    script_src = next(part for part in csp.split(";") if part.strip().startswith("script-src"))
    assert script_src.split()[1:] == ["'self'", stripe_on_localstripe]
    assert "unsafe-inline" not in csp
    page = response.content.decode()
    assert f'<script src="{stripe_on_localstripe}/js.stripe.com/v3/">' in page
    assert 'data-setup-secret="seti_' in page and 'name="card"' in page
    assert 'id="id_card"' not in page, "no card number field of ours with Stripe"


def test_a_partial_credit_is_refunded_at_stripe_once(stripe_on_localstripe, paid_account):
    """Issue 14: a credit note refunded to the card through the Stripe gateway, with its key as
    Stripe's idempotency key: a second run asks with the same key and makes no second refund."""
    import requests

    from billing.credit_notes import invoice_credit, refund_run
    from billing.models import CreditSettlement, Refund, RefundState

    account, admin = paid_account
    _saved_card(account, admin, stripe_on_localstripe, PLAIN)
    cart = _cart(account, admin)
    result = cart_checkout(account=account, cart_id=cart.pk, actor=Actor.for_user(admin), idempotency_key="k",
                           use_card_on_file=True)
    invoice = Invoice.objects.get(order=result.order, credit_note_for=None)
    credit_note = invoice_credit(invoice=invoice, actor=Actor.system("tests"), reason="two seats too many",
                                 amount_cents=45_600, settlement=CreditSettlement.REFUND)
    refund = Refund.objects.get(credit_note=credit_note)
    assert refund.state == RefundState.SUCCEEDED and refund.reference.startswith("re_")
    Refund.objects.filter(pk=refund.pk).update(state=RefundState.UNKNOWN)  # as if the answer was lost
    again = refund_run(refund=refund, actor=Actor.system("tests"))
    assert again.state == RefundState.SUCCEEDED and again.reference == refund.reference
    refunds = requests.get(f"{stripe_on_localstripe}/v1/refunds", timeout=5,
                           params={"payment_intent": result.payment.reference},
                           headers={"Authorization": "Bearer sk_test_localstripe"}).json()["data"]
    assert [r["amount"] for r in refunds] == [45_600]
