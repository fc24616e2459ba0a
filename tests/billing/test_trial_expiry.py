from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.management import call_command

from accounts.models import AuditEntry
from billing.hooks import subscription_changed
from billing.lifecycle import trials_expire
from billing.models import ScheduledChange, Subscription
from tests.billing.lifecycle_support import JOB, add_addon, paid_account_since, trial_account_since

pytestmark = pytest.mark.django_db

SIGNED_UP = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def test_an_unpaid_trial_becomes_free_when_it_ends_and_a_second_run_changes_nothing():
    account, _ = trial_account_since(SIGNED_UP)
    add_addon(account.subscription, "screen_details")
    received = []

    def listener(sender, account, actor, **kw):
        received.append(account.subscription.plan.code)

    subscription_changed.connect(listener)
    try:
        with time_machine.travel(SIGNED_UP + timedelta(days=14, minutes=1), tick=False):
            assert trials_expire(actor=JOB) == 1
            assert trials_expire(actor=JOB) == 0
    finally:
        subscription_changed.disconnect(listener)

    sub = Subscription.objects.get(account=account)
    assert (sub.plan.code, sub.licenses, sub.state, sub.term_end) == ("free", 3, "active", None)
    assert not sub.addons.exists()
    assert received == ["free"]
    assert AuditEntry.objects.filter(account=account, kind="subscription.trial_expired").count() == 1


def test_a_trial_is_not_expired_before_its_end():
    account, _ = trial_account_since(SIGNED_UP)
    with time_machine.travel(SIGNED_UP + timedelta(days=13, hours=23), tick=False):
        assert trials_expire(actor=JOB) == 0
    assert Subscription.objects.get(account=account).plan.code == "professional"


def test_a_paid_subscription_is_never_moved_to_free():
    paid, _ = paid_account_since(SIGNED_UP.date())
    with time_machine.travel(SIGNED_UP + timedelta(days=30), tick=False):
        trials_expire(actor=JOB)
    assert Subscription.objects.get(account=paid).plan.code == "professional"


def test_the_command_expires_trials(capsys):
    account, _ = trial_account_since(SIGNED_UP)
    ScheduledChange.objects.create(subscription=account.subscription, licenses=5)
    with time_machine.travel(SIGNED_UP + timedelta(days=15), tick=False):
        call_command("expire_trials")
    assert "1 trial(s) moved to Free" in capsys.readouterr().out
    assert Subscription.objects.get(account=account).plan.code == "free"
    assert not ScheduledChange.objects.filter(subscription__account=account).exists()
