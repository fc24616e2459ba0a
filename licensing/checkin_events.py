"""How long a check-in's event id is remembered, and the job that forgets older ones (issue 13).

The dedupe window (docs/licensing.md, "Duplicates and the dedupe window"): an event id is a
duplicate for ``CHECKIN_DEDUPE_WINDOW`` after it was received. An agent retries a batch whose
answer it did not get within seconds (503 with Retry-After: 10) or, after a spell offline, when
it is back: 30 days covers a laptop away for a month. An event sent again after that is taken as
new (its activity seconds would count twice); the agent contract is to give up sooner.
"""

from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from licensing.models import CheckinEvent

CHECKIN_DEDUPE_WINDOW = timedelta(days=30)
# Rows deleted per transaction: short transactions, no long lock on a busy table; a killed run
# keeps what it committed and the next run deletes the rest.
PURGE_CHUNK = 10_000


def checkin_events_purge(*, now=None, chunk: int = PURGE_CHUNK) -> int:
    """Deletes the event ids received before the dedupe window, set-based, ``chunk`` rows a
    transaction, the oldest ids first. State-based: a second run, a late or a killed one does no
    harm. Returns the rows deleted."""
    cutoff = (now or timezone.now()) - CHECKIN_DEDUPE_WINDOW
    table = connection.ops.quote_name(CheckinEvent._meta.db_table)
    sql = (
        f"DELETE FROM {table} WHERE id IN "
        f"(SELECT id FROM {table} WHERE received_at < %s ORDER BY id LIMIT %s)"
    )
    deleted = 0
    while True:
        with transaction.atomic(durable=True), connection.cursor() as cursor:
            cursor.execute(sql, [cutoff, chunk])
            count = cursor.rowcount
        deleted += count
        if count < chunk:
            return deleted
