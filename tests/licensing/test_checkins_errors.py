"""Every error of the agent API: status, problem+json body (RFC 9457)."""

import json
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from accounts.actors import Actor
from licensing.services import agent_key_revoke
from tests.licensing.conftest import URL, event

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


def assert_problem(response, status):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = json.loads(response.content)
    assert body["status"] == status
    assert body["title"] and body["detail"] and body["type"]
    return body


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        json.dumps({"events": []}).encode(),
        json.dumps({"events": [{}] * 501}).encode(),
        json.dumps({"events": [], "extra": 1}).encode(),
        json.dumps({"evens": [{}]}).encode(),
        json.dumps([1, 2]).encode(),
    ],
    ids=["malformed", "no-events", "501-events", "unknown-field", "misspelt", "not-an-object"],
)
def test_bad_body_is_400(agent, client, body):
    response = client.post(URL, body, content_type="application/json", headers={"Authorization": f"Bearer {agent.secret}"})
    assert_problem(response, 400)


def test_400_lists_the_validation_errors(agent):
    body = assert_problem(agent.post([]), 400)
    assert body["errors"][0]["loc"][-1] == "events"


def test_500_events_are_accepted(agent):
    response = agent.post([event(f"user{n}", domain="ACME") for n in range(500)])
    assert response.status_code == 200
    assert response.json()["account"]["used"] == 500


@pytest.mark.parametrize("secret", ["", "wa_0000000000_wrong", "garbage"])
def test_bad_key_is_401(agent, secret):
    response = agent.client.post(
        URL, {"events": [event("eva")]}, content_type="application/json",
        headers={"Authorization": f"Bearer {secret}"} if secret else {},
    )
    assert_problem(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_revoked_key_is_401(agent):
    assert agent.post([event("eva")]).status_code == 200
    agent_key_revoke(key=agent.key, actor=Actor.system("t"))
    assert_problem(agent.post([event("bob")]), 401)


def test_session_cookie_is_not_accepted(admin_client):
    """A logged-in Admin's browser cannot post check-ins: only a Bearer agent key can."""
    response = admin_client.post(URL, {"events": [event("eva")]}, content_type="application/json")
    assert_problem(response, 401)


def test_body_over_one_mib_is_413(agent):
    huge = [event(f"eva{n}", activity=[{"app": "A" * 200, "title": "t" * 500, "seconds": 1}] * 1000) for n in range(2)]
    response = agent.post(huge)
    assert_problem(response, 413)


def test_content_length_over_one_mib_is_413_before_reading(agent, client):
    response = client.post(
        URL, b"{}", content_type="application/json",
        headers={"Authorization": f"Bearer {agent.secret}"}, CONTENT_LENGTH=str(2 * 1024 * 1024),
    )
    assert_problem(response, 413)


@override_settings(AGENT_API_RATE_LIMIT=(2, 60))
def test_rate_limit_is_429_with_retry_after(agent):
    import time_machine
    from django.core.cache import cache

    cache.clear()
    # The limit is a fixed window: the three requests must fall in one (a real clock may cross
    # a minute boundary between them, and the third would start a new window).
    with time_machine.travel(timezone.now().replace(second=10), tick=False):
        assert agent.post([event("eva")]).status_code == 200
        assert agent.post([event("eva")]).status_code == 200
        response = agent.post([event("eva")])
    assert_problem(response, 429)
    assert 1 <= int(response["Retry-After"]) <= 60


@override_settings(AGENT_AUTH_FAILURE_LIMIT=(20, 60))
def test_bad_keys_are_throttled_per_address_before_any_key_is_looked_up(
    agent, client, django_assert_num_queries,
):
    """Issue 11, item 8: 3,000 requests with invalid keys were all processed."""
    import time_machine
    from django.core.cache import cache

    cache.clear()

    def post(secret, ip):
        return client.post(URL, {"events": [event("eva")]}, content_type="application/json",
                           headers={"Authorization": f"Bearer {secret}"}, REMOTE_ADDR=ip)

    with time_machine.travel(timezone.now().replace(second=5), tick=False):
        for n in range(20):
            assert_problem(post(f"ak_guess_{n}", "203.0.113.9"), 401)
        with django_assert_num_queries(0):
            refused = post("ak_guess_21", "203.0.113.9")
        assert_problem(refused, 429)
        assert 1 <= int(refused["Retry-After"]) <= 60
        # The guessing address gets no answer about a real key either, until the window ends.
        assert_problem(post(agent.secret, "203.0.113.9"), 429)
        # Another address is not affected: its bad key is a 401, its good key works.
        assert_problem(post("ak_wrong", "198.51.100.4"), 401)
        assert post(agent.secret, "198.51.100.4").status_code == 200
    with time_machine.travel(timezone.now().replace(second=5) + timedelta(minutes=1), tick=False):
        assert post(agent.secret, "203.0.113.9").status_code == 200
