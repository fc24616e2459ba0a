"""The task cluster killed in the middle of each job, then restarted, ends in the same state as
an undisturbed run (issue 7, Faults).

Each test builds two identical worlds of 20 accounts with work for one job. World A: the job
runs undisturbed (the management command, in the test's process). World B: the same command
runs in a subprocess (``manage.py <job>`` against the test database), is SIGKILLed in the
middle, then run again, in a new process, to completion. Then B must equal A row
for row, the emails printed by the killed and the second run together must equal the
undisturbed run's (the console mailer prints them, unbuffered, so a kill loses none already
sent), and A is unchanged by B's runs (the job is state-based).

"In the middle" is made deterministic with PostgreSQL's own locks, not a hook in the app: a
second connection holds a lock the job needs at a chosen point (the row of the last item for
jobs that commit item by item; a table written after the job's first UPDATE for jobs that run
in one transaction), the test waits until the job's backend waits on it (pg_stat_activity),
then kills the command. The kill then lands after some items committed (per-item jobs: proved
by a partial state) or after the job's first writes and before its commit (set-based jobs:
proved atomic, the state after the kill is the state before). The last test does the same
through the real django-q2 cluster (``manage.py qcluster``, ORM broker).

PostgreSQL only: subprocesses and locks need a server (SQLite's file lock would be the test).
"""

import io
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from accounts.models import AuditEntry, OutboundEmail
from billing.models import (
    BillingNotice,
    Invoice,
    InvoiceState,
    Order,
    Subscription,
    SubscriptionState,
)
from licensing.activity import storage_recompute
from licensing.models import AccountLicensing, ActivityDay, ComplianceState, UsageSnapshot
from staff.models import DailyMetrics
from support.models import SupportCase, SupportPlan
from tests.billing.lifecycle_support import open_invoice
from tests.factories import SupportCaseFactory, make_account
from tests.helpers import requires_postgres
from tests.licensing.activity_helpers import tracked_user

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
N = 20
SEPARATOR = "-" * 79  # the console mailer's line after each message


# --- running the command against the test database --------------------------------------------


def _dsn():
    s = connection.settings_dict
    return (f"postgres://{s['USER'] or 'postgres'}{':' + s['PASSWORD'] if s['PASSWORD'] else ''}"
            f"@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}")


def _env():
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "EMAIL_URL", "DJANGO_ENV"}}
    env.update(DJANGO_SETTINGS_MODULE="config.settings", DATABASE_URL=_dsn(), PYTHONUNBUFFERED="1",
               Q_WORKERS="1")
    return env


