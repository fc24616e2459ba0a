"""The renewal: next term, the scheduled change applied exactly once, one invoice per term."""

import threading
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from django.core.management import call_command
from django.db import IntegrityError, connection

from accounts.actors import Actor
from accounts.models import AuditEntry
from billing.lifecycle import (
    billing_profile_set_discount,
    scheduled_change_set,
    subscriptions_renew,
)
from billing.models import Invoice, Order, Plan, ScheduledChange, Subscription
from tests.billing.lifecycle_support import (
    JOB,
    add_addon,
    paid_account_since,
    past_due_invoice,
)
from tests.helpers import requires_postgres

pytestmark = pytest.mark.django_db

TERM_START = date(2026, 4, 15)
ANNIVERSARY = date(2027, 4, 15)
RENEWAL_MORNING = datetime(2027, 4, 15, 2, tzinfo=UTC)


@pytest.fixture
def account():
    account, admin = paid_account_since(TERM_START, plan="essentials_plus", licenses=20)
    account.admin = admin
    return account


def schedule(account, **kwargs):
    scheduled_change_set(
        subscription=account.subscription, actor=Actor.for_user(account.admin),
        today=TERM_START, **kwargs,
    )


def renew_twice():
    with time_machine.travel(RENEWAL_MORNING, tick=False):
        first = subscriptions_renew(actor=JOB)
        second = subscriptions_renew(actor=JOB)
    return first, second


def test_a_plain_renewal_starts_the_next_term_and_issues_one_invoice_at_the_yearly_price(account):
    add_addon(account.subscription, "screen_details")
    first, second = renew_twice()
    assert first["renewed"] == 1 and second == {"renewed": 0, "moved_to_free": 0, "waiting": 0}
    sub = Subscription.objects.get(account=account)
    assert (sub.term_start, sub.term_end, sub.state) == (ANNIVERSARY, date(2028, 4, 15), "active")
    order = Order.objects.get(account=account, kind="renewal")
    assert order.renewal_term_start == ANNIVERSARY
    # 20 x $15 x 12 = $3,600 and 20 x $3 x 12 = $720
    assert [(line.plan_code or line.addon_code, line.quantity, line.unit_price_cents, line.amount_cents)
            for line in order.lines.all()] == [
        ("essentials_plus", 20, 18_000, 360_000), ("screen_details", 20, 3_600, 72_000),
    ]
    (invoice,) = Invoice.objects.filter(account=account)
    assert (invoice.state, invoice.total_cents, invoice.term_start) == ("open", 432_000, ANNIVERSARY)
    assert invoice.subscription_id == sub.pk and invoice.lines.count() == 2
    assert (invoice.due_at.date() - invoice.issued_at.date()).days == 30


def test_nothing_renews_before_the_anniversary(account):
    with time_machine.travel(datetime(2027, 4, 14, 23, tzinfo=UTC), tick=False):
        assert subscriptions_renew(actor=JOB)["renewed"] == 0
    assert not Order.objects.exists()


def test_fewer_licenses_and_a_lower_plan_apply_exactly_once_when_the_job_runs_twice(account):
    schedule(account, plan=Plan.objects.get(code="essentials"), licenses=8)
    renew_twice()
    sub = Subscription.objects.get(account=account)
    assert (sub.plan.code, sub.licenses, sub.term_end) == ("essentials", 8, date(2028, 4, 15))
    assert not ScheduledChange.objects.exists()
    assert Order.objects.filter(kind="renewal").count() == 1
    assert Invoice.objects.get().total_cents == 8 * 10_00 * 12
    renewed = AuditEntry.objects.get(kind="subscription.renewed")
    assert renewed.before["scheduled_change"] == {"plan": "essentials", "licenses": 8, "cancel_to_free": False}


def test_cancellation_moves_to_free_at_the_anniversary_without_an_invoice(account):
    add_addon(account.subscription, "activconnect", unit_price_cents=2_400)
    schedule(account, cancel_to_free=True)
    first, second = renew_twice()
    assert first["moved_to_free"] == 1 and second["moved_to_free"] == 0
    sub = Subscription.objects.get(account=account)
    assert (sub.plan.code, sub.licenses, sub.state, sub.term_end) == ("free", 3, "active", None)
    assert not sub.addons.exists() and not ScheduledChange.objects.exists()
    assert not Order.objects.exists() and not Invoice.objects.exists()
    assert AuditEntry.objects.filter(kind="subscription.cancelled_to_free").count() == 1


def test_a_cancellation_waits_while_an_invoice_is_past_due(account):
    schedule(account, cancel_to_free=True)
    invoice = past_due_invoice(account)
    with time_machine.travel(RENEWAL_MORNING, tick=False):
        assert subscriptions_renew(actor=JOB)["waiting"] == 1
    assert Subscription.objects.get(account=account).plan.code == "essentials_plus"
    Invoice.objects.filter(pk=invoice.pk).update(state="paid")
    with time_machine.travel(datetime(2027, 4, 16, 2, tzinfo=UTC), tick=False):
        assert subscriptions_renew(actor=JOB)["moved_to_free"] == 1
    assert Subscription.objects.get(account=account).plan.code == "free"


def test_the_renewal_applies_the_account_discount_and_quoted_addon_prices(account):
    billing_profile_set_discount(account=account, percent=Decimal("12.5"), reason="nonprofit", actor=JOB)
    add_addon(account.subscription, "data_history", unit_price_cents=1_001)
    renew_twice()
    lines = list(Order.objects.get().lines.all())
    assert [line.discount_percent for line in lines] == [Decimal("12.50")] * 2
    # 20 x $180 x 0.875 = $3,150; 20 x $10.01 x 0.875 = $175.175 -> $175.18 (rounded once)
    assert [line.amount_cents for line in lines] == [315_000, 17_518]


def test_a_job_that_missed_a_year_catches_up_one_term_and_one_invoice_at_a_time(account):
    with time_machine.travel(datetime(2028, 5, 1, tzinfo=UTC), tick=False):
        assert subscriptions_renew(actor=JOB)["renewed"] == 2
    sub = Subscription.objects.get(account=account)
    assert sub.term_end == date(2029, 4, 15)
    assert sorted(Invoice.objects.values_list("term_start", flat=True)) == [ANNIVERSARY, date(2028, 4, 15)]


def test_the_database_refuses_a_second_invoice_for_the_same_term(account):
    renew_twice()
    invoice = Invoice.objects.get()
    with pytest.raises(IntegrityError):
        Invoice.objects.create(
            account=account, series=invoice.series, subscription=invoice.subscription,
            term_start=invoice.term_start,
        )


def test_the_renewal_command(account, capsys):
    with time_machine.travel(RENEWAL_MORNING, tick=False):
        call_command("renew_subscriptions")
    assert "1 renewed, 0 moved to Free" in capsys.readouterr().out


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_renewing_at_once_issue_one_invoice_and_apply_the_change_once():
    account, admin = paid_account_since(TERM_START, plan="essentials_plus", licenses=20)
    scheduled_change_set(
        subscription=account.subscription, actor=Actor.for_user(admin), licenses=10, today=TERM_START
    )
    barrier = threading.Barrier(6)
    results, errors = [], []

    def worker():
        try:
            barrier.wait()
            results.append(subscriptions_renew(actor=JOB, today=ANNIVERSARY))
        except Exception as error:  # noqa: BLE001 - the test reports any failure below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sum(r["renewed"] for r in results) == 1
    assert Invoice.objects.filter(account=account).count() == 1
    sub = Subscription.objects.get(account=account)
    assert (sub.licenses, sub.term_end) == (10, date(2028, 4, 15))
