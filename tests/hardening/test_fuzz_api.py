"""The agent API fuzzed from its own OpenAPI document (schemathesis, in-process over WSGI).

Whatever an agent sends: never a 5xx; every 4xx is problem+json (type, title, status); every
answer conforms to the document; nothing is stored from a rejected request or event.
"""

import json
from datetime import UTC, datetime, timedelta

import jsonschema_rs
import pytest
import schemathesis
from django.core.cache import cache
from django.test import override_settings
from hypothesis import given
from hypothesis import strategies as st
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


_DOCUMENT = api.get_openapi_schema()
EVENT_SCHEMA = jsonschema_rs.validator_for(
    {
        **_DOCUMENT["components"]["schemas"]["CheckinBatchIn"]["properties"]["events"]["items"],
        "components": _DOCUMENT["components"],
    },
    validate_formats=True,
)


@fuzz_settings(80)
@given(case=CHECKINS.as_strategy(generation_mode=GenerationMode.NEGATIVE))
def test_invalid_batches(secret, case):
    """A batch outside the document is refused whole (400), or, when only some events are
    outside it, answered 200 with exactly those events rejected (PRODUCT.md: a bad event is
    rejected alone)."""
    response = fuzz_once(case, headers={"Authorization": f"Bearer {secret}"}, negative=True)
    if response.status_code == 200:
        events = case.body["events"]
        for event, result in zip(events, response.json()["results"], strict=True):
            if not EVENT_SCHEMA.is_valid(event):
                assert result["result"] == "rejected", (event, result)


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
        # NFC makes one "\U0001d160" (a musical note) 3 characters: the folded identity would
        # not fit its column.
        {"username": "\U0001d160" * 100},
        {"domain": "\U0001d160" * 100},
        {"machine_id": "\U0001d160" * 100},
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


# --- Errors answered outside the operation ----------------------------------------------------


@pytest.mark.parametrize(
    "method, path, status",
    [
        ("get", URL, 405),
        ("put", URL, 405),
        ("delete", URL, 405),
        ("get", "/api/agent/v1/nothing-here", 404),
        ("post", "/api/agent/v2/checkins", 404),
        ("get", "/api/", 404),
    ],
)
def test_unknown_paths_and_methods_are_problems(client, secret, method, path, status):
    response = getattr(client, method)(path, headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == status
    assert response["Content-Type"] == PROBLEM
    body = json.loads(response.content)
    assert body["status"] == status and body["title"] and body["type"] and body["detail"]
    if status == 405:
        assert response["Allow"] == "POST"


def test_pages_outside_the_api_keep_their_html_404(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert not response["Content-Type"].startswith(PROBLEM)


@fuzz_settings(30)
@given(case=CHECKINS.as_strategy(generation_mode=GenerationMode.POSITIVE))
def test_generated_credentials_are_refused(secret, case):
    """Whatever Authorization header is generated (a valid body otherwise): 401, nothing stored."""
    before = row_counts(*STORED)
    response = case.call()
    assert response.status_code == 401, response.text
    assert_problem(response, 401)
    case.validate_response(response, excluded_checks=[openapi_checks.positive_data_acceptance])
    assert count_deltas(before, row_counts(*STORED)) == {}


def test_rate_limited_and_oversized_answers_conform(secret):
    headers = {"Authorization": f"Bearer {secret}"}
    cache.clear()  # the window's counter of a key id other tests used
    with override_settings(AGENT_API_RATE_LIMIT=(1, 60)):
        assert CHECKINS.Case(body={"events": [_event(1)]}, headers=headers).call().status_code == 200
        before = row_counts(*STORED)
        limited_case = CHECKINS.Case(body={"events": [_event(2)]}, headers=headers)
        limited = limited_case.call()
    huge_event = _event(3, activity=[{"app": "A" * 200, "title": "t" * 500, "seconds": 1}] * 1000)
    huge_case = CHECKINS.Case(body={"events": [huge_event] * 3}, headers=headers)
    huge = huge_case.call()
    for case, response, status in ((limited_case, limited, 429), (huge_case, huge, 413)):
        assert response.status_code == status
        assert_problem(response, status)
        case.validate_response(response, excluded_checks=[openapi_checks.positive_data_acceptance])
    assert int(limited.headers["retry-after"][0]) > 0
    assert count_deltas(before, row_counts(*STORED)) == {}


# --- Any JSON at all, and bytes that are not JSON ---------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
FIELDS = ["event_id", "machine_id", "hostname", "domain", "username", "observed_at", "activity"]
# Lone surrogates and NUL included: json.dumps writes them as \ud800 and \u0000 escapes.
TEXT = st.text(st.characters(codec=None, categories=None), max_size=300)


@fuzz_settings(60)
@given(
    body=st.one_of(
        st.binary(max_size=200),
        JSON.map(lambda value: json.dumps(value).encode()),
        st.fixed_dictionaries({"events": st.lists(JSON, min_size=1, max_size=5)}).map(
            lambda value: json.dumps(value).encode()
        ),
        st.lists(
            st.fixed_dictionaries({}, optional={name: TEXT | JSON for name in FIELDS}), min_size=1, max_size=5
        ).map(lambda events: json.dumps({"events": events}).encode()),
    )
)
def test_any_body(client, secret, body):
    before = row_counts(*STORED)
    response = post_raw(client, secret, body)
    assert response.status_code in (200, 400), response.content
    if response.status_code == 400:
        assert response["Content-Type"] == PROBLEM
        assert count_deltas(before, row_counts(*STORED)) == {}
    else:
        results = response.json()["results"]
        recorded = sum(r["result"] in ("accepted", "not_tracked") for r in results)
        assert count_deltas(before, row_counts(*STORED)).get("CheckinEvent", 0) == recorded
