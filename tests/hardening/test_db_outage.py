"""A database that is unreachable (a restart, a failover) answers 503 with Retry-After, never a
500: agents retry their batch (the event ids make that safe), browsers are told to come back.
bench/faults_pg_restart.py proves the same against a real PostgreSQL restart; these tests break
the connection by hand so they run everywhere."""

import pytest
from django.db import connection
from django.db.utils import InterfaceError, OperationalError
from django.test import Client

from licensing import services as licensing_services
from licensing.models import CheckinEvent
from tests.licensing.conftest import Agent, event

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent(client, paid_account):
    return Agent(client, paid_account[0])


@pytest.fixture
def database_down(monkeypatch):
    """From now on every query fails as a closed server connection does."""

    def refused(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    def down():
        monkeypatch.setattr(connection, "cursor", refused)
        monkeypatch.setattr(connection, "chunked_cursor", refused)

    return down


def test_checkins_get_problem_503_with_retry_after_and_nothing_is_stored(agent, database_down, monkeypatch):
    database_down()
    response = agent.post([event("alice", event_id="evt-outage-1")])
    monkeypatch.undo()

    assert response.status_code == 503
    assert response["Content-Type"] == "application/problem+json"
    assert response["Retry-After"] == "10"
    assert response.json()["status"] == 503
    assert not CheckinEvent.objects.exists()
    # The agent's retry, once the database is back, stores the event once.
    assert agent.post([event("alice", event_id="evt-outage-1")]).status_code == 200
    assert agent.post([event("alice", event_id="evt-outage-1")]).status_code == 200
    assert CheckinEvent.objects.filter(event_id="evt-outage-1").count() == 1


def test_interface_error_mid_batch_is_503_too(agent, monkeypatch):
    """The connection dies after authentication, while the batch is being written."""

    def closed(**kwargs):
        raise InterfaceError("connection already closed")

    monkeypatch.setattr(licensing_services, "checkins_record", closed)
    response = agent.post([event("alice")])
    assert response.status_code == 503
    assert response["Retry-After"] == "10"
    assert response["Content-Type"] == "application/problem+json"


def test_other_api_errors_stay_500_problems(agent, monkeypatch):
    def broken(**kwargs):
        raise ValueError("a bug")

    monkeypatch.setattr(licensing_services, "checkins_record", broken)
    response = agent.post([event("alice")])
    assert response.status_code == 500
    assert response["Content-Type"] == "application/problem+json"


def test_a_page_whose_view_hits_the_dead_database_is_503(client, database_down):
    database_down()
    response = client.get("/pricing/")
    assert response.status_code == 503
    assert response["Retry-After"] == "10"
    assert b"Back in a moment" in response.content


def test_a_logged_in_page_whose_middleware_hits_the_dead_database_is_503(paid_account, database_down):
    """The session and the current account are read by middleware, before any view: the error
    comes through handler500, which turns it into the same 503."""
    browser = Client(raise_request_exception=False)
    browser.force_login(paid_account[1])
    database_down()
    response = browser.get("/")
    assert response.status_code == 503
    assert response["Retry-After"] == "10"
    assert b"Back in a moment" in response.content


def test_other_page_errors_stay_500(client, monkeypatch):
    from config import views

    def broken(*args, **kwargs):
        raise ValueError("a bug")

    monkeypatch.setattr(views, "sold_plans", broken)
    response = Client(raise_request_exception=False).get("/pricing/")
    assert response.status_code == 500
    assert "Retry-After" not in response
