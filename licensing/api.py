"""The agent API, version 1: ``POST /api/agent/v1/checkins`` (PRODUCT.md, "Interfaces").

django-ninja publishes the OpenAPI document at /api/agent/v1/openapi.json. Its interactive docs
page is off: it loads Swagger UI from a CDN with inline script, which our Content Security
Policy (rightly) refuses; the document opens in any OpenAPI viewer. The envelope is validated strictly by ninja; each event is then validated
on its own, so that a bad event is rejected alone and the good ones beside it are kept.
Every error is ``application/problem+json`` (RFC 9457).
"""

import json
import logging
import math
import time
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Annotated, Literal

from django.conf import settings
from django.core.cache import cache, caches
from django.core.exceptions import RequestDataTooBig
from django.db import Error as DatabaseError
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from django.utils import timezone
from ninja import Field, NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import HttpBearer
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    SkipValidation,
    field_validator,
    model_validator,
)
from pydantic import ValidationError as PydanticValidationError

from billing.selectors import subscription_for
from config.db import TransactionConflict, conflict_reason
from config.throttling import client_ip
from licensing import agent_cache, closure, services
from licensing.compliance import compliance_view, licenses_of
from licensing.identity import identity_of
from licensing.models import AccountLicensing, TrackedUser

MAX_BODY_BYTES = 1024 * 1024  # 1 MiB a request: the limit
MAX_EVENTS = 500
FUTURE_TOLERANCE = timedelta(days=1)  # an agent's clock may be off, not by more than a day
PROBLEM = "application/problem+json"
IDENTITY_MAX_LENGTH = TrackedUser._meta.get_field("identity_name").max_length


# --- Schemas ---------------------------------------------------------------------------------


def _storable(value):
    # PostgreSQL text cannot hold NUL: refused here, the event alone, on every database alike.
    if value is not None and "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


class ActivityItemIn(BaseModel):
    app: str = Field(min_length=1, max_length=200, description="the application's name")
    url: str = Field("", max_length=2000, description="kept whole only with Screen Details")
    title: str = Field("", max_length=500, description="window title; only with Screen Details")
    seconds: int = Field(ge=0, le=86400)

    _no_nul = field_validator("app", "url", "title")(_storable)


