"""Issue 11, item 3: agents posting batches for six users while Admins delete, merge, Do-Not-Track
and re-track the same users (PostgreSQL, real threads). No answer is a 500, no deadlock or
serialization failure reaches a client, and nothing is lost: every answered event is stored,
the counters match the rows."""

import itertools
import threading
import time

import pytest
from django.db import connection
from django.test import Client

from licensing.activity import storage_recompute
from licensing.models import AccountLicensing, CheckinEvent, TrackedUser, TrackedUserState
from tests.factories import make_account
from tests.helpers import requires_postgres
from tests.licensing.conftest import URL, Agent, event

USERS = [f"user{n}" for n in range(6)]
SECONDS = 4
AGENTS = 6
ADMINS = 3


def _current_ids(account):
    return {
        name: (pk, state)
        for name, pk, state in TrackedUser.objects.filter(account=account, identity_name__in=USERS)
        .exclude(state__in=[TrackedUserState.DELETED, TrackedUserState.MERGED])
        .values_list("identity_name", "id", "state")
    }


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_checkins_racing_users_page_actions_never_fail_and_lose_nothing(settings):
    settings.AGENT_API_RATE_LIMIT = (10**6, 60)  # the race is the subject, not the rate limit
    account, admin = make_account(plan="professional", licenses=10)
    agent = Agent(Client(), account)
    agent.checkin(*[event(u, domain="ACME", machine=f"PC-{u}") for u in USERS])
    deadline = time.monotonic() + SECONDS
    answers, answered_events, failures = [], [], []
    ids = itertools.count()

    def post_batches(n):
        client = Client()
        try:
            while time.monotonic() < deadline:
                batch = [
                    event(u, domain="ACME", machine=f"PC-{n}-{u}", event_id=f"a{n}-{next(ids)}",
                          activity=[{"app": "Excel", "seconds": 60}])
                    for u in USERS
                ]
                response = client.post(
                    URL, {"events": batch}, content_type="application/json",
                    headers={"Authorization": f"Bearer {agent.secret}"},
                )
                answers.append(("agent", response.status_code, response.content[:300]))
                if response.status_code == 200:
                    answered_events.extend(r["event_id"] for r in response.json()["results"])
        except Exception as exc:  # noqa: BLE001 - reported below
            failures.append(exc)
        finally:
            connection.close()

    def act(n):
        client = Client()
        client.force_login(admin)
        try:
            for step in itertools.count(n):
                if time.monotonic() >= deadline:
                    break
                current = _current_ids(account)
                name = USERS[step % len(USERS)]
                if name not in current:
                    continue
                user_id, state = current[name]
                action = "track" if state == TrackedUserState.DO_NOT_TRACK else ["do-not-track", "delete", "merge"][step % 3]
                data = {}
                if action == "merge":
                    other = USERS[(step + 1) % len(USERS)]
                    if other not in current:
                        continue
                    data = {"destination": current[other][0]}
                response = client.post(f"/users/{user_id}/{action}/", data)
                answers.append((action, response.status_code, response.content[:300]))
        except Exception as exc:  # noqa: BLE001 - reported below
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=post_batches, args=(n,)) for n in range(AGENTS)]
    threads += [threading.Thread(target=act, args=(n,)) for n in range(ADMINS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert failures == []
    # Agents: 200 every time. Admins: done (302) or refused with a reason (400: the user changed
    # state under them), never a 5xx.
    bad = [a for a in answers if a[1] >= 500 or (a[0] == "agent" and a[1] != 200)]
    assert bad == []
    # The Admins were not starved by the agents' stream of check-ins.
    assert sum(1 for a in answers if a[0] != "agent" and a[1] == 302) >= 10
    assert len(answered_events) > 0
    stored = set(CheckinEvent.objects.filter(account=account).values_list("event_id", flat=True))
    assert set(answered_events) <= stored
    row = AccountLicensing.objects.get(account=account)
    assert row.used == TrackedUser.objects.filter(account=account, state=TrackedUserState.ACTIVE).count()
    assert storage_recompute(account_ids=[account.pk]) == 0  # the storage counter matched its rows


def _waiting_on_a_lock(pid):
    with connection.cursor() as cursor:
        cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
        row = cursor.fetchone()
    return row is not None and row[0] == "Lock"


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_a_checkin_paused_mid_batch_and_a_do_not_track_of_its_user_both_complete(monkeypatch):
    """The deadlock of the issue, step by step: a check-in that creates a user and carries
    activity for an existing one is held just before it writes the activity; an Admin puts the
    existing user on the Do Not Track list meanwhile. Before the fix the check-in held the
    licensing row and waited for the user's row, the Admin the reverse: one of them was a
    deadlock victim. Now the Admin waits for the check-in (the account's users lock) and both
    complete."""
    from accounts.actors import Actor
    from licensing import activity as activity_module
    from licensing.api import CheckinEventIn
    from licensing.services import checkins_record, tracked_user_do_not_track

    account, admin = make_account(plan="professional", licenses=10)
    agent = Agent(Client(), account)
    agent.checkin(event("eva", domain="ACME", machine="PC-1"))
    eva = TrackedUser.objects.get(account=account)
    at_activity, go_on = threading.Event(), threading.Event()
    real_ingest = activity_module.activity_ingest_batch
    outcome = {}
    pids = {}

    def paused_ingest(**kwargs):
        if threading.current_thread().name == "agent":
            at_activity.set()
            go_on.wait(10)
        return real_ingest(**kwargs)

    monkeypatch.setattr(activity_module, "activity_ingest_batch", paused_ingest)

    def run(name, work):
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                pids[name] = cursor.fetchone()[0]
            outcome[name] = work()
        except Exception as exc:  # noqa: BLE001 - asserted below
            outcome[name] = exc
        finally:
            connection.close()

    batch = [CheckinEventIn.model_validate(e) for e in (
        event("newcomer", domain="ACME", machine="PC-2"),
        event("eva", domain="ACME", machine="PC-1", activity=[{"app": "Excel", "seconds": 60}]),
    )]
    checkin = threading.Thread(name="agent", target=run, args=("agent", lambda: checkins_record(key=agent.key, events=batch)))
    dnt = threading.Thread(name="admin", target=run, args=("admin", lambda: tracked_user_do_not_track(
        account=account, user_id=eva.pk, actor=Actor.for_user(admin))))
    checkin.start()
    assert at_activity.wait(10)
    dnt.start()
    deadline = time.monotonic() + 10
    while "admin" not in pids or not _waiting_on_a_lock(pids["admin"]):
        assert time.monotonic() < deadline, "the Do Not Track never waited"
    go_on.set()
    checkin.join(15)
    dnt.join(15)

    assert outcome["agent"] == (["accepted", "accepted"], 1)
    assert not isinstance(outcome["admin"], Exception), outcome["admin"]
    eva.refresh_from_db()
    assert eva.state == TrackedUserState.DO_NOT_TRACK
    assert AccountLicensing.objects.get(account=account).used == 1  # the newcomer; Eva reclaimed
    assert storage_recompute(account_ids=[account.pk]) == 0
