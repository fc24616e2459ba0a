"""Every customer page at 10 and 100,000 tracked users (issue 13): queries and server time.

Walks every customer page from the URL resolver with the same skip list as
tests/test_page_queries.py, as the account's Admin, for two accounts in one PostgreSQL database
made anew each run (default ``bo_pages``): a small one and a big one, each with as many machines
as tracked users, three days of activity per user, a few agent keys, support cases, invoices and
invitations, and a quote request. For each page and size it prints the URL read, the queries
and the wall time of ``client.get`` with a streamed body read to its end (median and max of ``--reads`` reads after one warm read),
with the median time spent executing its queries (SQL).

    .venv/bin/python bench/pages.py [--sizes 10 100000] [--reads 5] [--database bo_pages]

Settings: config.settings with DEBUG off, persistent connections, sessions from the cache
(locmem, or Redis when REDIS_URL is set) and the sandbox gateway (the card page would call
Stripe on every read with the production gateway). Prints its figures; asserts nothing about time.
"""

import argparse
import logging
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
parser = argparse.ArgumentParser()
parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100_000])
parser.add_argument("--reads", type=int, default=5)
parser.add_argument("--database", default="bo_pages")
args = parser.parse_args()

print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as admin:
    admin.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
    admin.execute(f'CREATE DATABASE "{args.database}"')
os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{args.database}"
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
os.environ["DEBUG"] = "false"
os.environ["AXES_ENABLED"] = "false"
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import (  # noqa: E402
    CaptureQueriesContext,
    setup_test_environment,
    teardown_test_environment,
)
from django.utils import timezone  # noqa: E402

from accounts.actors import Actor  # noqa: E402
from accounts.models import Membership, Role, User  # noqa: E402
from accounts.services import account_create, invitation_create  # noqa: E402
from billing.invoices import invoice_issue_for_order  # noqa: E402
from billing.models import Order, OrderLine  # noqa: E402
from billing.pricing import line_amount_cents  # noqa: E402
from billing.quotes import quote_request  # noqa: E402
from licensing.models import AccountLicensing, ActivityDay, AgentKey, Machine, TrackedUser  # noqa: E402
from support.services import case_open  # noqa: E402
from tests.test_page_queries import candidate_urls  # noqa: E402

# Emails of the seeding (invitations, cases, invoices) to memory, not the console; torn down
# before the reads so that templates render as in production (no test instrumentation).
setup_test_environment()
# The walk asks for POST-only and foreign ids on purpose: their 404/405 warnings are noise here.
logging.getLogger("django.request").setLevel(logging.ERROR)
logging.getLogger("weasyprint").setLevel(logging.ERROR)  # its font-subsetting notice, once per PDF
call_command("migrate", verbosity=0)
call_command("collectstatic", interactive=False, verbosity=0)  # hashed names, as deployed (DEBUG off)

BATCH = 5000
ACTIVITY_DAYS = 3


