"""Issue 13: every customer page answers in at most 8 queries, whatever the account's size.

The pages are walked from the URL resolver, as the tenant walk does (tests/test_tenant_isolation.py):
a new page is pinned without editing this file. Each page is read by the account's Admin (who
sees the most) with the account's own ids, once for a small account and once for one with 40
times the users, machines, activity, cases and invoices; a page that answers 200 must do it in
at most ``MAX_QUERIES`` both times.
"""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.actors import Actor
from accounts.models import Role
from accounts.services import invitation_create
from billing.quotes import quote_request
from licensing.models import ActivityDay, AgentKey, Machine, TrackedUser
from support.services import case_open
from tests.factories import add_member, make_account
from tests.test_tenant_isolation import account_models, routes

MAX_QUERIES = 8
# Pages still over the goal (issue 13, left to do: docs/performance.md, "Pages"), pinned where
# they are so they cannot grow; remove a line when its page is brought down.
NOT_YET = {
           # Not a page: the account's export download (issue 15). One read per file of its zip
           # (users, machines, activity, members, invoices: five tables, streamed), the
           # data-history window and the Screen Details entitlement (one read each, from
           # licensing.reports: reading both in one would bring it to 9), the audit row it
           # writes, and the request's user and membership: 8 would mean joining two files'
           # unrelated tables into one read.
           "account/export/": 10}
SKIP = ("logout/", "api/", "healthz", "bench/")


def build(size):
    account, admin = make_account(plan="professional", licenses=100, name=f"Pages {size}")
    add_member(account, Role.VIEWER)
    add_member(account, Role.BILLING)
    now = timezone.now()
    users = TrackedUser.objects.bulk_create([
        TrackedUser(account=account, identity_kind="domain", identity_scope="acme", identity_name=f"user{n}",
                    domain="ACME", username=f"user{n}", last_log_record_at=now - timedelta(hours=n))
        for n in range(size)
    ])
    Machine.objects.bulk_create([
        Machine(account=account, machine_id=f"M-{n}", hostname=f"pc-{n}") for n in range(size)
    ])
    ActivityDay.objects.bulk_create([
        ActivityDay(account=account, tracked_user=user, day=(now - timedelta(days=d)).date(), app="Excel",
                    site="example.com", rollup_key=f"k{d}", seconds=600)
        for user in users for d in range(3)
    ])
    for n in range(max(1, size // 10)):
        AgentKey.objects.create(account=account, name=f"key {n}", prefix=f"p{size}x{n}", key_hash=f"{size:032}{n:032}")
        case_open(account=account, user=admin, subject=f"Case {n}", description="Agent offline",
                  severity="normal", channel="email", actor=Actor.for_user(admin))
        invitation_create(account=account, email=f"invitee{n}@example.com", role=Role.VIEWER, invited_by=admin)
    quote_request(account=account, topic="premier", message="Premier please", actor=Actor.for_user(admin))
    return account, admin


def candidate_urls(account):
    """(route, [url, ...]) of every customer page: a page that takes an id is tried with one id
    of each of the account's models (it answers 200 for one of them). Also walked by
    bench/pages.py."""
    ids = sorted({
        pk for model, path in account_models().items()
        for pk in model._default_manager.filter(**{path: account}).order_by("pk").values_list("pk", flat=True)[:1]
    })
    for route in routes():
        if route.startswith(SKIP):
            continue
        if not re.search(r"<(?:\w+:)?\w+>", route):
            yield route, ["/" + route]
        else:
            yield route, ["/" + re.sub(r"<(?:\w+:)?\w+>", str(pk), route) for pk in ids]


def pages(client, account, admin):
    """{url: queries} of every page that answers the Admin 200."""
    client.force_login(admin)
    found = {}
    for route, candidates in candidate_urls(account):
        for url in candidates:
            if client.get(url).status_code != 200:
                continue
            # The second read is the one counted: what the cache keeps (the catalogue) is warm.
            with CaptureQueriesContext(connection) as ctx:
                response = client.get(url)
            if response.status_code == 200:
                found[route] = (url, len(ctx.captured_queries), [q["sql"] for q in ctx.captured_queries])
                break
    return found


@pytest.mark.parametrize("size", [1, 40])
def test_every_customer_page_answers_in_at_most_8_queries(db, client, size):
    account, admin = build(size)
    found = pages(client, account, admin)
    for expected in ("", "users/", "agents/", "reports/", "cart/", "billing/", "support/", "pricing/"):
        assert expected in found, f"/{expected} was not walked"
    over = {route: (url, n) for route, (url, n, _) in found.items() if n > NOT_YET.get(route, MAX_QUERIES)}
    assert not over, "; ".join(f"{url}: {n} queries" for url, n in over.values())
