"""Issue 15: "renewal coming" 60 and 35 days before the anniversary, with the amount that will be
charged and the last days to change it."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from django.core import mail

from accounts.models import Role
from billing.lifecycle import notices_send, scheduled_change_set
from billing.models import BillingNotice, BillingProfile, Plan
from tests.billing.lifecycle_support import JOB, add_addon, paid_account_since
from tests.factories import add_member

pytestmark = pytest.mark.django_db


def run_on(moment, capture):
    with time_machine.travel(moment, tick=False), capture(execute=True):
        return notices_send()


def test_renewal_coming_goes_out_60_and_35_days_before_with_the_amount(
    django_capture_on_commit_callbacks,
):
    account, admin = paid_account_since(date(2026, 1, 10))  # renews 10 January 2027
    billing = add_member(account, Role.BILLING)
    add_member(account, Role.VIEWER)
    add_addon(account.subscription, "screen_details")
    BillingProfile.objects.update_or_create(
        account=account, defaults={"discount_percent": Decimal("10"), "discount_reason": "nonprofit"}
    )
    cap = django_capture_on_commit_callbacks
    assert run_on(datetime(2026, 11, 10, 5, tzinfo=UTC), cap) == 0  # 61 days before
    assert run_on(datetime(2026, 11, 11, 5, tzinfo=UTC), cap) == 1  # 60 days before
    assert run_on(datetime(2026, 11, 12, 5, tzinfo=UTC), cap) == 0
    assert run_on(datetime(2026, 12, 5, 5, tzinfo=UTC), cap) == 0  # 36 days before
    assert run_on(datetime(2026, 12, 6, 5, tzinfo=UTC), cap) == 1  # 35 days before
    assert run_on(datetime(2026, 12, 11, 5, tzinfo=UTC), cap) == 0  # 30 days: no more
    first, second = mail.outbox
    assert sorted(first.to) == sorted([admin.email, billing.email])
    assert first.subject == "Your subscription renews on 10 January 2027: $2,376.00"
    body = first.body
    # Professional $19 x 12 x 10 = $2,280, Screen Details listed, 10 % nonprofit discount.
    assert "Professional: 10 licenses for 12 months" in body
    assert "Screen Details" in body
    assert "discount 10" in body
    # Issue 14 brought tax: without billing details the email says where it comes from.
    assert "Total charged on 10 January 2027: $2,376.00" in body
    assert "add your billing details (/billing/details/) to see it" in body
    assert "The last day to cancel to Free at this renewal is 11 December 2026" in body
    assert "schedule fewer licenses or a lower plan: until 9 January 2027" in body
    assert set(BillingNotice.objects.values_list("kind", flat=True)) == {
        "renewal_coming_60", "renewal_coming_35"
    }
    assert second.subject == first.subject


def test_the_amount_follows_the_scheduled_change(django_capture_on_commit_callbacks):
    account, _ = paid_account_since(date(2026, 1, 10))
    with time_machine.travel(datetime(2026, 11, 1, tzinfo=UTC), tick=False):
        scheduled_change_set(subscription=account.subscription, actor=JOB,
                             plan=Plan.objects.get(code="essentials"), licenses=6)
    assert run_on(datetime(2026, 11, 11, 5, tzinfo=UTC), django_capture_on_commit_callbacks) == 1
    (email,) = mail.outbox
    assert "Essentials: 6 licenses for 12 months" in email.body  # $10 x 12 x 6 = $720
    assert email.subject.endswith(": $720.00")
    assert "the change you scheduled; today: Professional x 10" in email.body


def test_a_late_job_sends_only_the_latest_renewal_notice(django_capture_on_commit_callbacks):
    paid_account_since(date(2026, 1, 10))
    assert run_on(datetime(2026, 12, 8, 5, tzinfo=UTC), django_capture_on_commit_callbacks) == 1
    assert BillingNotice.objects.get().kind == "renewal_coming_35"


def test_the_renewal_email_adds_the_tax_of_the_billing_address(django_capture_on_commit_callbacks):
    from tests.billing.test_documents import give_details

    account, _ = paid_account_since(date(2026, 1, 10))
    give_details(account, tax_id="")  # Berlin, no VAT id: German VAT 19 %
    assert run_on(datetime(2026, 11, 11, 5, tzinfo=UTC), django_capture_on_commit_callbacks) == 1
    body = mail.outbox[-1].body
    # Professional $19 x 12 x 10 = $2,280.00; VAT 19 % = $433.20.
    assert "Subtotal: $2,280.00" in body and "$433.20" in body
    assert "Total charged on 10 January 2027: $2,713.20" in body
    assert mail.outbox[-1].subject == "Your subscription renews on 10 January 2027: $2,713.20"
