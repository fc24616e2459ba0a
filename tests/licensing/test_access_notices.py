"""Issue 15: the Admins are told when data access is blocked (grace expired, Free over its cap,
storage over the limit) and when storage passes 80 % of the plan's limit; each once."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command

from accounts.actors import Actor
from accounts.models import Role
from licensing.compliance import compliance_evaluate, grace_periods_expire
from licensing.models import AccountLicensing
from licensing.notices import storage_notices_send
from tests.factories import add_member, make_account
from tests.licensing.conftest import event

pytestmark = pytest.mark.django_db
GB = 1024**3


def blocked_emails():
    return [m for m in mail.outbox if "Data access is blocked" in m.subject]


def test_grace_expired_emails_every_admin_once(make_agent, django_capture_on_commit_callbacks):
    account, admin = make_account(plan="professional", licenses=5)
    second = add_member(account, Role.ADMIN)
    add_member(account, Role.VIEWER)
    make_agent(account).checkin(*[event(f"u{n}", domain="ACME") for n in range(6)])
    ends = AccountLicensing.objects.get(account=account).grace_period_ends_at
    with time_machine.travel(ends + timedelta(minutes=1), tick=False):
        for _ in range(2):
            with django_capture_on_commit_callbacks(execute=True):
                grace_periods_expire()
    (email,) = blocked_emails()
    assert sorted(email.to) == sorted([admin.email, second.email])
    assert email.subject == f"{account.name}: Data access is blocked"
    assert "the 14-day grace period ended while more users are tracked" in email.body
    assert "6 users on 5 licenses" in email.body
    assert "/cart/?licenses=6" in email.body and "/users/" in email.body
    assert "Check-ins are still accepted" in email.body


def test_free_over_its_cap_is_told_at_once(make_agent, django_capture_on_commit_callbacks):
    account, admin = make_account(plan="free")
    with django_capture_on_commit_callbacks(execute=True):
        make_agent(account).checkin(*[event(f"u{n}", domain="X") for n in range(4)])
    (email,) = blocked_emails()
    assert email.to == [admin.email]
    assert "Free plan tracks at most 3 users and this account tracks 4" in email.body


def test_storage_over_the_limit_is_told(make_agent, django_capture_on_commit_callbacks):
    account, admin = make_account(plan="free")
    make_agent(account).checkin(event("eva"))
    AccountLicensing.objects.filter(account=account).update(storage_bytes=3 * GB + 1)
    with django_capture_on_commit_callbacks(execute=True):
        compliance_evaluate(account=account, actor=Actor.system("t"))
        compliance_evaluate(account=account, actor=Actor.system("t"))
    (email,) = blocked_emails()
    assert "over the plan's storage limit" in email.body
    assert "delete activity" in email.body.lower()


def test_storage_passing_80_percent_is_told_once_and_again_after_dropping(
    make_agent, django_capture_on_commit_callbacks,
):
    account, admin = make_account(plan="free")
    make_agent(account).checkin(event("eva"))
    row = AccountLicensing.objects.filter(account=account)
    cap = django_capture_on_commit_callbacks
    row.update(storage_bytes=int(2.3 * GB))  # 77 %
    with cap(execute=True):
        assert storage_notices_send() == 0
    row.update(storage_bytes=int(2.5 * GB))  # 83 %
    with cap(execute=True):
        assert storage_notices_send() == 1
        assert storage_notices_send() == 0
    (email,) = mail.outbox
    assert email.to == [admin.email]
    assert email.subject == f"{account.name}: storage 83% full (2.5 GB of 3.0 GB)"
    assert "at 100 % all of the account's data is hidden" in email.body
    row.update(storage_bytes=int(1 * GB))
    with cap(execute=True):
        assert storage_notices_send() == 0  # dropping below re-arms it
    row.update(storage_bytes=int(2.7 * GB))
    with cap(execute=True):
        assert storage_notices_send() == 1
    assert len(mail.outbox) == 2


def test_storage_notices_are_set_based(make_agent, django_assert_max_num_queries):
    def run(n):
        for _ in range(n):
            account, _ = make_account(plan="free")
            AccountLicensing.objects.update_or_create(account=account, defaults={"storage_bytes": int(2.6 * GB)})
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            assert storage_notices_send() == n
        return len(ctx.captured_queries)

    assert run(2) == run(5)


def test_the_storage_notices_command(capsys):
    account, _ = make_account(plan="free")
    AccountLicensing.objects.update_or_create(account=account, defaults={"storage_bytes": int(2.6 * GB)})
    call_command("send_storage_notices")
    assert capsys.readouterr().out.strip() == "1 storage notice(s) sent"
