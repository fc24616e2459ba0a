"""The agent API fuzzed from its own OpenAPI document (schemathesis, in-process over WSGI).

Whatever an agent sends: never a 5xx; every 4xx is problem+json (type, title, status); every
answer conforms to the document; nothing is stored from a rejected request or event.
"""

import json
from datetime import UTC, datetime, timedelta

import pytest
import schemathesis
from django.test import override_settings
from hypothesis import given
from schemathesis import GenerationMode
from schemathesis.specs.openapi import checks as openapi_checks

from accounts.actors import Actor
from licensing.api import api
from licensing.models import ActivityDay, CheckinEvent, Machine, TrackedUser, TrackedUserMachine
from licensing.services import agent_key_create
from tests.hardening.fuzz_helpers import InProcessWSGI, count_deltas, fuzz_settings, row_counts

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"
URL = "/api/agent/v1/checkins"
STORED = (TrackedUser, Machine, TrackedUserMachine, CheckinEvent, ActivityDay)

SCHEMA = schemathesis.openapi.from_dict(api.get_openapi_schema())
SCHEMA.app = InProcessWSGI()
CHECKINS = SCHEMA[URL]["POST"]


@pytest.fixture
def secret(paid_account):
    return agent_key_create(account=paid_account[0], name="fuzz", actor=Actor.system("tests"))[1]


@pytest.fixture(autouse=True)
def _no_rate_limit():
    # The fuzzer sends more requests than one key may in a minute; 429 has its own test.
    with override_settings(AGENT_API_RATE_LIMIT=(10**9, 60)):
        yield


def content_type(response):
    return (response.headers.get("content-type") or [""])[0]


def assert_problem(response, status=None):
    assert content_type(response).startswith(PROBLEM), (response.status_code, response.headers, response.text)
    body = response.json()
    assert isinstance(body["type"], str) and body["type"]
    assert isinstance(body["title"], str) and body["title"]
    assert body["status"] == response.status_code == (status or response.status_code)
    return body


def assert_stored_only_what_was_accepted(response, before):
    """A refused request stores nothing; a 200 stores one event id per accepted (or not
    tracked) event and nothing for a rejected or duplicate one."""
    deltas = count_deltas(before, row_counts(*STORED))
    if response.status_code != 200:
        assert deltas == {}, response.text
        return
    results = [r["result"] for r in response.json()["results"]]
    recorded = sum(r in ("accepted", "not_tracked") for r in results)
    assert deltas.get("CheckinEvent", 0) == recorded, (results, deltas)
    if not recorded:
        assert deltas == {}, (results, deltas)
    assert deltas.get("TrackedUser", 0) <= results.count("accepted")


def fuzz_once(case, *, headers, negative):
    before = row_counts(*STORED)
    response = case.call(headers=headers)
    assert response.status_code < 500, response.text
    excluded = [openapi_checks.positive_data_acceptance, openapi_checks.negative_data_rejection]
    case.validate_response(response, excluded_checks=excluded, headers=headers)
    if response.status_code >= 400:
        assert_problem(response)
    else:
        body = response.json()
        assert len(body["results"]) == len(json.loads(case.body and json.dumps(case.body))["events"])
    assert_stored_only_what_was_accepted(response, before)
    return response


@fuzz_settings(60)
@given(case=CHECKINS.as_strategy(generation_mode=GenerationMode.POSITIVE))
def test_valid_batches(secret, case):
    response = fuzz_once(case, headers={"Authorization": f"Bearer {secret}"}, negative=False)
    assert response.status_code == 200, response.text


@fuzz_settings(80)
@given(case=CHECKINS.as_strategy(generation_mode=GenerationMode.NEGATIVE))
def test_invalid_batches(secret, case):
    fuzz_once(case, headers={"Authorization": f"Bearer {secret}"}, negative=True)


# --- Text the schema cannot describe: NUL, lone surrogates, dates at the edge of the calendar --

def _event(n, **fields):
    return {
        "event_id": f"hostile-{n}", "machine_id": "PC-1", "hostname": "pc-1", "domain": None,
        "username": "eva", "observed_at": "2026-11-30T08:00:00+00:00", **fields,
    }


def post_raw(client, secret, body: bytes):
    return client.post(
        URL, body, content_type="application/json", headers={"Authorization": f"Bearer {secret}"}
    )


@pytest.mark.parametrize(
    "fields",
    [
        {"username": "ev\x00a"},
        {"event_id": "e\x00"},
        {"machine_id": "\x00"},
        {"hostname": "pc\x00"},
        {"domain": "ACME\x00"},
        {"username": "ev\ud800a"},
        {"domain": "\udfff"},
        {"activity": [{"app": "Ex\x00cel", "seconds": 1}]},
        {"activity": [{"app": "Excel", "url": "https://x.example/\x00", "seconds": 1}]},
        {"activity": [{"app": "Excel", "title": "\ud83d", "seconds": 1}]},
        {"observed_at": "0001-01-01T00:00:00+18:00"},
        {"observed_at": "0001-01-01T05:00:00+18:00", "activity": [{"app": "Excel", "seconds": 1}]},
        # NFKC makes one "\ufdfa" 18 characters: the folded identity would not fit its column.
        {"username": "\ufdfa" * 20},
        {"domain": "\ufdfa" * 20},
        {"machine_id": "\ufdfa" * 20},
        # A no-break space folds to a space, then to nothing: a user without a name.
        {"username": "\u00a0"},
    ],
    ids=lambda fields: repr(fields)[:40],
)
def test_unstorable_input_rejects_the_event_alone(client, secret, fields):
    """PostgreSQL text holds no NUL, and a lone surrogate (JSON allows "\\ud800") is no UTF-8:
    such an event is rejected with a reason, the good event beside it is kept."""
    before = row_counts(*STORED)
    body = json.dumps({"events": [_event(1, **fields), _event(2, username="bob")]}).encode()
    response = post_raw(client, secret, body)
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [r["result"] for r in results] == ["rejected", "accepted"]
    assert results[0]["reason"]
    assert count_deltas(before, row_counts(*STORED)) == {
        "TrackedUser": 1, "Machine": 1, "TrackedUserMachine": 1, "CheckinEvent": 1,
    }


@pytest.mark.parametrize("offset", ["-20:08", "+23:59", "+16:00"])
def test_offsets_past_postgresql_range_are_stored_in_utc(client, secret, offset):
    """ISO 8601 allows offsets to 23:59, PostgreSQL only to 15:59: the instant is kept."""
    body = json.dumps({"events": [_event(1, observed_at=f"2026-11-29T10:00:00{offset}")]}).encode()
    response = post_raw(client, secret, body)
    assert response.status_code == 200, response.content
    assert response.json()["results"][0]["result"] == "accepted"
    user = TrackedUser.objects.get()
    sign = -1 if offset[0] == "+" else 1
    hours, minutes = (int(part) for part in offset[1:].split(":"))
    expected = datetime(2026, 11, 29, 10, tzinfo=UTC) + sign * timedelta(hours=hours, minutes=minutes)
    assert user.last_log_record_at == expected
