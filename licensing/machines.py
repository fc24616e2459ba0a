"""The Agents page's machines (issue 15): last check-in, the users seen on each, the flag of a
machine silent for 7 days or more (its agent stopped, or the machine is gone), and the machines
an Admin retired."""

from datetime import timedelta

from django.db.models import Count, F, Q
from django.utils import timezone

from licensing.models import Machine

# Issue 15: a machine that has not checked in for 7 days or more is flagged.
SILENT_AFTER = timedelta(days=7)
# The page lists this many machines, the silent ones first (a long list is for the export).
MACHINES_SHOWN = 500
# Retired machines listed under the active ones, the latest retired first.
RETIRED_SHOWN = 100


def retired_q():
    """Retired and not back since: an agent that checks in after the retirement (last_seen_at
    later than retired_at) makes the machine active again, without a write on the check-in path."""
    return Q(retired_at__isnull=False) & Q(last_seen_at__lte=F("retired_at"))


def machines_for(*, account, now=None):
    """The account's active machines, silent first then by last check-in, each with
    ``users_seen`` and ``silent_days`` (None when not silent). One query."""
    now = now or timezone.now()
    machines = list(
        Machine.objects.filter(account=account).exclude(retired_q()).annotate(users_seen=Count("user_links"))
        .order_by("last_seen_at", "pk")[:MACHINES_SHOWN]
    )
    for machine in machines:
        silence = now - machine.last_seen_at
        machine.silent_days = silence.days if silence >= SILENT_AFTER else None
    return machines


def retired_machines_for(*, account):
    """The account's retired machines (not back since), latest retired first. One query."""
    return list(
        Machine.objects.filter(retired_q(), account=account).annotate(users_seen=Count("user_links"))
        .order_by("-retired_at", "-pk")[:RETIRED_SHOWN]
    )
