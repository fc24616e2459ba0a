"""Fifty agents reporting the same new user at once create exactly one (PostgreSQL)."""

import threading

import pytest
from django.db import connection

from accounts.actors import Actor
from licensing.api import CheckinEventIn
from licensing.models import AccountLicensing, TrackedUser
from licensing.services import agent_key_create, checkins_record
from tests.factories import make_account
from tests.helpers import requires_postgres
from tests.licensing.conftest import event

AGENTS = 50


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_fifty_agents_reporting_one_new_user_create_exactly_one():
    account, _ = make_account(plan="professional", licenses=5)
    key, _secret = agent_key_create(account=account, actor=Actor.system("t"))
    barrier = threading.Barrier(AGENTS)
    errors = []

    def agent(n):
        try:
            evt = CheckinEventIn.model_validate(event("Eva", machine=f"PC-{n}", domain="ACME"))
            barrier.wait()
            assert checkins_record(key=key, events=[evt])[0] == ["accepted"]
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=agent, args=(n,)) for n in range(AGENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert TrackedUser.objects.filter(account=account).count() == 1
    assert AccountLicensing.objects.get(account=account).used == 1
    assert TrackedUser.objects.get(account=account).machine_links.count() == AGENTS
