"""Issue 13: the check-in's read phase runs as statements prepared once per database connection
(licensing.services._prepare_read_phase). Whatever happens to them, a check-in is recorded:
prepared on a new connection, and made anew when something deallocated them under us."""

import pytest
from django.db import connection
from django.test import Client

from licensing.models import CheckinEvent, TrackedUser
from tests.factories import make_account
from tests.helpers import requires_postgres
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