def _start(*args):
    return subprocess.Popen([sys.executable, "manage.py", *args], cwd=ROOT, env=_env(), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def _run(job):
    done = subprocess.run([sys.executable, "manage.py", job], cwd=ROOT, env=_env(), text=True,
                          capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _queued(OrmQ, func="billing.tasks.renew_subscriptions"):
    """Queued tasks of ``func`` (the invoices' emails are queued tasks too)."""
    return sum(1 for row in OrmQ.objects.all() if row.func() == func)


def _emails(output):
    return sum(1 for line in output.splitlines() if line == SEPARATOR)


class Blocker:
    """A second connection that holds a lock the job will need, and sees who waits for it."""

    def __init__(self):
        self.conn = psycopg.connect(_dsn())  # a transaction is open from the first statement

    def hold(self, sql, params=()):
        self.conn.execute(sql, params)

    def wait_for_waiter(self, process, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with psycopg.connect(_dsn(), autocommit=True) as probe:
                row = probe.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock' AND pid <> %s", [self.conn.info.backend_pid],
                ).fetchone()
            if row:
                return row[0]
            if process.poll() is not None:
                raise AssertionError(f"the job ended before reaching the lock: {process.communicate()}")
            time.sleep(0.05)
        raise AssertionError("the job never waited for the lock")

    def release(self, orphan_pid):
        # The killed command's server backend still waits for the lock; end it as PostgreSQL
        # does when it notices the client is gone (its transaction rolls back).
        self.conn.execute("SELECT pg_terminate_backend(%s)", [orphan_pid])
        self.conn.rollback()
        self.conn.close()


def _kill_in_the_middle(job, lock_sql, params=()):
    """Runs ``job`` until it waits for the lock, SIGKILLs it, releases the lock; returns what
    the killed command printed."""
    blocker = Blocker()
    blocker.hold(lock_sql, params)
    process = _start(job)
    try:
        orphan = blocker.wait_for_waiter(process)
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate(timeout=30)
        assert process.returncode == -signal.SIGKILL
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    blocker.release(orphan)
    return output


def _table(model):
    return connection.ops.quote_name(model._meta.db_table)


def _check_job(job, *, setup, snapshot, lock, atomic, after_kill_check=None):
    """World A undisturbed; world B killed then run again; B == A, emails included."""
    setup("A")
    # The undisturbed run in this process (the same command; a second interpreter would only
    # cost start-up time): its emails land in the test outbox.
    # Emails are queued in the job's transaction (accounts.mail): count the rows each run made.
    queued_before = OutboundEmail.objects.count()
    call_command(job, stdout=io.StringIO())
    undisturbed_emails = OutboundEmail.objects.count() - queued_before
    a = snapshot("A")
    assert a != setup.before, "the job did nothing: the test would prove nothing"

    setup("B")
    before = snapshot("B")
    assert before == setup.before
    sql, params = lock("B")
    queued_before = OutboundEmail.objects.count()
    killed = _kill_in_the_middle(job, sql, params)
    after_kill = snapshot("B")
    if atomic:
        assert after_kill == before, "a job in one transaction left half its work"
    else:
        assert after_kill != before and after_kill != a, "the kill did not land in the middle"
    if after_kill_check:
        after_kill_check(after_kill)
    rerun = _run(job)

    assert snapshot("B") == a
    assert snapshot("A") == a
    assert OutboundEmail.objects.count() - queued_before == undisturbed_emails
    assert _emails(killed) + _emails(rerun) == 0, "an email was sent from inside the job"
    return a


class Setup:
    """Builds a world and remembers its snapshot before the job (the same for A and B)."""

    def __init__(self, build, snapshot):
        self.build, self.snapshot, self.before = build, snapshot, None

    def __call__(self, world):
        self.build(world)
        self.before = self.snapshot(world)


def _accounts(world, **kwargs):
    return [make_account(name=f"{world} {i:02d}", **kwargs)[0] for i in range(N)]


def _key(name):
    return name.split(" ", 1)[1]


def _audits(account, kind):
    return AuditEntry.objects.filter(account=account, kind=kind).count()


# --- billing ------------------------------------------------------------------------------------


def test_expire_trials_killed_mid_transaction():
    def build(world):
        accounts = _accounts(world)
        Subscription.objects.filter(account__in=accounts).update(trial_ends_at=timezone.now() - timedelta(hours=1))

    def snapshot(world):
        return {
            _key(s.account.name): (s.state, s.plan.code, s.licenses, s.addons.count(),
                                   _audits(s.account, "subscription.trial_expired"))
            for s in Subscription.objects.filter(account__name__startswith=f"{world} ").select_related("plan", "account")
        }

    final = _check_job(
        "expire_trials", setup=Setup(build, snapshot), snapshot=snapshot, atomic=True,
        # Written after the subscriptions' UPDATE, before the commit.
        lock=lambda world: (f"LOCK TABLE {_table(AuditEntry)} IN EXCLUSIVE MODE", ()),
    )
    assert {plan for _, plan, *_ in final.values()} == {"free"}


def test_renew_subscriptions_killed_between_two_renewals():
    today = timezone.localdate()

    def build(world):
        accounts = _accounts(world, plan="professional", licenses=10)
        Subscription.objects.filter(account__in=accounts).update(term_start=today - timedelta(days=365), term_end=today)

    def snapshot(world):
        return {
            _key(s.account.name): (
                s.state, s.term_start, s.term_end,
                Order.objects.filter(renewal_of=s).count(),
                list(Invoice.objects.filter(account=s.account).values_list("state", "total_cents")),
                _audits(s.account, "subscription.renewed"),
            )
            for s in Subscription.objects.filter(account__name__startswith=f"{world} ").select_related("account")
        }

    def lock(world):
        last = Subscription.objects.filter(account__name__startswith=f"{world} ").latest("pk")
        return f"SELECT 1 FROM {_table(Subscription)} WHERE id = %s FOR UPDATE", (last.pk,)

    def all_but_the_last_renewed(state):
        assert sorted(term_end for _, _, term_end, *_ in state.values()) == [today] + [today + timedelta(days=365)] * (N - 1)

    final = _check_job("renew_subscriptions", setup=Setup(build, snapshot), snapshot=snapshot, lock=lock, atomic=False,
                       after_kill_check=all_but_the_last_renewed)
    assert {term_end for _, _, term_end, *_ in final.values()} == {today + timedelta(days=365)}
    # A killed renewal burnt no invoice number: the numbers are gapless across both worlds.
    numbers = sorted(Invoice.objects.exclude(number=None).values_list("number", flat=True))
    assert numbers == list(range(numbers[0], numbers[0] + 2 * N))


def test_send_billing_notices_killed_between_two_notices():
    def build(world):
        accounts = _accounts(world)
        Subscription.objects.filter(account__in=accounts).update(trial_ends_at=timezone.now() + timedelta(days=2))

    def snapshot(world):
        return {
            _key(s.account.name): sorted(BillingNotice.objects.filter(subscription=s).values_list("kind", flat=True))
            for s in Subscription.objects.filter(account__name__startswith=f"{world} ").select_related("account")
        }

    def lock(world):
        # The notice's row refers to the subscription: its foreign key check waits for this lock.
        # The job reads the trials without an ORDER BY: the same query here says which comes last.
        now = timezone.now()
        trials = Subscription.objects.select_related("account", "plan").filter(
            state=SubscriptionState.TRIALING, trial_ends_at__gt=now, trial_ends_at__lt=now + timedelta(days=4))
        last = [s for s in trials if s.account.name.startswith(f"{world} ")][-1]
        return f"SELECT 1 FROM {_table(Subscription)} WHERE id = %s FOR UPDATE", (last.pk,)

    final = _check_job("send_billing_notices", setup=Setup(build, snapshot), snapshot=snapshot, lock=lock, atomic=False)
    assert all(len(kinds) == 1 for kinds in final.values())


def test_mark_invoices_past_due_killed_mid_transaction():
    def build(world):
        for account in _accounts(world, plan="professional", licenses=10):
            open_invoice(account, due_at=timezone.now() - timedelta(days=1))

    def snapshot(world):
        return {
            _key(i.account.name): (i.state, i.account.subscription.state, i.notices.count(),
                                   _audits(i.account, "invoice.past_due"))
            for i in Invoice.objects.filter(account__name__startswith=f"{world} ").select_related("account__subscription")
        }

    final = _check_job(
        "mark_invoices_past_due", setup=Setup(build, snapshot), snapshot=snapshot, atomic=True,
        lock=lambda world: (f"LOCK TABLE {_table(AuditEntry)} IN EXCLUSIVE MODE", ()),
    )
    assert set(final.values()) == {(InvoiceState.PAST_DUE, SubscriptionState.PAST_DUE, 1, 1)}


# --- licensing ----------------------------------------------------------------------------------


def test_expire_grace_periods_killed_mid_transaction():
    def build(world):
        accounts = _accounts(world, plan="professional", licenses=10)
        now = timezone.now()
        AccountLicensing.objects.filter(account__in=accounts[:15]).update(
            state=ComplianceState.GRACE, used=12, over_since=now - timedelta(days=31),
            grace_period_ends_at=now - timedelta(hours=1))
        AccountLicensing.objects.filter(account__in=accounts[15:]).update(
            state=ComplianceState.GRACE, used=12, over_since=now - timedelta(days=28),
            grace_period_ends_at=now + timedelta(days=2))

    def snapshot(world):
        return {
            _key(row.account.name): (row.state, row.blocked_reason, row.grace_3_day_notice_sent_at is not None,
                                     row.grace_1_day_notice_sent_at is not None,
                                     _audits(row.account, "compliance.blocked"))
            for row in AccountLicensing.objects.filter(account__name__startswith=f"{world} ").select_related("account")
        }

    final = _check_job(
        "expire_grace_periods", setup=Setup(build, snapshot), snapshot=snapshot, atomic=True,
        lock=lambda world: (f"LOCK TABLE {_table(AuditEntry)} IN EXCLUSIVE MODE", ()),
    )
    assert sum(state == ComplianceState.BLOCKED for state, *_ in final.values()) == 15
    assert sum(three_days for _, _, three_days, _, _ in final.values()) == N - 15


def test_purge_data_history_killed_between_the_deletes_and_the_storage_counters():
    today = timezone.localdate()

    def build(world):
        rows = []
        for account in _accounts(world, plan="professional", licenses=10):
            user = tracked_user(account)
            for age in (1, 2, 800, 900, 1000):
                rows.append(ActivityDay(account=account, tracked_user=user, day=today - timedelta(days=age),
                                        app="Excel", rollup_key=f"k{age}", seconds=600))
        ActivityDay.objects.bulk_create(rows)
        storage_recompute(account_ids=[r.account_id for r in rows])

    def snapshot(world):
        return {
            _key(row.account.name): (
                sorted(ActivityDay.objects.filter(account=row.account).values_list("day", flat=True)),
                row.storage_bytes, row.state,
            )
            for row in AccountLicensing.objects.filter(account__name__startswith=f"{world} ").select_related("account")
        }

    def lock(world):
        # The deletes commit one by one; the storage counters are written after them.
        last = AccountLicensing.objects.filter(account__name__startswith=f"{world} ").latest("pk")
        return f"SELECT 1 FROM {_table(AccountLicensing)} WHERE id = %s FOR UPDATE", (last.pk,)

    final = _check_job("purge_data_history", setup=Setup(build, snapshot), snapshot=snapshot, lock=lock, atomic=False)
    assert all(len(days) == 2 for days, _, _ in final.values())


def test_snapshot_license_usage_killed_before_its_one_statement_commits():
    def build(world):
        for i, account in enumerate(_accounts(world, plan="professional", licenses=10)):
            AccountLicensing.objects.filter(account=account).update(used=i)

    def snapshot(world):
        return {
            _key(s.account.name): (s.day, s.used, s.licenses)
            for s in UsageSnapshot.objects.filter(account__name__startswith=f"{world} ").select_related("account")
        }

    _check_job(
        "snapshot_license_usage", setup=Setup(build, snapshot), snapshot=snapshot, atomic=True,
        lock=lambda world: (f"LOCK TABLE {_table(UsageSnapshot)} IN EXCLUSIVE MODE", ()),
    )


# --- support, staff -----------------------------------------------------------------------------


def test_flag_support_breaches_killed_mid_transaction():
    def build(world):
        plan = SupportPlan.objects.order_by("pk").first()
        for account in _accounts(world, plan="professional", licenses=10):
            SupportCaseFactory(account=account, plan=plan, subject="Agent offline",
                               first_response_due_at=timezone.now() - timedelta(hours=1))

    def snapshot(world):
        return {
            _key(c.account.name): c.breached_at is not None
            for c in SupportCase.objects.filter(account__name__startswith=f"{world} ").select_related("account")
        }

    _check_job(
        "flag_support_breaches", setup=Setup(build, snapshot), snapshot=snapshot, atomic=True,
        # Read (to word the emails) after the cases' UPDATE, before the commit.
        lock=lambda world: (f"LOCK TABLE {_table(SupportPlan)} IN ACCESS EXCLUSIVE MODE", ()),
    )


def test_snapshot_business_metrics_killed_before_it_commits():
    """One row a day for the whole database: the undisturbed row is taken, deleted, then the
    killed and the second run must make it again, equal."""
    _accounts("A", plan="professional", licenses=10)
    _accounts("B")
    call_command("snapshot_business_metrics", stdout=io.StringIO())
    undisturbed = list(DailyMetrics.objects.values("day", "arr_cents_by_plan", "accounts_by_state"))
    assert len(undisturbed) == 1 and undisturbed[0]["arr_cents_by_plan"]
    DailyMetrics.objects.all().delete()

    _kill_in_the_middle("snapshot_business_metrics", f"LOCK TABLE {_table(DailyMetrics)} IN EXCLUSIVE MODE")
    assert not DailyMetrics.objects.exists()
    _run("snapshot_business_metrics")
    assert list(DailyMetrics.objects.values("day", "arr_cents_by_plan", "accounts_by_state")) == undisturbed


# --- the real cluster -----------------------------------------------------------------------------


@pytest.mark.skipif(bool(settings.Q_CLUSTER.get("redis")), reason="drives the ORM broker's queue table")
def test_the_task_cluster_killed_during_renewals_then_restarted_finishes_them_once():
    """``manage.py qcluster`` runs the renew_subscriptions schedule; SIGKILL (cluster and
    workers) after some renewals committed; the task, whose lease the dead worker held, is
    delivered again by the restarted cluster (the lease's expiry brought forward, as the retry
    period would), and every subscription ends renewed once."""
    from django_q.brokers import get_broker
    from django_q.models import OrmQ, Schedule, Success
    from django_q.scheduler import scheduler

    from accounts.jobs import schedules_sync

    today = timezone.localdate()
    accounts = _accounts("Q", plan="professional", licenses=10)
    subscriptions = Subscription.objects.filter(account__in=accounts)
    subscriptions.update(term_start=today - timedelta(days=365), term_end=today)
    schedules_sync()
    Schedule.objects.exclude(name="renew_subscriptions").delete()
    Schedule.objects.filter(name="renew_subscriptions").update(next_run=timezone.now() - timedelta(minutes=1))

    def renewed():
        return subscriptions.filter(term_end=today + timedelta(days=365)).count()

    blocker = Blocker()
    blocker.hold(f"SELECT 1 FROM {_table(Subscription)} WHERE id = %s FOR UPDATE", [subscriptions.latest("pk").pk])
    cluster = _start("qcluster")
    try:
        # What the cluster's guard does every 30 seconds, done now: the due schedule is queued.
        scheduler(broker=get_broker())
        assert _queued(OrmQ) == 1
        orphan = blocker.wait_for_waiter(cluster)
        os.killpg(cluster.pid, signal.SIGKILL)
        cluster.communicate(timeout=30)
    finally:
        if cluster.poll() is None:
            os.killpg(cluster.pid, signal.SIGKILL)
            cluster.wait()
    blocker.release(orphan)
    assert renewed() == N - 1, "the kill did not land in the middle"
    assert _queued(OrmQ) == 1, "the task is still queued, leased to the dead worker"

    OrmQ.objects.update(lock=timezone.now() - timedelta(seconds=1))
    cluster = _start("qcluster")
    try:
        # Generous: a cluster starting its workers beside a parallel suite on 2 busy CPUs took over 60 s.
        deadline = time.monotonic() + 180
        while not Success.objects.filter(func="billing.tasks.renew_subscriptions").exists():
            assert time.monotonic() < deadline, "the restarted cluster did not finish the task"
            assert cluster.poll() is None, cluster.communicate()
            time.sleep(0.2)
    finally:
        # The task is acknowledged (Success saved, queue row deleted): no need of a slow stop.
        os.killpg(cluster.pid, signal.SIGKILL)
        cluster.communicate(timeout=30)

    assert renewed() == N
    assert Order.objects.filter(renewal_of__in=subscriptions).count() == N
    assert Invoice.objects.filter(account__in=accounts).count() == N
    assert _queued(OrmQ) == 0
