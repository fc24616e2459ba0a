"""The Agents page's machines (issue 15): last check-in, the users seen on each, and the flag of a
machine silent for 7 days or more (its agent stopped, or the machine is gone)."""

from datetime import timedelta

from django.db.models import Count
from django.utils import timezone

from licensing.models import Machine

# Issue 15: a machine that has not checked in for 7 days or more is flagged.
SILENT_AFTER = timedelta(days=7)
# The page lists this many machines, the silent ones first (a long list is for the export).
MACHINES_SHOWN = 500


def machines_for(*, account, now=None):
    """The account's machines, silent first then by last check-in, each with ``users_seen`` and
    ``silent_days`` (None when not silent). One query."""
    now = now or timezone.now()
    machines = list(
        Machine.objects.filter(account=account).annotate(users_seen=Count("user_links"))
        .order_by("last_seen_at", "pk")[:MACHINES_SHOWN]
    )
    for machine in machines:
        silence = now - machine.last_seen_at
        machine.silent_days = silence.days if silence >= SILENT_AFTER else None
    return machines
