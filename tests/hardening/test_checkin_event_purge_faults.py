"""The purge of old check-in event ids killed in the middle (issue 13), as the jobs of
tests/hardening/test_job_faults.py are: the command runs in a subprocess against the test
database, waits on a row lock another connection holds in its second chunk, is SIGKILLed, then
runs again to completion. The chunks before the kill stay deleted, the rest is deleted by the
second run, and no event id inside the dedupe window is ever touched."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from licensing.checkin_events import CHECKIN_DEDUPE_WINDOW, PURGE_CHUNK
from licensing.models import CheckinEvent
from tests.factories import make_account
from tests.hardening.test_job_faults import _kill_in_the_middle, _run, _table
from tests.helpers import requires_postgres

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]

OLD = 2 * PURGE_CHUNK + PURGE_CHUNK // 2  # three chunks: two full, one half
RECENT = 1000


def test_purge_checkin_events_killed_between_two_chunks():
    account, _ = make_account(plan="professional", licenses=10)
    now = timezone.now()
    table = _table(CheckinEvent)
    with connection.cursor() as cursor:
        for prefix, count, received in (("old", OLD, now - CHECKIN_DEDUPE_WINDOW - timedelta(hours=1)),
                                        ("new", RECENT, now - CHECKIN_DEDUPE_WINDOW + timedelta(hours=1))):
            cursor.execute(
                f"INSERT INTO {table} (account_id, event_id, received_at) "
                f"SELECT %s, %s || n, %s FROM generate_series(1, %s) AS n",
                [account.pk, prefix, received, count],
            )
    old_ids = list(CheckinEvent.objects.filter(event_id__startswith="old").order_by("pk").values_list("pk", flat=True))
    recent = set(CheckinEvent.objects.filter(event_id__startswith="new").values_list("pk", flat=True))
    in_second_chunk = old_ids[PURGE_CHUNK + 10]

    _kill_in_the_middle("purge_checkin_events", f"SELECT 1 FROM {table} WHERE id = %s FOR UPDATE", (in_second_chunk,))
    left = set(CheckinEvent.objects.values_list("pk", flat=True))
    assert left == set(old_ids[PURGE_CHUNK:]) | recent, "the first chunk committed, the second rolled back"

    assert _run("purge_checkin_events").strip() == f"{OLD - PURGE_CHUNK} check-in event ids purged"
    assert set(CheckinEvent.objects.values_list("pk", flat=True)) == recent
    assert _run("purge_checkin_events").strip() == "0 check-in event ids purged"


def test_the_brin_index_is_there_on_postgresql():
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'licensing_checkinevent_received_at_brin'")
        assert "USING brin (received_at)" in cursor.fetchone()[0]
