import datetime as dt
import threading

import pytest
from django.db import connection

from licensing.activity import activity_ingest_batch
from licensing.models import ActivityDay
from licensing.reports import storage_used_bytes
from tests.factories import make_account
from tests.helpers import requires_postgres
from tests.licensing.activity_helpers import at, storage_counter, tracked_user

DAY = dt.date(2026, 10, 15)
THREADS = 8
ROUNDS = 10


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_check_ins_of_one_user_add_up_without_losing_seconds():
    account = make_account(plan="professional", licenses=10)[0]
    eva = tracked_user(account, "eva")
    items = [
        {"app": "chrome.exe", "url": "https://a.example.com/x", "title": "A", "seconds": 1},
        {"app": "excel.exe", "url": None, "title": None, "seconds": 2},
    ]
    barrier = threading.Barrier(THREADS)
    errors = []

    def agent():
        try:
            barrier.wait()
            for _ in range(ROUNDS):
                # Each request also carries rows the others write, in another order.
                activity_ingest_batch(account=account, entries=[(eva, at(DAY), items[::-1]), (eva, at(DAY), items)])
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=agent) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    totals = dict(ActivityDay.objects.filter(tracked_user=eva).values_list("app", "seconds"))
    assert totals == {"chrome.exe": THREADS * ROUNDS * 2, "excel.exe": THREADS * ROUNDS * 4}
    # Both rows were counted in storage once, however many requests raced to create them.
    assert storage_counter(account) == storage_used_bytes(account=account)
