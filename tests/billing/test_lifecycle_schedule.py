"""Changes for the renewal: fewer licenses, a lower plan, cancellation to Free (service rules)."""

from datetime import date, timedelta

import pytest

from accounts.actors import Actor
from accounts.models import AuditEntry
from accounts.services import ServiceError
from billing.lifecycle import cancellation_last_day, scheduled_change_set, scheduled_change_withdraw
from billing.models import Plan, ScheduledChange, Subscription
from tests.billing.lifecycle_support import paid_account_since, past_due_invoice
from tests.factories import make_account

pytestmark = pytest.mark.django_db

TERM_START = date(2026, 4, 15)
ANNIVERSARY = date(2027, 4, 15)


@pytest.fixture
def paid():
    account, admin = paid_account_since(TERM_START, plan="essentials_plus", licenses=20)
    return account.subscription, Actor.for_user(admin)


def plan(code):
    return Plan.objects.get(code=code)


def test_the_last_day_to_cancel_is_30_days_before_the_anniversary(paid):
    sub, _ = paid
    assert cancellation_last_day(subscription=sub) == date(2027, 3, 16)


@pytest.mark.parametrize("days_before,allowed", [(31, True), (30, True), (29, False)])
def test_cancellation_deadline(paid, days_before, allowed):
    sub, actor = paid
    today = ANNIVERSARY - timedelta(days=days_before)
    if allowed:
        scheduled_change_set(subscription=sub, actor=actor, cancel_to_free=True, today=today)
        sub.refresh_from_db()
        assert sub.state == "cancelled"
        assert sub.scheduled_change.cancel_to_free
    else:
        with pytest.raises(ServiceError) as error:
            scheduled_change_set(subscription=sub, actor=actor, cancel_to_free=True, today=today)
        assert "the last day was 16 March 2027" in str(error.value)
        assert not ScheduledChange.objects.exists()
        assert Subscription.objects.get(pk=sub.pk).state == "active"


def test_no_cancellation_to_free_while_an_invoice_is_past_due(paid):
    sub, actor = paid
    past_due_invoice(sub.account)
    with pytest.raises(ServiceError, match="cannot move to Free while an invoice is past due"):
        scheduled_change_set(subscription=sub, actor=actor, cancel_to_free=True, today=TERM_START)
    assert not ScheduledChange.objects.exists()


def test_fewer_licenses_and_a_lower_plan_are_scheduled_and_audited(paid):
    sub, actor = paid
    change = scheduled_change_set(
        subscription=sub, actor=actor, plan=plan("essentials"), licenses=8, today=TERM_START
    )
    assert (change.plan.code, change.licenses, change.cancel_to_free) == ("essentials", 8, False)
    sub.refresh_from_db()
    assert (sub.plan.code, sub.licenses) == ("essentials_plus", 20)  # nothing before the renewal
    entry = AuditEntry.objects.get(kind="subscription.change_scheduled")
    assert entry.after["scheduled_change"] == {"plan": "essentials", "licenses": 8, "cancel_to_free": False}


@pytest.mark.parametrize("kwargs,message", [
    (dict(licenses=4), "needs at least 5 licenses"),
    (dict(licenses=25), "only fewer licenses can be scheduled"),
    (dict(plan_code="professional"), "not a lower plan"),
    (dict(plan_code="advanced"), "legacy plan"),
    (dict(plan_code="free"), "cancel at renewal"),
    (dict(), "That is what renews already"),
])
def test_scheduled_change_rules(paid, kwargs, message):
    sub, actor = paid
    code = kwargs.pop("plan_code", None)
    with pytest.raises(ServiceError, match=message):
        scheduled_change_set(
            subscription=sub, actor=actor, plan=plan(code) if code else None, today=TERM_START, **kwargs
        )


def test_a_legacy_plan_may_renew_as_it_is_with_fewer_licenses():
    account, admin = make_account(plan="essentials", licenses=10)
    Subscription.objects.filter(account=account).update(plan=plan("premium"))
    sub = Subscription.objects.get(account=account)
    change = scheduled_change_set(subscription=sub, actor=Actor.for_user(admin), licenses=6)
    assert change.plan is None and change.licenses == 6
    change = scheduled_change_set(
        subscription=sub, actor=Actor.for_user(admin), plan=plan("professional"), licenses=6
    )
    assert change.plan.code == "professional"


def test_trials_and_free_have_no_renewal_to_change(trial_account):
    account, admin = trial_account
    with pytest.raises(ServiceError, match="Only a paid subscription"):
        scheduled_change_set(subscription=account.subscription, actor=Actor.for_user(admin), licenses=5)


def test_withdrawing_a_cancellation_renews_as_it_is(paid):
    sub, actor = paid
    scheduled_change_set(subscription=sub, actor=actor, cancel_to_free=True, today=TERM_START)
    scheduled_change_withdraw(subscription=sub, actor=actor)
    sub.refresh_from_db()
    assert sub.state == "active" and not ScheduledChange.objects.exists()
    assert AuditEntry.objects.filter(kind="subscription.change_withdrawn").count() == 1
    with pytest.raises(ServiceError, match="no scheduled change"):
        scheduled_change_withdraw(subscription=sub, actor=actor)
