from datetime import UTC, date, datetime

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command

from accounts.models import Role
from billing.lifecycle import notices_send
from billing.models import BillingNotice
from tests.billing.lifecycle_support import paid_account_since, trial_account_since
from tests.factories import add_member

pytestmark = pytest.mark.django_db

SIGNED_UP = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)  # the trial ends 15 March 2026, 09:30


def run_on(moment, capture):
    with time_machine.travel(moment, tick=False), capture(execute=True):
        return notices_send()


def test_trial_ending_notices_go_out_3_days_and_1_day_before_once_each(
    django_capture_on_commit_callbacks,
):
    account, admin = trial_account_since(SIGNED_UP)
    second_admin = add_member(account, Role.ADMIN)
    add_member(account, Role.VIEWER)
    cap = django_capture_on_commit_callbacks

    assert run_on(datetime(2026, 3, 11, 6, tzinfo=UTC), cap) == 0  # 4 days before
    assert run_on(datetime(2026, 3, 12, 6, tzinfo=UTC), cap) == 1  # 3 days before
    assert run_on(datetime(2026, 3, 12, 18, tzinfo=UTC), cap) == 0  # same day again
    assert run_on(datetime(2026, 3, 13, 6, tzinfo=UTC), cap) == 0  # 2 days before
    assert run_on(datetime(2026, 3, 14, 6, tzinfo=UTC), cap) == 1  # 1 day before
    assert run_on(datetime(2026, 3, 14, 7, tzinfo=UTC), cap) == 0

    assert [m.subject for m in mail.outbox] == [
        "Your Professional trial ends on 15 March 2026",
        "Your Professional trial ends on 15 March 2026",
    ]
    assert sorted(mail.outbox[0].to) == sorted([admin.email, second_admin.email])
    assert "in 3 days" in mail.outbox[0].body and "(tomorrow)" in mail.outbox[1].body
    kinds = set(BillingNotice.objects.values_list("kind", flat=True))
    assert kinds == {"trial_ending_3_days", "trial_ending_1_day"}


def test_a_late_job_sends_only_the_latest_trial_notice(django_capture_on_commit_callbacks):
    trial_account_since(SIGNED_UP)
    assert run_on(datetime(2026, 3, 14, 6, tzinfo=UTC), django_capture_on_commit_callbacks) == 1
    assert len(mail.outbox) == 1 and "(tomorrow)" in mail.outbox[0].body


def test_the_notices_command_runs_the_job(capsys):
    paid_account_since(date(2026, 1, 10))
    with time_machine.travel(datetime(2026, 12, 20, tzinfo=UTC), tick=False):
        call_command("send_billing_notices")
        call_command("send_billing_notices")
    assert capsys.readouterr().out.splitlines() == ["1 notice(s) sent", "0 notice(s) sent"]
    assert BillingNotice.objects.filter(kind="renewal_coming_35", about=date(2027, 1, 10)).count() == 1
