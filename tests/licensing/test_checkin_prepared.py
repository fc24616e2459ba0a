"""Issue 13: the check-in's read phase runs as statements prepared once per database connection
(licensing.services._prepare_read_phase). Whatever happens to them, a check-in is recorded:
prepared on a new connection, and made anew when something deallocated them under us."""

import pytest
from django.db import connection
from django.test import Client

from licensing.models import CheckinEvent, TrackedUser
from tests.factories import make_account
from tests.helpers import queries_sent, requires_postgres
from tests.licensing.conftest import Agent, event

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]


def prepared():
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pg_prepared_statements WHERE name LIKE 'licensing_%%' ORDER BY name")
        return [name for (name,) in cursor.fetchall()]


def test_a_check_in_after_its_statements_were_deallocated_is_recorded():
    account, _ = make_account(plan="professional", licenses=10)
    agent = Agent(Client(), account)
    assert agent.checkin(event("eva", event_id="e-1"))["results"][0]["result"] == "accepted"
    assert prepared() == ["licensing_checkinevent_insert", "licensing_machine_batch",
                          "licensing_trackeduser_batch", "licensing_users_lock_shared"]
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")  # a pooler's reset, or an operator's
    results = agent.checkin(event("eva", event_id="e-2"), event("bob", event_id="e-3"))["results"]
    assert [r["result"] for r in results] == ["accepted", "accepted"]
    assert len(prepared()) == 4
    assert CheckinEvent.objects.filter(account=account).count() == 3
    assert TrackedUser.objects.filter(account=account).count() == 2


def test_a_new_connection_prepares_them_again():
    account, _ = make_account(plan="professional", licenses=10)
    agent = Agent(Client(), account)
    agent.checkin(event("eva", event_id="n-1"))
    connection.close()  # the next query opens a new session, with nothing prepared
    assert agent.checkin(event("eva", event_id="n-2"))["results"][0]["result"] == "accepted"
    assert len(prepared()) == 4


def test_a_check_in_begins_its_transaction_in_the_read_phases_round_trip():
    """Issue 13: the transaction's BEGIN goes with the read phase, not in a round trip of its
    own; the activity upsert and the COMMIT follow in the same transaction."""
    account, _ = make_account(plan="professional", licenses=10)
    agent = Agent(Client(), account)
    agent.checkin(event("eva", event_id="warm"))  # prepares, caches the key, creates Eva
    sent = queries_sent(lambda: agent.checkin(event("eva", event_id="e-1", activity=[{"app": "Excel", "seconds": 30}])))
    transaction = sent[sent.index(next(q for q in sent if q.startswith("BEGIN; "))):]
    assert transaction[0].startswith("BEGIN; SET LOCAL synchronous_commit TO OFF;"), sent
    assert "BEGIN" not in sent and transaction[-1] == "COMMIT"  # no BEGIN of its own; one COMMIT
    assert any(q.startswith('INSERT INTO "licensing_activityday"') for q in transaction)
    assert connection.connection.info.transaction_status == 0  # IDLE: nothing left open
    assert CheckinEvent.objects.filter(account=account, event_id="e-1").exists()


def test_a_check_in_whose_transaction_failed_after_its_begin_is_rolled_back_whole_and_retried(monkeypatch):
    """The transaction the read phase opened is rolled back like any other: the retry finds the
    event id new (not a duplicate of a half-applied first attempt) and records it once."""
    from config.db import TransactionConflict
    from licensing import activity

    account, _ = make_account(plan="professional", licenses=10)
    agent = Agent(Client(), account)
    agent.checkin(event("eva", event_id="warm"))
    real, calls = activity.activity_ingest_batch, []

    def fails_once(**kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise TransactionConflict("a race lost after the read phase")
        return real(**kwargs)

    monkeypatch.setattr(activity, "activity_ingest_batch", fails_once)
    results = agent.checkin(event("eva", event_id="e-1", activity=[{"app": "Excel", "seconds": 30}]))["results"]
    assert [r["result"] for r in results] == ["accepted"] and len(calls) == 2
    assert CheckinEvent.objects.filter(account=account, event_id="e-1").count() == 1
    assert connection.get_autocommit() and connection.connection.autocommit


NASTY = ['a"b', "c\\d", "{x,y}", "NULL", "e f", "é", "\U0001f600", 'g\\"h', "i,j", "k}"]


def test_identities_and_event_ids_of_any_text_go_through_the_read_phase_exactly():
    """The read phase sends its arrays as literals built by hand (quotes, backslashes, commas,
    braces, NULL-looking words, non-ASCII): each user is found again as itself, never twice,
    and each event id is a duplicate of itself only."""
    account, _ = make_account(plan="professional", licenses=50)
    agent = Agent(Client(), account)
    first = [event(name, machine=f"M{name}", event_id=f"id-{name}") for name in NASTY]
    assert [r["result"] for r in agent.checkin(*first)["results"]] == ["accepted"] * len(NASTY)
    users = TrackedUser.objects.filter(account=account)
    assert sorted(users.values_list("username", flat=True)) == sorted(NASTY)
    again = [event(name, machine=f"M{name}", event_id=f"id2-{name}") for name in NASTY]
    results = agent.checkin(*first, *again)["results"]
    assert [r["result"] for r in results] == ["duplicate"] * len(NASTY) + ["accepted"] * len(NASTY)
    assert users.count() == len(NASTY)  # each found again, none made twice
    assert sorted(CheckinEvent.objects.filter(account=account).values_list("event_id", flat=True)) == sorted(
        [f"id-{n}" for n in NASTY] + [f"id2-{n}" for n in NASTY])
