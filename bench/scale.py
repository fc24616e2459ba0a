"""Scale benchmark: the pages and the grace-period job at the sizes issue 3 and 6 name.

- the Users page and the avatar ratio of an account with 100,000 tracked users;
- the staff accounts changelist with 100,000 accounts;
- ``expire_grace_periods`` over 100,000 accounts whose grace periods are due, plus 10,000 due a
  reminder.

Runs on a PostgreSQL database of its own, made anew each run (default ``bo_scale``):

    .venv/bin/python bench/scale.py [--users 100000] [--accounts 100000]

Prints query counts and timings; asserts nothing about time.
"""

import argparse
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
parser = argparse.ArgumentParser()
parser.add_argument("--users", type=int, default=100_000)
parser.add_argument("--accounts", type=int, default=100_000)
parser.add_argument("--database", default="bo_scale")
args = parser.parse_args()

with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as admin:
    admin.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
    admin.execute(f'CREATE DATABASE "{args.database}"')
os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{args.database}"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ["AXES_ENABLED"] = "false"

import django  # noqa: E402

django.setup()

from django.core import mail  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.actors import Actor  # noqa: E402
from accounts.models import Account, User  # noqa: E402
from accounts.services import account_create  # noqa: E402
from billing.models import Plan, Subscription  # noqa: E402
from licensing.compliance import grace_periods_expire  # noqa: E402
from licensing.models import AccountLicensing, TrackedUser  # noqa: E402

setup_test_environment()  # locmem email, and ALLOWED_HOSTS gets "testserver"
call_command("migrate", verbosity=0)


def measure(client, url, runs=5):
    client.get(url)  # warm-up
    timings = []
    for _ in range(runs):
        with CaptureQueriesContext(connection) as ctx:
            started = time.perf_counter()
            response = client.get(url)
            timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    timings.sort()
    return len(ctx.captured_queries), timings[len(timings) // 2], timings[-1]


def report(label, client, url):
    queries, p50, worst = measure(client, url)
    print(f"{label:<58} {queries:>3} queries  p50 {p50:7.1f} ms  max {worst:7.1f} ms")


# --- one account with many tracked users ----------------------------------------------------------
account, admin = account_create(
    name="Bigcorp", slug="bigcorp", admin_email="admin@bigcorp.example", admin_password="x",
    actor=Actor.system("bench"), plan_code="professional", licenses=args.users,
)
now = timezone.now()
started = time.perf_counter()
TrackedUser.objects.bulk_create(
    (
        TrackedUser(
            account=account, identity_kind="domain", identity_scope="bigcorp", identity_name=f"user{n:06d}",
            domain="BIGCORP", username=f"user{n:06d}", first_seen_at=now - timedelta(days=90),
            last_log_record_at=now - timedelta(minutes=n),
        )
        for n in range(args.users)
    ),
    batch_size=5000,
)
AccountLicensing.objects.filter(account=account).update(used=args.users)
connection.cursor().execute("ANALYZE")
print(f"made {args.users:,} tracked users in {time.perf_counter() - started:.1f} s")
client = Client()
client.force_login(admin)
print(f"\nAn account with {args.users:,} tracked users (PostgreSQL, in-process test client):")
report("dashboard (avatar ratio, banner, chart)", client, "/")
report("/users/ sorted by last log record (oldest first)", client, "/users/")
report("/users/ sorted by name, page 20", client, "/users/?sort=name&page=20")
report("/users/ searched", client, "/users/?q=user0999")
report("/users/ filtered to Do Not Track", client, "/users/?state=do_not_track")

# The substring search with and without the trigram indexes (licensing 0006, issue 13).
from importlib import import_module  # noqa: E402

trigram = import_module("licensing.migrations.0007_tracked_user_search_trigram")
report("/users/ searched inside the name ('r09999'), trigram", client, "/users/?q=r09999")
report("/users/ searched, no match ('zz-nobody'), trigram", client, "/users/?q=zz-nobody")
with connection.schema_editor() as editor:
    trigram.drop(None, editor)
report("/users/ searched inside the name, no trigram index", client, "/users/?q=r09999")
report("/users/ searched, no match, no trigram index", client, "/users/?q=zz-nobody")
with connection.schema_editor() as editor:
    trigram.create(None, editor)

# --- many accounts --------------------------------------------------------------------------------
professional = Plan.objects.get(code="professional")
started = time.perf_counter()
accounts = Account.objects.bulk_create(
    (Account(name=f"Customer {n}", slug=f"customer-{n}") for n in range(args.accounts)), batch_size=5000
)
Subscription.objects.bulk_create(
    (Subscription(account=a, plan=professional, licenses=10, state="active",
                  term_start=now.date(), term_end=now.date() + timedelta(days=365)) for a in accounts),
    batch_size=5000,
)
reminder_count = args.accounts // 10
AccountLicensing.objects.bulk_create(
    (
        AccountLicensing(
            account=a, used=12, state="grace", over_since=now - timedelta(days=14),
            grace_period_ends_at=(now + timedelta(hours=20)) if n < reminder_count else (now - timedelta(minutes=5)),
        )
        for n, a in enumerate(accounts)
    ),
    batch_size=5000,
)
connection.cursor().execute("ANALYZE")
print(f"\nmade {args.accounts:,} accounts in {time.perf_counter() - started:.1f} s")

staff = User.objects.create_superuser("staff@bench.example", "x")
staff_client = Client()
staff_client.force_login(staff)
print(f"\nThe staff admin with {Account.objects.count():,} accounts:")
report("accounts changelist", staff_client, "/admin/staff/staffaccount/")
report("accounts changelist, in grace", staff_client, "/admin/staff/staffaccount/?state=grace")
report("accounts changelist, searched", staff_client, "/admin/staff/staffaccount/?q=customer-9999")
report("admin index (dashboard)", staff_client, "/admin/")

print(f"\nexpire_grace_periods over {args.accounts:,} accounts in grace "
      f"({args.accounts - reminder_count:,} due, {reminder_count:,} due a 1-day reminder):")
for run in (1, 2):
    with CaptureQueriesContext(connection) as ctx:
        started = time.perf_counter()
        blocked, reminded = grace_periods_expire()
        elapsed = time.perf_counter() - started
    print(f"  run {run}: {elapsed:.2f} s, {len(ctx.captured_queries)} queries, "
          f"{blocked:,} blocked, {reminded:,} reminded, {len(mail.outbox)} emails so far")