def build(size):
    """An account of ``size`` tracked users and machines, as tests/test_page_queries.py builds
    one, with its side rows capped at 50 (a few keys, cases, invoices, invitations)."""
    account, admin = account_create(
        name=f"Pages {size}", slug=f"pages-{size}", admin_email=f"admin@pages{size}.example",
        admin_password="x", actor=Actor.system("bench"), plan_code="professional", licenses=size,
    )
    actor = Actor.for_user(admin)
    for n, role in enumerate((Role.VIEWER, Role.BILLING)):
        user = User.objects.create_user(f"member{n}@pages{size}.example", "x")
        Membership.objects.create(account=account, user=user, role=role)
    now = timezone.now()
    for start in range(0, size, BATCH):
        stop = min(size, start + BATCH)
        users = TrackedUser.objects.bulk_create(
            TrackedUser(account=account, identity_kind="domain", identity_scope="acme", identity_name=f"user{n:06d}",
                        domain="ACME", username=f"user{n:06d}", first_seen_at=now - timedelta(days=90),
                        last_log_record_at=now - timedelta(minutes=n))
            for n in range(start, stop)
        )
        Machine.objects.bulk_create(
            Machine(account=account, machine_id=f"M-{n}", hostname=f"pc-{n}") for n in range(start, stop)
        )
        ActivityDay.objects.bulk_create(
            ActivityDay(account=account, tracked_user=user, day=(now - timedelta(days=d)).date(), app="Excel",
                        site="example.com", rollup_key=f"k{d}", seconds=600)
            for user in users for d in range(ACTIVITY_DAYS)
        )
    AccountLicensing.objects.filter(account=account).update(used=size)
    extras = max(1, min(size // 10, 50))
    for n in range(extras):
        AgentKey.objects.create(account=account, name=f"key {n}", prefix=f"p{size}x{n}", key_hash=f"{size:032}{n:032}")
        case_open(account=account, user=admin, subject=f"Case {n}", description="Agent offline",
                  severity="normal", channel="email", actor=actor)
        invitation_create(account=account, email=f"invitee{n}@pages{size}.example", role=Role.VIEWER,
                          invited_by=admin)
        order = Order.objects.create(account=account, kind="cart", state="paid", paid_at=now)
        line = OrderLine.objects.create(
            order=order, description="Professional licenses", quantity=size, unit_price_cents=22_800,
            days=365, term_days=365, discount_percent=0, sort_order=0,
            amount_cents=line_amount_cents(quantity=size, unit_price_cents=22_800, days=365, term_days=365,
                                           discount_percent=0),
        )
        order.total_cents = line.amount_cents
        order.save(update_fields=["total_cents"])
        invoice_issue_for_order(order=order, actor=actor, paid=True)
    quote_request(account=account, topic="premier", message="Premier please", actor=actor)
    return account, admin


class SqlTime:
    """Wall time spent in the database cursor's execute (Django's captured times are rounded to
    the millisecond)."""

    def __init__(self):
        self.seconds = 0.0

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started


def walk(client, account, admin):
    """{route: (url, queries, median ms, max ms, median SQL ms)} of every page that answers the Admin 200."""
    client.force_login(admin)
    found = {}
    for route, candidates in candidate_urls(account):
        for url in candidates:
            if client.get(url).status_code != 200:  # the warm read
                continue
            timings, sql, queries = [], [], 0
            for _ in range(args.reads):
                database = SqlTime()
                with CaptureQueriesContext(connection) as ctx, connection.execute_wrapper(database):
                    started = time.perf_counter()
                    response = client.get(url)
                    if response.streaming:  # a CSV export: its rows are read as it is sent
                        b"".join(response.streaming_content)
                    timings.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, (url, response.status_code)
                queries = max(queries, len(ctx.captured_queries))
                sql.append(database.seconds * 1000)
            found[route] = (url, queries, statistics.median(timings), max(timings), statistics.median(sql))
            print(f"  {url:<44} {queries:>3} queries  median {found[route][2]:8.1f} ms  "
                  f"max {found[route][3]:8.1f} ms  (SQL {found[route][4]:7.1f} ms)")
            break
    return found


accounts = {}
for size in args.sizes:
    started = time.perf_counter()
    accounts[size] = build(size)
    print(f"made the account of {size:,} tracked users in {time.perf_counter() - started:.1f} s")
connection.cursor().execute("ANALYZE")
teardown_test_environment()

results = {}
for size, (account, admin) in accounts.items():
    print(f"\nAt {size:,} tracked users:")
    started = time.perf_counter()
    results[size] = walk(Client(), account, admin)
    print(f"walked {len(results[size])} pages at {size:,} tracked users in {time.perf_counter() - started:.1f} s")

header = "| page | " + " | ".join(f"{size:,} users: queries, median / max ms (median SQL)" for size in args.sizes) + " |"
print()
print(header)
print("| --- |" + " --- |" * len(args.sizes))
for route in sorted({route for found in results.values() for route in found}):
    cells = []
    for size in args.sizes:
        if route in results[size]:
            _, queries, median, worst, sql = results[size][route]
            cells.append(f"{queries}, {median:.1f} / {worst:.1f} (SQL {sql:.1f})")
        else:
            cells.append("not 200")
    print(f"| `/{route}` | " +" | ".join(cells) + " |")
print(f"\nload average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
