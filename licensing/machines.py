"""The Agents page's machines (issue 15): last check-in, the users seen on each, the flag of a
machine silent for 7 days or more (its agent stopped, or the machine is gone), and the machines
an Admin retired."""

from datetime import timedelta

from django.db.models import Count, F, IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from licensing.models import Machine, TrackedUserMachine

# Issue 15: a machine that has not checked in for 7 days or more is flagged.
SILENT_AFTER = timedelta(days=7)
# The page lists this many machines a page (as the Users page its users), the silent ones first;
# 100 rows cost about 10 ms more to render than 50 (a long list is for the export).
MACHINES_PER_PAGE = 50
# Retired machines listed under the active ones, the latest retired first.
RETIRED_SHOWN = 100


def retired_q():
    """Retired and not back since: an agent that checks in after the retirement (last_seen_at
    later than retired_at) makes the machine active again, without a write on the check-in path."""
    return Q(retired_at__isnull=False) & Q(last_seen_at__lte=F("retired_at"))


def _users_seen():
    """How many tracked users were seen on the machine, as a subquery per row: evaluated only for
    the rows the page shows, where a GROUP BY over the join counted every machine of the account
    before the LIMIT (55 ms of SQL at 100,000 machines)."""
    links = (
        TrackedUserMachine.objects.filter(machine=OuterRef("pk")).order_by().values("machine")
        .annotate(n=Count("pk")).values("n")
    )
    return Coalesce(Subquery(links, output_field=IntegerField()), 0)


def machines_for(*, account, page=1, now=None):
    """One page (1-based) of the account's active machines, silent first then by last check-in,
    each with ``users_seen`` and ``silent_days`` (None when not silent), and whether a next page
    exists. One query: one row more than a page, no COUNT over the account (the Users page's way),
    read along the index on (account, last_seen_at, id)."""
    now = now or timezone.now()
    start = (page - 1) * MACHINES_PER_PAGE
    order = ("last_seen_at", "pk")
    # The page's ids first, then their rows and counts: a subquery in the page's own SELECT
    # would be run for every row skipped by the OFFSET too.
    page_ids = (
        Machine.objects.filter(account=account).exclude(retired_q()).order_by(*order)
        .values("pk")[start:start + MACHINES_PER_PAGE + 1]
    )
    machines = list(
        Machine.objects.filter(account=account, pk__in=page_ids).annotate(users_seen=_users_seen()).order_by(*order)
    )
    has_next = len(machines) > MACHINES_PER_PAGE
    machines = machines[:MACHINES_PER_PAGE]
    for machine in machines:
        silence = now - machine.last_seen_at
        machine.silent_days = silence.days if silence >= SILENT_AFTER else None
    return machines, has_next


def retired_machines_for(*, account):
    """The account's retired machines (not back since), latest retired first. One query, read
    along the partial index of retired machines."""
    return list(
        Machine.objects.filter(retired_q(), account=account).annotate(users_seen=_users_seen())
        .order_by("-retired_at", "-pk")[:RETIRED_SHOWN]
    )
