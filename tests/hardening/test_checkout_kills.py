"""The checkout's process SIGKILLed by its pid at each point, on PostgreSQL, then the customer
retries and the reconciliation job runs: every time, the charges at the gateway equal the paid
payments in our database equal the paid orders, with equal amounts, and the subscription changed
once (issue 10, "Done means")."""

import os
import signal
import subprocess
import sys
import time

import pytest

from accounts.actors import Actor
from billing import payments, reconciliation
from billing.cart import cart_checkout, cart_open, cart_update
from billing.gateways.sandbox import SandboxGateway
from billing.models import (
    Invoice,
    LicenseEvent,
    LicenseLedger,
    Order,
    OrderState,
    Payment,
    PaymentState,
)
from tests.billing.conftest import GOOD_CARD
from tests.factories import make_account
from tests.hardening.test_job_faults import ROOT, _env
from tests.helpers import requires_postgres

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]

POINTS = ["placed", "charged", "booking", "applied"]


def _killed_at(point, *, account, cart, admin):
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.hardening.checkout_worker", str(account.pk), str(cart.pk),
         str(admin.pk), f"page-{point}", point],
        cwd=ROOT, env={**_env(), "PAYMENT_GATEWAY": "sandbox"}, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
    )
    deadline = time.monotonic() + 60
    line = ""
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if line.startswith(("AT ", "DONE")) or process.poll() is not None:
            break
    assert line == f"AT {point}\n", (line, process.stderr.read() if process.poll() is not None else "")
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL
    process.stdout.close()
    process.stderr.close()


@pytest.mark.parametrize("point", POINTS)
def test_a_checkout_killed_at_each_point_ends_paid_once(point, settings):
    settings.PAYMENT_GATEWAY = "sandbox"
    account, admin = make_account(plan="professional", licenses=10)
    actor = Actor.for_user(admin)
    payments.card_save(account=account, actor=actor, setup=GOOD_CARD)
    cart = cart_update(cart=cart_open(account=account, actor=actor), plan_code=None, licenses=15,
                       addon_codes=[], actor=actor)
    _killed_at(point, account=account, cart=cart, admin=admin)

    # The job runs (past its window: the killed request is no longer in flight), then the
    # customer, back on the cart, confirms again if the order is not paid yet.
    settings.PAYMENT_RECONCILE_AFTER_SECONDS = 0
    reconciliation.payments_reconcile(actor=Actor.job("reconcile_payments"))
    if not Order.objects.filter(account=account, state=OrderState.PAID).exists():
        retry = cart_checkout(account=account, cart_id=cart.pk, actor=actor, idempotency_key="page-retry",
                              use_card_on_file=True)
        assert retry.succeeded, retry.error
    reconciliation.payments_reconcile(actor=Actor.job("reconcile_payments"))

    charges = SandboxGateway.charges()
    paid_payments = Payment.objects.filter(order__account=account, state=PaymentState.SUCCEEDED)
    paid_orders = Order.objects.filter(account=account, state=OrderState.PAID)
    assert len(charges) == paid_payments.count() == paid_orders.count() == 1, point
    order = paid_orders.get()
    assert charges[0][1] == paid_payments.get().amount_cents == order.total_cents
    assert not Payment.objects.filter(state__in=[PaymentState.PENDING, PaymentState.UNKNOWN]).exists()
    assert Invoice.objects.filter(account=account).count() == 1
    assert Invoice.objects.get(account=account).total_cents == order.total_cents
    assert LicenseLedger.objects.filter(subscription__account=account, event=LicenseEvent.PURCHASE).count() == 1
    account.subscription.refresh_from_db()
    assert account.subscription.licenses == 15
