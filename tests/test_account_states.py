"""Every customer page answers, never with a 500, whatever state the account is in and whoever
of its members reads it (an account without a subscription answered 500 on /billing/ and
/cart/ until 2026-12-04: tests/billing/test_billing_pages.py keeps that one)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Role
from billing.models import Subscription
from licensing.models import AccountLicensing
from tests.factories import TrackedUserFactory, add_member, make_account
from tests.test_page_queries import candidate_urls

pytestmark = pytest.mark.django_db


def _trial():
    return make_account()


def _free_over_its_cap():
    account, admin = make_account(plan="free")
    for _ in range(5):
        TrackedUserFactory(account=account)
    return account, admin


def _blocked():
    account, admin = make_account(plan="professional", licenses=5)
    AccountLicensing.objects.filter(account=account).update(state="blocked", blocked_reason="grace_expired", used=9)
    return account, admin


def _in_grace():
    account, admin = make_account(plan="professional", licenses=5)
    AccountLicensing.objects.filter(account=account).update(
        state="grace", used=7, grace_period_ends_at=timezone.now() + timedelta(days=3))
    return account, admin


def _past_due():
    account, admin = make_account(plan="essentials", licenses=5)
    Subscription.objects.filter(account=account).update(state="past_due")
    return account, admin


def _no_licensing_row():
    account, admin = make_account(plan="essentials", licenses=5)
    AccountLicensing.objects.filter(account=account).delete()
    return account, admin


@pytest.mark.parametrize("make", [_trial, _free_over_its_cap, _blocked, _in_grace, _past_due, _no_licensing_row])
def test_every_page_answers_in_every_state_to_every_role(client, make):
    account, admin = make()
    failures = []
    for role in (Role.ADMIN, Role.BILLING, Role.VIEWER):
        client.force_login(admin if role == Role.ADMIN else add_member(account, role))
        for _, urls in candidate_urls(account):
            for url in urls:
                status = client.get(url).status_code
                if status >= 500:
                    failures.append((role, url, status))
    assert not failures, failures
