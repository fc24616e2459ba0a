import itertools
from datetime import UTC, datetime

import pytest
from django.utils import timezone

from accounts.actors import Actor
from licensing.services import agent_key_create

_ids = itertools.count(1)
URL = "/api/agent/v1/checkins"


def event(username, *, machine="PC-1", domain=None, event_id=None, observed_at=None, **extra):
    """One check-in event as an agent sends it."""
    when = observed_at or timezone.now()
    return {
        "event_id": event_id or f"evt-{next(_ids)}",
        "machine_id": machine,
        "hostname": machine.lower(),
        "domain": domain,
        "username": username,
        "observed_at": when.isoformat() if isinstance(when, datetime) else when,
        **extra,
    }


class Agent:
    """An agent with a key of ``account``, posting through the test client."""

    def __init__(self, client, account):
        self.client = client
        self.account = account
        self.key, self.secret = agent_key_create(account=account, name="test", actor=Actor.system("tests"))

    def post(self, events, *, secret=None, **kwargs):
        return self.client.post(
            URL, {"events": events}, content_type="application/json",
            headers={"Authorization": f"Bearer {secret or self.secret}"}, **kwargs,
        )

    def checkin(self, *events):
        response = self.post(list(events))
        assert response.status_code == 200, response.content
        return response.json()


@pytest.fixture
def make_agent(client):
    return lambda account: Agent(client, account)


@pytest.fixture
def agent(make_agent, paid_account):
    return make_agent(paid_account[0])


def utc(*args):
    return datetime(*args, tzinfo=UTC)
