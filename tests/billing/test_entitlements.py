"""The entitlements selector (issue 12, item 6): one answer to "what may this account use",
asked by licensing, support and staff instead of testing states and add-on codes."""

from datetime import UTC, datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.lifecycle import trials_expire
from billing.selectors import entitlements, entitlements_for
from licensing.services import merge_allowed
from support.selectors import support_included
from tests.billing.lifecycle_support import JOB, add_addon, trial_account_since
from tests.factories import make_account

pytestmark = pytest.mark.django_db


def test_a_paid_account_with_add_ons():
    account, _ = make_account(plan="professional", licenses=10)
    add_addon(account.subscription, "screen_details")
    add_addon(account.subscription, "data_history")
    with CaptureQueriesContext(connection) as ctx:
        allowed = entitlements_for(account=account)
    assert len(ctx.captured_queries) == 1
    assert (allowed.paid, allowed.trial, allowed.on_term, allowed.screen_details,
            allowed.activconnect, allowed.data_history_units) == (True, False, True, True, False, 1)
    assert entitlements(subscription=account.subscription) == allowed
    assert merge_allowed(account=account) and support_included(subscription=account.subscription)


def test_a_trial_then_free():
    account, _ = trial_account_since(datetime(2026, 3, 1, tzinfo=UTC))
    allowed = entitlements_for(account=account)
    assert (allowed.trial, allowed.paid, allowed.on_term) == (True, False, False)
    assert not merge_allowed(account=account) and support_included(subscription=account.subscription)
    with time_machine.travel(datetime(2026, 3, 16, tzinfo=UTC), tick=False):
        trials_expire(actor=JOB)
    account.subscription.refresh_from_db()
    allowed = entitlements_for(account=account)
    assert (allowed.trial, allowed.paid, allowed.paid_or_trial) == (False, False, False)
    assert not support_included(subscription=account.subscription)


def test_no_subscription_entitles_nothing():
    account, _ = make_account(plan="free")
    account.subscription.delete()
    allowed = entitlements_for(account=account)
    assert not allowed.has_subscription and not allowed.paid_or_trial
