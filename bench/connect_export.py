"""Benchmark of the ActivConnect export: a nightly sync of a 10,000-user account's 12 months of
daily activity, read through the whole stack (the API's view, its queries, the CSV writer).

Run against a database of its own (its accounts are emptied first):

    createdb -h 127.0.0.1 -U postgres bo_connect_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bo_connect_bench \
        .venv/bin/python bench/connect_export.py

Scale: CONNECT_BENCH_USERS (10000), CONNECT_BENCH_DAYS (365), CONNECT_BENCH_ROWS (rows per user
per day, 1); CONNECT_BENCH_REUSE=1 keeps the rows of the last run of the same size. Prints rows/s of the full CSV export and of the JSON pages, and the peak memory
(tracemalloc) of exports of a quarter, a half and all of the rows: it does not grow with the
size of the export (the CSV is streamed in keyset chunks). Asserts nothing about time.
"""

import datetime as dt
import os
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import override_settings  # noqa: E402

from accounts.actors import Actor  # noqa: E402
from accounts.models import Account  # noqa: E402
from billing.models import AddOn, Plan, Subscription, SubscriptionAddOn  # noqa: E402
from connect.services import api_token_create  # noqa: E402
from licensing.models import ActivityDay, IdentityKind, TrackedUser  # noqa: E402
from licensing.reports import today_utc  # noqa: E402

USERS = int(os.environ.get("CONNECT_BENCH_USERS", "10000"))
DAYS = int(os.environ.get("CONNECT_BENCH_DAYS", "365"))
ROWS = int(os.environ.get("CONNECT_BENCH_ROWS", "1"))
APPS = ["chrome.exe", "excel.exe", "outlook.exe", "teams.exe", "word.exe", "code.exe"]


def reset():
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {Account._meta.db_table} CASCADE")
        return
    ActivityDay.objects.all().delete()
    TrackedUser.objects.all().delete()
    Account.objects.all().delete()


def make_account():
    account = Account.objects.create(name="Export bench", slug="export-bench")
    subscription = Subscription.objects.create(
        account=account, plan=Plan.objects.get(code="professional"), licenses=USERS, state="active",
    )
    SubscriptionAddOn.objects.create(subscription=subscription, addon=AddOn.objects.get(code="activconnect"))
    return account


def make_activity(account):
    """USERS tracked users, each with ROWS rows a day for DAYS days up to today."""
    TrackedUser.objects.bulk_create(
        TrackedUser(account=account, identity_kind=IdentityKind.DOMAIN, identity_scope="corp",
                    identity_name=f"user{n}", domain="CORP", username=f"user{n}")
        for n in range(USERS)
    )
    first = today_utc() - dt.timedelta(days=DAYS - 1)
    table = ActivityDay._meta.db_table
    if connection.vendor == "postgresql":
        # One set-based statement: generating 3.65 million rows row by row would be the bench.
        with connection.cursor() as cursor:
            cursor.execute(
                f"""INSERT INTO {table} (account_id, tracked_user_id, day, app, site, url_path, title,
                                         rollup_key, seconds)
                SELECT %s, u.id, %s::date + d, (%s::text[])[1 + (u.id + r) %% 6], 'site' || r || '.example.com',
                       '', '', md5(u.id || '-' || d || '-' || r)::text, 60 + (u.id * d) %% 3600
                FROM {TrackedUser._meta.db_table} u, generate_series(0, %s) d, generate_series(1, %s) r
                WHERE u.account_id = %s
                ORDER BY d, u.id, r""",  # as agents write them: day after day
                [account.pk, first, APPS, DAYS - 1, ROWS, account.pk],
            )
        return
    users = list(TrackedUser.objects.filter(account=account).values_list("pk", flat=True))
    batch = []
    for d in range(DAYS):
        day = first + dt.timedelta(days=d)
        for uid in users:
            for r in range(ROWS):
                batch.append(ActivityDay(
                    account=account, tracked_user_id=uid, day=day, app=APPS[(uid + r) % 6],
                    site=f"site{r}.example.com", rollup_key=f"{uid}-{d}-{r}", seconds=60,
                ))
        if len(batch) >= 20000:
            with transaction.atomic():
                ActivityDay.objects.bulk_create(batch, batch_size=2000)
            batch = []
    ActivityDay.objects.bulk_create(batch, batch_size=2000)


def export_csv(client, secret, *, end=None):
    params = {"end": end.isoformat()} if end else {}
    response = client.get("/api/connect/v1/activity", params,
                          headers={"Authorization": f"Bearer {secret}", "Accept": "text/csv"})
    assert response.status_code == 200, response.content
    rows = size = 0
    for chunk in response.streaming_content:
        rows += chunk.count(b"\n")
        size += len(chunk)
    return rows - 1, size  # less the header


def export_json_pages(client, secret, max_pages):
    rows, cursor = 0, None
    for _ in range(max_pages):
        params = {"limit": 1000, **({"cursor": cursor} if cursor else {})}
        body = client.get("/api/connect/v1/activity", params, headers={"Authorization": f"Bearer {secret}"}).json()
        rows += len(body["data"])
        cursor = body["next_cursor"]
        if not body["has_more"]:
            break
    return rows


def main():
    call_command("migrate", verbosity=0)
    print(f"database: {connection.vendor}; {USERS} users x {DAYS} days x {ROWS} rows = {USERS * DAYS * ROWS:,} rows")
    account = Account.objects.filter(slug="export-bench").first()
    if (os.environ.get("CONNECT_BENCH_REUSE") and account
            and ActivityDay.objects.filter(account=account).count() == USERS * DAYS * ROWS):
        print("reusing the rows of the last run (CONNECT_BENCH_REUSE)")
    else:
        reset()
        account = make_account()
        started = time.perf_counter()
        make_activity(account)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {ActivityDay._meta.db_table}")
        print(f"generated in {time.perf_counter() - started:.1f} s")
    secret = api_token_create(account=account, scopes=["read_activity"], actor=Actor.system("bench"))[1]
    client = Client()

    started = time.perf_counter()
    rows, size = export_csv(client, secret)
    elapsed = time.perf_counter() - started
    print(f"full CSV export: {rows:,} rows, {size / 1e6:.0f} MB in {elapsed:.1f} s = {rows / elapsed:,.0f} rows/s")

    started = time.perf_counter()
    paged = export_json_pages(client, secret, max_pages=200)
    elapsed = time.perf_counter() - started
    print(f"JSON pages of 1,000: {paged:,} rows in {elapsed:.1f} s = {paged / elapsed:,.0f} rows/s")

    # Peak memory of exports of growing size: the same, whatever the size (streamed).
    first = today_utc() - dt.timedelta(days=DAYS - 1)
    for share in (4, 2, 1):
        end = first + dt.timedelta(days=DAYS // share - 1)
        tracemalloc.start()
        rows, _ = export_csv(client, secret, end=end)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(f"export of {rows:>10,} rows: peak Python memory {peak / 1e6:.1f} MB")


if __name__ == "__main__":
    assert "bench" in settings.DATABASES["default"]["NAME"] or os.environ.get("CONNECT_BENCH_ANY_DB"), (
        "run it on a database of its own (its accounts are emptied): a name with 'bench' in it"
    )
    with override_settings(CONNECT_API_RATE_LIMIT=(10**9, 60)):
        main()
