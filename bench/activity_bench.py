"""Benchmark of the activity code: ingestion throughput, and the daily jobs over many accounts.

Run against a database of its own (its data tables are emptied first):

    createdb -h 127.0.0.1 -U postgres bo_licensing_activity_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bo_licensing_activity_bench \
        .venv/bin/python bench/activity_bench.py --accounts 100000

Prints figures; asserts nothing about time.
"""

import argparse
import datetime as dt
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from accounts.models import Account  # noqa: E402
from billing.models import Plan, Subscription  # noqa: E402
from licensing.activity import (  # noqa: E402
    activity_ingest_batch,
    purge_data_history,
    snapshot_license_usage,
)
from licensing.models import (  # noqa: E402
    AccountLicensing,
    ActivityDay,
    IdentityKind,
    TrackedUser,
    UsageSnapshot,
)

APPS = ["chrome.exe", "excel.exe", "outlook.exe", "teams.exe", "word.exe", "code.exe"]
SITES = [f"site{n}.example.com" for n in range(40)]


def timed(label, func, *args, **kwargs):
    started = time.perf_counter()
    result = func(*args, **kwargs)
    elapsed = time.perf_counter() - started
    print(f"{label}: {elapsed:.2f} s ({result})")
    return result, elapsed


def reset():
    """Empties the bench database's accounts and all that hangs off them (not the catalogue)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {Account._meta.db_table} CASCADE")
        return
    for model in (ActivityDay, UsageSnapshot, TrackedUser, AccountLicensing, Subscription):
        model.objects.all().delete()
    Account.objects.all().delete()


def make_accounts(count):
    plans = {p.code: p for p in Plan.objects.all()}
    mix = ["professional", "essentials", "essentials_plus", "free"]
    batch = 5000
    for start in range(0, count, batch):
        with transaction.atomic():
            accounts = Account.objects.bulk_create(
                Account(name=f"Bench {n}", slug=f"bench-{n}") for n in range(start, min(count, start + batch))
            )
            Subscription.objects.bulk_create(
                Subscription(account=a, plan=plans[mix[a.pk % 4]], licenses=3 if mix[a.pk % 4] == "free" else 25)
                for a in accounts
            )
            AccountLicensing.objects.bulk_create(
                AccountLicensing(account=a, used=random.randint(0, 30)) for a in accounts
            )


def seed_old_activity(accounts, users_per_account, today):
    """Rows on 400, 200, 40 and 1 days ago for each account's users: the purge removes some."""
    rows = []
    for account in accounts:
        for n in range(users_per_account):
            user = TrackedUser(
                account=account, identity_kind=IdentityKind.DOMAIN, identity_scope="corp",
                identity_name=f"u{n}", domain="CORP", username=f"u{n}",
            )
            rows.append(user)
    TrackedUser.objects.bulk_create(rows, batch_size=5000)
    activity = []
    for user in rows:
        for age in (400, 200, 40, 1):
            activity.append(ActivityDay(
                account_id=user.account_id, tracked_user=user, day=today - dt.timedelta(days=age),
                app="excel.exe", site="", rollup_key=f"k{age}", seconds=60,
            ))
    ActivityDay.objects.bulk_create(activity, batch_size=5000)
    return len(activity)


def ingestion(account, batches, events_per_batch, items_per_event):
    users = list(TrackedUser.objects.filter(account=account, identity_name__startswith="ingest"))
    if not users:
        users = TrackedUser.objects.bulk_create(
            TrackedUser(account=account, identity_kind=IdentityKind.DOMAIN, identity_scope="corp",
                        identity_name=f"ingest{n}", domain="CORP", username=f"ingest{n}")
            for n in range(200)
        )
    now = dt.datetime.now(dt.UTC)
    requests = []
    for _ in range(batches):
        entries = []
        for _ in range(events_per_batch):
            items = [
                {"app": random.choice(APPS), "url": f"https://{random.choice(SITES)}/p/{random.randint(1, 9)}",
                 "title": "A window title", "seconds": random.randint(1, 300)}
                for _ in range(items_per_event)
            ]
            entries.append((random.choice(users), now, items))
        requests.append(entries)
    started = time.perf_counter()
    latencies = []
    for entries in requests:
        t = time.perf_counter()
        activity_ingest_batch(account=account, entries=entries)
        latencies.append(time.perf_counter() - t)
    elapsed = time.perf_counter() - started
    latencies.sort()
    events = batches * events_per_batch
    print(
        f"ingestion: {events} events x {items_per_event} items in {elapsed:.2f} s = {events / elapsed:,.0f} events/s; "
        f"per batch of {events_per_batch}: p50 {latencies[len(latencies) // 2] * 1000:.1f} ms, "
        f"p99 {latencies[int(len(latencies) * 0.99)] * 1000:.1f} ms"
    )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--with-activity", type=int, default=10_000, help="accounts given old activity")
    parser.add_argument("--batches", type=int, default=200)
    args = parser.parse_args()

    name = str(settings.DATABASES["default"]["NAME"])
    if not name.endswith("_bench") and not name.endswith("bench.sqlite3"):
        sys.exit("Use a database of its own whose name ends in _bench: its data is deleted.")
    print(f"database: {connection.vendor} {name}")
    call_command("migrate", verbosity=0)
    reset()
    today = dt.datetime.now(dt.UTC).date()

    timed(f"create {args.accounts:,} accounts", make_accounts, args.accounts)
    accounts = list(Account.objects.filter(slug__startswith="bench-").order_by("pk")[: args.with_activity])
    seeded, _ = timed(f"seed activity of {len(accounts):,} accounts", seed_old_activity, accounts, 2, today)

    timed("snapshot_license_usage (first run of the day)", snapshot_license_usage)
    timed("snapshot_license_usage (again: keeps the max)", snapshot_license_usage)
    deleted, _ = timed(f"purge_data_history over {seeded:,} rows", purge_data_history)
    timed("purge_data_history (again: nothing to do)", purge_data_history)

    ingestion(accounts[0], args.batches, 100, 3)
    ingestion(accounts[1], args.batches, 1, 3)


if __name__ == "__main__":
    main()
