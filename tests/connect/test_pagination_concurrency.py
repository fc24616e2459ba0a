"""A walk of the API's pages while agents insert rows from other connections returns every row
that existed when it started exactly once (PostgreSQL, real threads)."""

import threading

import pytest
from django.db import connection
from django.test import Client, override_settings

from tests.connect.helpers import Api, activity_row, connect_account, token_for, tracked_user
from tests.helpers import requires_postgres

WRITERS = 4


@requires_postgres
@pytest.mark.django_db(transaction=True)
@override_settings(CONNECT_API_RATE_LIMIT=(10**9, 60))
def test_pages_under_concurrent_inserts_return_every_row_once():
    account = connect_account()[0]
    users = [tracked_user(account, f"u{i}") for i in range(WRITERS)]
    existing = {activity_row(account, users[i % WRITERS], app=f"old{i}.exe").pk for i in range(300)}
    api = Api(Client(), token_for(account)[1])
    stop = threading.Event()
    inserted = []

    def writer(n):
        try:
            i = 0
            while not stop.is_set():
                inserted.append(activity_row(account, users[n], app=f"new{n}-{i}.exe").pk)
                i += 1
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for t in threads:
        t.start()
    try:
        seen, cursor = [], None
        while True:
            body = api.ok("/activity", limit=25, **({"cursor": cursor} if cursor else {}))
            seen += [r["id"] for r in body["data"]]
            cursor = body["next_cursor"]
            if not body["has_more"] or len(seen) > 5000:
                break
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert inserted, "the writers inserted nothing while the walk ran"
    assert len(seen) == len(set(seen)), "a row was returned twice"
    assert existing <= set(seen), "a row that existed was skipped"