class CheckinEventIn(BaseModel):
    """One check-in: ``username`` logged into ``machine_id`` at ``observed_at``."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    event_id: str = Field(min_length=1, max_length=100, description="unique per account; a repeat is a duplicate")
    machine_id: str = Field(min_length=1, max_length=128)
    hostname: str = Field(min_length=1, max_length=255)
    domain: str | None = Field(
        None, max_length=255, description="the logon domain; null on a stand-alone machine"
    )
    username: str = Field(min_length=1, max_length=255)
    observed_at: AwareDatetime = Field(description="ISO 8601 with a UTC offset")
    activity: list[ActivityItemIn] = Field(default_factory=list, max_length=1000)

    _no_nul = field_validator("event_id", "machine_id", "hostname", "domain", "username")(_storable)

    @field_validator("observed_at")
    @classmethod
    def not_in_the_future(cls, value: datetime) -> datetime:
        # Kept in UTC: PostgreSQL refuses offsets past 15:59 (ISO 8601 allows 23:59), and
        # 0001-01-01T00:00+18:00 has no UTC day at all, so it cannot be stored.
        try:
            value = value.astimezone(UTC)
        except OverflowError:
            raise ValueError("is out of range") from None
        if value > timezone.now() + FUTURE_TOLERANCE:
            raise ValueError("is more than a day in the future")
        return value

    @field_validator("domain")
    @classmethod
    def empty_domain_is_none(cls, value):
        return value or None

    @model_validator(mode="after")
    def identity_fits(self):
        # NFC can make one character 3 ("\U0001d160"): the folded identity must fit its column.
        identity = identity_of(domain=self.domain, machine_id=self.machine_id, username=self.username)
        if not identity.name:
            raise ValueError("username is blank once normalised")
        if max(len(identity.scope), len(identity.name)) > IDENTITY_MAX_LENGTH:
            raise ValueError(f"the normalised identity is over {IDENTITY_MAX_LENGTH} characters")
        return self


class CheckinBatchIn(Schema):
    model_config = ConfigDict(extra="forbid")

    # Each event is validated on its own in the view (SkipValidation here) so one bad event
    # does not refuse the batch; the OpenAPI document still shows the event schema.
    events: Annotated[
        list[SkipValidation[CheckinEventIn]], Field(min_length=1, max_length=MAX_EVENTS)
    ]


class EventResult(Schema):
    index: int
    event_id: str | None
    result: Literal["accepted", "duplicate", "not_tracked", "rejected"]
    reason: str | None = None


class AccountUsage(Schema):
    used: int
    licenses: int
    state: Literal["ok", "grace", "blocked"]


class CheckinBatchOut(Schema):
    results: list[EventResult]
    account: AccountUsage


class Problem(Schema):
    type: str
    title: str
    status: int
    detail: str
    errors: list[dict] | None = None


PROBLEM_RESPONSES = {
    str(status): {"description": description, "content": {PROBLEM: {"schema": Problem.model_json_schema()}}}
    for status, description in [
        (400, "The body is not a valid check-in batch (`errors` lists why)."),
        (401, "Missing, unknown or revoked agent key."),
        (403, "The account was closed (deleted by an Admin): check-ins are refused until it is erased."),
        (413, "The body is over 1 MiB."),
        (429, "Over the key's rate limit; retry after `Retry-After` seconds."),
        (503, "Busy (another request changed the same users) or the database is unreachable; "
              "nothing was recorded: send the same batch again after `Retry-After` seconds."),
        (500, "Nothing was recorded; retry later."),
    ]
}


# --- Errors, RFC 9457 ----------------------------------------------------------------------


class ApiProblem(Exception):
    def __init__(self, status, title, detail, headers=None, errors=None):
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail
        self.headers, self.errors = headers or {}, errors


def problem_response(status, title, detail, headers=None, errors=None):
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    if errors is not None:
        body["errors"] = errors
    response = HttpResponse(json.dumps(body, default=str), status=status, content_type=PROBLEM)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


api = NinjaAPI(
    title="Agent API",
    version="1",
    description="What the desktop agents report: which user logged into which machine, and activity.",
    urls_namespace="agent_api_v1",
    openapi_url="/openapi.json",
    docs_url=None,
)


class ApiProblemMiddleware:
    """Every error under /api/ is problem+json, also those answered outside the operations:
    Django's 404 for an unknown path, ninja's plain 405 for a method a path does not take, the
    400 of a bad Host header, a 500 raised by a middleware. Agents parse one error format."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code >= 400
            and request.path_info.startswith("/api/")
            and not response.get("Content-Type", "").startswith(PROBLEM)
        ):
            status = response.status_code
            try:
                phrase = HTTPStatus(status).phrase
            except ValueError:  # a status Python does not name
                phrase = "Error"
            detail = {
                404: "There is no API operation at this address.",
                405: f"This address takes {response.get('Allow', 'other methods')} only.",
            }.get(status, phrase + ".")
            headers = {h: response[h] for h in ("Allow", "Retry-After", "WWW-Authenticate") if h in response}
            return problem_response(status, phrase, detail, headers=headers)
        return response


