"""The license ledger (issue 12, item 2): every writer of the subscription's licenses appends a
row with its event, and the subscription's licenses always equal the last row's."""

from datetime import date, timedelta

import pytest
import time_machine

from accounts.actors import Actor
from billing.cart import cart_checkout, cart_open, cart_update
from billing.lifecycle import (
    scheduled_change_set,
    scheduled_change_withdraw,
    subscriptions_renew,
    trials_expire,
)
from billing.models import LicenseEvent, LicenseLedger, QuoteTopic, Subscription
from billing.quotes import quote_accept, quote_fulfil, quote_request, quote_set_terms
from tests.billing.conftest import GOOD_CARD
from tests.billing.lifecycle_support import paid_account_since
from tests.factories import StaffFactory, make_account

pytestmark = pytest.mark.django_db
JOB = Actor.job("tests")


def ledger(subscription):
    return [
        (row.event, row.licenses, row.licenses_at_next_renewal)
        for row in LicenseLedger.objects.filter(subscription=subscription)
    ]


def agrees(subscription):
    subscription.refresh_from_db()
    last = LicenseLedger.objects.filter(subscription=subscription).last()
    return last.licenses == subscription.licenses


def test_a_trial_that_ends_without_a_purchase(db):
    account, _ = make_account()
    subscription = Subscription.objects.get(account=account)
    trials_expire(actor=JOB, now=subscription.trial_ends_at + timedelta(seconds=1))
    assert ledger(subscription) == [
        (LicenseEvent.TRIAL_STARTED, 25, None), (LicenseEvent.TRIAL_ENDED, 3, None),
    ]
    assert agrees(subscription)


def test_every_writer_of_a_paid_subscription_appends_its_row(sandbox_gateway):
    with time_machine.travel(date(2026, 1, 1), tick=False):
        account, admin = paid_account_since(date(2026, 1, 1), licenses=10)
    subscription = Subscription.objects.get(account=account)
    actor, staff = Actor.for_user(admin), Actor.for_user(StaffFactory())
    with time_machine.travel(date(2026, 3, 1), tick=False):
        cart = cart_update(cart=cart_open(account=account, actor=actor), plan_code=None,
                           licenses=15, addon_codes=[], actor=actor)
        result = cart_checkout(account=account, cart_id=cart.pk, actor=actor,
                               idempotency_key="k1", card=GOOD_CARD)
        assert result.succeeded
        assert agrees(subscription)
        quote = quote_request(account=account, topic=QuoteTopic.PLAN, message="", actor=actor)
        subscription.refresh_from_db()
        quote_set_terms(quote=quote, actor=staff, price_cents=22_800, plan=subscription.plan,
                        licenses=20)
        quote_fulfil(quote=quote_accept(quote=quote, actor=actor), actor=staff)
        assert agrees(subscription)
        scheduled_change_set(subscription=subscription, actor=actor, licenses=12)
        scheduled_change_withdraw(subscription=subscription, actor=actor)
        scheduled_change_set(subscription=subscription, actor=actor, licenses=12)
    with time_machine.travel(date(2027, 1, 1), tick=False):
        assert subscriptions_renew(actor=JOB)["renewed"] == 1
    assert ledger(subscription) == [
        (LicenseEvent.PROVISIONED, 10, 10),
        (LicenseEvent.PURCHASE, 15, 15),
        (LicenseEvent.QUOTE, 20, 20),
        (LicenseEvent.SCHEDULED_CHANGE, 20, 12),
        (LicenseEvent.CHANGE_WITHDRAWN, 20, 20),
        (LicenseEvent.SCHEDULED_CHANGE, 20, 12),
        (LicenseEvent.RENEWAL, 12, 12),
    ]
    assert agrees(subscription)
    rows = LicenseLedger.objects.filter(subscription=subscription)
    assert rows.get(event=LicenseEvent.PURCHASE).order_id == result.order.pk
    assert rows.get(event=LicenseEvent.PURCHASE).actor_label == admin.email
    assert rows.get(event=LicenseEvent.RENEWAL).order.kind == "renewal"


def test_a_cancellation_to_free_ends_renewals_in_the_ledger(db):
    account, admin = paid_account_since(date(2026, 1, 1), licenses=10)
    subscription = Subscription.objects.get(account=account)
    with time_machine.travel(date(2026, 6, 1), tick=False):
        scheduled_change_set(subscription=subscription, actor=Actor.for_user(admin),
                             cancel_to_free=True)
    with time_machine.travel(date(2027, 1, 1), tick=False):
        assert subscriptions_renew(actor=JOB)["moved_to_free"] == 1
    assert ledger(subscription)[-2:] == [
        (LicenseEvent.SCHEDULED_CHANGE, 10, None), (LicenseEvent.CANCELLED_TO_FREE, 3, None),
    ]
    assert agrees(subscription)
