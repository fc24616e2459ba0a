"""Benchmark of billing's lifecycle jobs: wall time and queries for N subscriptions due at once.

    .venv/bin/python bench/lifecycle_jobs.py [--accounts 500]

Uses a fresh SQLite file in a temporary directory (or BENCH_DATABASE_URL, e.g. a PostgreSQL
database of its own that it may flush), migrates it, makes N trial accounts and N paid accounts,
then times each job twice (the second run must find nothing to do) and prints the figures.
"""

import argparse
import collections
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=500)
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="bench-lifecycle-")
    os.environ.setdefault("SQLITE_PATH", str(Path(tmp) / "bench.sqlite3"))
    if "BENCH_DATABASE_URL" in os.environ:
        os.environ["DATABASE_URL"] = os.environ["BENCH_DATABASE_URL"]
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ.setdefault("AXES_ENABLED", "False")
    import django

    django.setup()
    import importlib

    import time_machine
    from django.apps import apps
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext, setup_test_environment

    setup_test_environment()  # emails go to a list in memory, not the console
    call_command("migrate", verbosity=0)
    if "BENCH_DATABASE_URL" in os.environ:
        call_command("flush", "--noinput", verbosity=0)
        importlib.import_module("billing.migrations.0002_seed_catalogue").seed(apps, None)

    from accounts.actors import Actor
    from accounts.services import account_create
    from billing import tasks
    from billing.models import Invoice, Subscription

    n = args.accounts
    start = datetime(2026, 1, 5, 9, tzinfo=UTC)
    made = time.perf_counter()
    with time_machine.travel(start, tick=False):
        for i in range(n):
            account_create(name=f"Trial {i}", admin_email=f"t{i}@trial.example", actor=Actor.system("bench"))
            account_create(name=f"Paid {i}", admin_email=f"p{i}@paid.example", actor=Actor.system("bench"),
                           plan_code="essentials", licenses=10)
    print(f"{engine(connection)}: {n} trial + {n} paid accounts made in {time.perf_counter() - made:.1f} s")

    def measure(label, moment, job):
        for attempt in ("first", "second"):
            # DEBUG logs every query; Django's log keeps 9000 at most, ours all of them.
            connection.ensure_connection()
            connection.queries_log = collections.deque(maxlen=10**7)
            with time_machine.travel(moment, tick=False), CaptureQueriesContext(connection) as q:
                t0 = time.perf_counter()
                result = job()
                elapsed = time.perf_counter() - t0
            print(f"{label:24} {attempt:6} run: {elapsed * 1000:8.1f} ms  {len(q):6} queries  result={result}")

    measure("send_billing_notices", start + timedelta(days=12), tasks.send_billing_notices)
    measure("expire_trials", start + timedelta(days=15), tasks.expire_trials)
    measure("renew_subscriptions", datetime(2027, 1, 5, 3, tzinfo=UTC), tasks.renew_subscriptions)
    measure("mark_invoices_past_due", datetime(2027, 2, 6, 3, tzinfo=UTC), tasks.mark_invoices_past_due)
    free = Subscription.objects.filter(plan__code="free").count()
    print(f"after: {free} on Free, {Invoice.objects.count()} invoices, "
          f"{Invoice.objects.filter(state='past_due').count()} past due")


def engine(connection):
    return connection.vendor


if __name__ == "__main__":
    main()