def problem_handlers(api, *, logger_name, auth_detail, realm, validation_detail, busy_detail,
                     unreachable_detail, failure_detail):
    """The error answers of a JSON API of ours, as problem+json (RFC 9457): the agent API's and
    ActivConnect's. A lost deadlock or serialization failure (after the service's retries) is
    503 "busy, retry"; an unreachable database 503 with Retry-After; anything else a logged 500."""
    logger = logging.getLogger(logger_name)

    @api.exception_handler(ApiProblem)
    def _api_problem(request, exc):
        return problem_response(exc.status, exc.title, exc.detail, exc.headers, exc.errors)

    @api.exception_handler(AuthenticationError)
    def _unauthorized(request, exc):
        return problem_response(401, "Unauthorized", auth_detail,
                                headers={"WWW-Authenticate": f'Bearer realm="{realm}"'})

    @api.exception_handler(NinjaValidationError)
    def _invalid(request, exc):
        errors = [
            {"loc": [str(part) for part in e.get("loc", [])], "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors
        ]
        return problem_response(400, "Bad request", validation_detail, errors=errors)

    @api.exception_handler(HttpError)
    def _http_error(request, exc):
        return problem_response(exc.status_code, "Bad request" if exc.status_code == 400 else "Error", str(exc))

    @api.exception_handler(Exception)
    def _unexpected(request, exc):
        # Never a bare 500 page for a client: the error is logged and answered as a problem.
        logger.exception("API error", exc_info=exc)
        return problem_response(500, "Internal error", failure_detail)

    @api.exception_handler(TransactionConflict)
    @api.exception_handler(DatabaseError)
    def _database_error(request, exc):
        if conflict_reason(exc) is not None:
            logger.warning("a request lost a race after its retries: %s", conflict_reason(exc))
            return problem_response(503, "Busy", busy_detail, headers={"Retry-After": "1"})
        # Unreachable (restart, failover): 503 with Retry-After; the client sends the same again.
        if isinstance(exc, (OperationalError, InterfaceError)):
            return problem_response(503, "Service unavailable", unreachable_detail,
                                    headers={"Retry-After": "10"})
        return _unexpected(request, exc)


problem_handlers(
    api, logger_name="licensing.api",
    auth_detail="A valid agent key is required: Authorization: Bearer <agent key>.", realm="agent",
    validation_detail="The request body is not a valid check-in batch.",
    busy_detail="Busy, retry: another request was changing the same users; nothing was recorded. "
                "Send the same batch again after the delay.",
    unreachable_detail="The database is unreachable; nothing was recorded. Retry after the delay.",
    failure_detail="The check-ins were not recorded; retry later.",
)


# --- Authentication, size and rate limits -----------------------------------------------------


def rate_limit():
    """(requests, seconds) per agent key: settings.AGENT_API_RATE_LIMIT."""
    return getattr(settings, "AGENT_API_RATE_LIMIT", (600, 60))


def _window_count(bucket, *, timeout):
    """Adds one to a fixed window's counter and returns it. On Redis one round trip (INCR and
    EXPIRE NX pipelined) instead of Django's three (add, exists, incr): it runs on every check-in."""
    client = agent_cache.redis_client()
    if client is not None:
        name = caches["default"].make_and_validate_key(bucket)
        pipe = client.pipeline(transaction=False)
        pipe.incr(name)
        pipe.expire(name, timeout, nx=True)
        return pipe.execute()[0]
    cache.add(bucket, 0, timeout=timeout)
    try:
        return cache.incr(bucket)
    except ValueError:  # expired between add and incr
        cache.add(bucket, 1, timeout=timeout)
        return 1


def _rate_bucket(key_id, now):
    _, window = rate_limit()
    return f"agent-rate:{key_id}:{int(now // window)}"


def _check_rate(key, counted=None):
    """A fixed window per key in Django's cache (shared between workers when it is Redis).
    ``counted``: this request's count, when ``agent_cache.gate`` counted it already."""
    limit, window = rate_limit()
    now = time.time()
    count = counted if counted is not None else _window_count(_rate_bucket(key.pk, now), timeout=window + 1)
    if count > limit:
        retry_after = max(1, math.ceil(window - (now % window)))
        raise ApiProblem(
            429, "Too many requests",
            f"This agent key may send {limit} requests every {window} seconds.",
            headers={"Retry-After": str(retry_after)},
        )


def auth_failure_limit():
    """(failed authentications, seconds) per client address: settings.AGENT_AUTH_FAILURE_LIMIT."""
    return getattr(settings, "AGENT_AUTH_FAILURE_LIMIT", (20, 60))


def _auth_failures_bucket(request):
    _, window = auth_failure_limit()
    address = client_ip(request) or "unknown"
    return f"agent-auth-failures:{address}:{int(time.time() // window)}"


def _counter(bucket):
    client = agent_cache.redis_client()
    if client is None:
        return cache.get(bucket) or 0
    return int(client.get(caches["default"].make_and_validate_key(bucket)) or 0)


def _refuse_a_guessing_address(request, over=None):
    """Issue 11, item 8: past the limit of bad keys from one address in a window, every request
    from it is refused (429) until the window ends, before any key is looked up: a guesser gets
    no answer about any key, valid or not, and costs no database query. ``over``: the answer
    when ``agent_cache.gate`` read the count already."""
    limit, window = auth_failure_limit()
    if over is None:
        over = _counter(_auth_failures_bucket(request)) >= limit
    if over:
        retry_after = max(1, math.ceil(window - (time.time() % window)))
        raise ApiProblem(
            429, "Too many requests",
            f"Too many requests with an invalid agent key from this address: at most {limit} "
            f"every {window} seconds. Check the key in the agent's configuration.",
            headers={"Retry-After": str(retry_after)},
        )


def _gate(request):
    """A key this process has seen: the bad-key count, the rate window and the cache stamps in
    one Redis round trip (``agent_cache.gate``); None to ask them one by one."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    key_hash = services.agent_key_hash(token.strip())
    if key_hash is None:
        return None
    limit, _ = auth_failure_limit()
    _, window = rate_limit()
    now = time.time()
    return agent_cache.gate(
        key_hash=key_hash, failures_name=_auth_failures_bucket(request), failure_limit=limit,
        rate_name_of=lambda key_id: _rate_bucket(key_id, now), rate_timeout=window + 1,
    )


def _count_auth_failure(request):
    _, window = auth_failure_limit()
    bucket = _auth_failures_bucket(request)
    cache.add(bucket, 0, timeout=window + 1)
    try:
        cache.incr(bucket)
    except ValueError:  # expired between add and incr
        cache.add(bucket, 1, timeout=window + 1)


class AgentKeyAuth(HttpBearer):
    """Bearer agent key only: session cookies are never looked at (no CSRF, no session)."""

    def __call__(self, request):
        gate = _gate(request)
        _refuse_a_guessing_address(request, over=None if gate is None else gate is False)
        request.agent_gate = gate or None
        # The size limit is checked before anything reads the body.
        length = request.headers.get("Content-Length")
        if length and length.isascii() and length.isdigit() and int(length) > MAX_BODY_BYTES:
            raise ApiProblem(413, "Content too large", f"A request carries at most {MAX_BODY_BYTES} bytes.")
        return super().__call__(request)

    def authenticate(self, request, token):
        gate = getattr(request, "agent_gate", None)
        key = services.agent_key_authenticate(secret=token.strip(), stamps=gate.stamps if gate else None)
        if key is None:
            refusal = closure.agent_refusal(secret=token)  # issue 15: a closed account says so
            if refusal:
                raise ApiProblem(403, "Account closed", refusal)
            _count_auth_failure(request)
            return None
        _check_rate(key, counted=gate.count if gate and gate.key_id == key.pk else None)
        try:
            size = len(request.body)  # a chunked body has no Content-Length to check first
        except RequestDataTooBig:
            size = MAX_BODY_BYTES + 1
        if size > MAX_BODY_BYTES:
            raise ApiProblem(413, "Content too large", f"A request carries at most {MAX_BODY_BYTES} bytes.")
        return key


def _usage(key, *, reread):
    """The account's used / licenses / state: as read with the key, unless this batch changed
    them (it created users, so compliance was evaluated again)."""
    if reread:
        row = AccountLicensing.objects.filter(account_id=key.account_id).first()
    else:
        row = key.licensing_row
    subscription = key.subscription or subscription_for(account=key.account)
    return compliance_view(row, licenses_of(subscription),
                           grace_days=subscription.plan.grace_period_days if subscription else None)


def _reason(error: PydanticValidationError):
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'event'}: {e['msg']}" for e in error.errors()
    )


@api.post(
    "/checkins",
    auth=AgentKeyAuth(),
    response={200: CheckinBatchOut},
    # The errors are documented by hand: ninja would announce them as application/json.
    openapi_extra={"responses": PROBLEM_RESPONSES},
    summary="Report check-ins",
    description=(
        "1 to 500 events, 1 MiB at most. Each event gets a result: accepted, duplicate (its "
        "event_id was seen before; nothing changes), not_tracked (the user is on the Do Not "
        "Track list) or rejected with a reason (the others in the batch are kept). Check-ins "
        "are accepted while the account is blocked."
    ),
)
def checkins(request, payload: CheckinBatchIn):
    key = request.auth
    results = [None] * len(payload.events)
    valid, positions = [], []
    for i, raw in enumerate(payload.events):
        if not isinstance(raw, dict):
            results[i] = {"index": i, "event_id": None, "result": services.REJECTED, "reason": "event: must be an object"}
            continue
        try:
            event = CheckinEventIn.model_validate(raw)
        except PydanticValidationError as error:
            event_id = raw.get("event_id") if isinstance(raw.get("event_id"), str) else None
            results[i] = {"index": i, "event_id": event_id, "result": services.REJECTED, "reason": _reason(error)}
            continue
        valid.append(event)
        positions.append(i)
    outcomes, created = services.checkins_record(key=key, events=valid) if valid else ([], 0)
    for i, event, outcome in zip(positions, valid, outcomes, strict=True):
        results[i] = {"index": i, "event_id": event.event_id, "result": outcome}
    usage = _usage(key, reread=bool(created))
    body = {
        "results": results,
        "account": {"used": usage["used"], "licenses": usage["licenses"], "state": usage["state"]},
    }
    # Built by hand: the schema above documents it; validating our own output would cost time
    # on the hottest path of the product.
    return HttpResponse(json.dumps(body), content_type="application/json")
