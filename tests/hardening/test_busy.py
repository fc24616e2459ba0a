"""Issue 11, item 3: a transaction that lost a deadlock (or a serialization failure) is run again
a few times (config.db.retry_on_conflict) before anything is answered; if it keeps losing, the
answer is 503 "busy, retry" with Retry-After, never "the database is unreachable" (it was
reachable) and never a 500. The deadlock is injected by hand so the tests run everywhere;
tests/licensing/test_checkin_races.py makes real ones on PostgreSQL."""

import psycopg.errors
import pytest
from django.db import OperationalError, connection
from django.test import Client

from config.db import ATTEMPTS
from licensing.models import AccountLicensing, CheckinEvent, TrackedUser, TrackedUserState
from tests.factories import make_account
from tests.licensing.conftest import Agent, event

# Retried transactions must be the outermost ones: no test transaction around them.
pytestmark = pytest.mark.django_db(transaction=True)


class Deadlocks:
    """Fails the statements containing ``marker`` as PostgreSQL's deadlock detector does,
    ``times`` times (None: always)."""

    def __init__(self, marker, times=None):
        self.marker, self.times, self.raised = marker, times, 0

    def __call__(self, execute, sql, params, many, context):
        if self.marker in sql and (self.times is None or self.raised < self.times):
            self.raised += 1
            cause = psycopg.errors.DeadlockDetected("deadlock detected")
            raise OperationalError("deadlock detected") from cause
        return execute(sql, params, many, context)


@pytest.fixture
def paid():
    return make_account(plan="professional", licenses=10)


def test_a_checkin_that_lost_a_deadlock_once_is_retried_and_recorded(paid):
    agent = Agent(Client(), paid[0])
    deadlock = Deadlocks("checkinevent", times=1)
    with connection.execute_wrapper(deadlock):
        response = agent.post([event("eva", event_id="evt-dl-1")])
    assert deadlock.raised == 1
    assert response.status_code == 200, response.content
    assert response.json()["results"][0]["result"] == "accepted"
    assert CheckinEvent.objects.filter(event_id="evt-dl-1").count() == 1
    assert AccountLicensing.objects.get(account=paid[0]).used == 1


def test_a_checkin_that_keeps_losing_answers_busy_retry_not_unreachable(paid):
    agent = Agent(Client(), paid[0])
    deadlock = Deadlocks("checkinevent")
    with connection.execute_wrapper(deadlock):
        response = agent.post([event("eva", event_id="evt-dl-2")])
    assert deadlock.raised == ATTEMPTS
    assert response.status_code == 503
    assert response["Content-Type"] == "application/problem+json"
    assert response["Retry-After"] == "1"
    body = response.json()
    assert body["title"] == "Busy"
    assert "busy, retry" in body["detail"].lower()
    assert "unreachable" not in body["detail"]
    assert not CheckinEvent.objects.filter(event_id="evt-dl-2").exists()
    # The agent's retry is recorded once.
    assert agent.post([event("eva", event_id="evt-dl-2")]).status_code == 200


def test_a_users_page_action_that_lost_a_deadlock_once_is_done(paid):
    account, admin = paid
    Agent(Client(), account).checkin(event("eva"))
    user = TrackedUser.objects.get(account=account)
    client = Client()
    client.force_login(admin)
    deadlock = Deadlocks('UPDATE "licensing_trackeduser"', times=1)
    with connection.execute_wrapper(deadlock):
        response = client.post(f"/users/{user.pk}/do-not-track/")
    assert deadlock.raised == 1
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.state == TrackedUserState.DO_NOT_TRACK
    assert AccountLicensing.objects.get(account=account).used == 0


def test_a_users_page_action_that_keeps_losing_says_busy_retry_not_back_in_a_moment(paid):
    account, admin = paid
    Agent(Client(), account).checkin(event("eva"))
    user = TrackedUser.objects.get(account=account)
    client = Client()
    client.force_login(admin)
    with connection.execute_wrapper(Deadlocks('UPDATE "licensing_trackeduser"')):
        response = client.post(f"/users/{user.pk}/delete/")
    assert response.status_code == 503
    assert response["Retry-After"] == "1"
    page = response.content.decode()
    assert "Busy, please retry" in page
    assert "Back in a moment" not in page
    user.refresh_from_db()
    assert user.state == TrackedUserState.ACTIVE  # nothing half done
