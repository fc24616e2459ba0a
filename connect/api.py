"""The ActivConnect read API, version 1: ``/api/connect/v1/`` (docs/connect.md).

Beside the agent API (licensing/api.py) and in its style: django-ninja, the OpenAPI document at
/api/connect/v1/openapi.json (no interactive page: Swagger UI's inline script is refused by our
CSP), every error ``application/problem+json`` (RFC 9457). Read-only, for accounts that have the
ActivConnect add-on, with a token an Admin made on the Integrations page (not an agent key).

Each list resource answers JSON pages (``limit`` rows after ``cursor``) or, with
``Accept: text/csv``, every row from the cursor on, streamed in keyset chunks so the memory of
an export does not grow with its size.
"""

import csv
import datetime as dt
import io
import json
import logging
import math
import time
from typing import Annotated, Literal

from django.conf import settings
from django.http import HttpResponse, StreamingHttpResponse
from ninja import Field, NinjaAPI, Path, Query, Schema
from ninja.security import HttpBearer
from pydantic import AfterValidator, AwareDatetime

from config.throttling import client_ip, over_limit
from connect import selectors
from connect.models import Scope
from connect.services import api_token_authenticate
from licensing.api import PROBLEM, ApiProblem, Problem, problem_handlers

logger = logging.getLogger("connect.api")

MAX_ID = 2**63 - 1
MAX_PAGE = 1000
CSV_CHUNK_ROWS = 5000
CSV = "text/csv"
ADDON_NAME = "ActivConnect API"


api = NinjaAPI(
    title="ActivConnect API",
    version="1",
    description=(
        "Read-only access to an account's tracked users, machines, daily activity, productivity "
        "totals, license usage history, subscription and invoices, for BI tools and warehouses. "
        "Needs the ActivConnect add-on and an API token (Authorization: Bearer ac_...)."
    ),
    urls_namespace="connect_api_v1",
    openapi_url="/openapi.json",
    docs_url=None,
)


# --- Errors, RFC 9457 ----------------------------------------------------------------------

problem_handlers(
    api, logger_name="connect.api",
    auth_detail="A valid API token is required: Authorization: Bearer <token>.", realm="activconnect",
    validation_detail="The request's parameters are not valid.",
    busy_detail="Busy, retry: the account's data was being changed; retry after the delay.",
    unreachable_detail="The database is unreachable. Retry after the delay.",
    failure_detail="The request failed on our side; retry later.",
)


# --- Authentication, entitlement, scope, rate ----------------------------------------------

def rate_limit():
    """(requests, seconds) per API token: settings.CONNECT_API_RATE_LIMIT."""
    return getattr(settings, "CONNECT_API_RATE_LIMIT", (600, 60))


class TokenAuth(HttpBearer):
    """Bearer API token only: no session, no CSRF. Too many bad tokens from one address are
    held back by the same counter as the rest of the site's throttles."""

    def __call__(self, request):
        limit, window = getattr(settings, "CONNECT_AUTH_FAILURE_LIMIT", (20, 60))
        key = f"{client_ip(request) or 'unknown'}"
        token = super().__call__(request)
        if token is None and over_limit("connect-auth-failures", key, limit, window):
            raise ApiProblem(
                429, "Too many requests",
                f"Too many requests with an invalid API token from this address: at most {limit} every {window} seconds.",
                headers={"Retry-After": str(window)},
            )
        return token

    def authenticate(self, request, token):
        found = api_token_authenticate(secret=token.strip())
        if found is None:
            return None
        limit, window = rate_limit()
        if over_limit("connect-token", str(found.pk), limit, window):
            retry_after = max(1, math.ceil(window - (time.time() % window)))
            raise ApiProblem(
                429, "Too many requests", f"This API token may send {limit} requests every {window} seconds.",
                headers={"Retry-After": str(retry_after)},
            )
        return found


def _allow(request, scope: Scope, *, data: bool = True):
    """The token's account has the add-on, the token has the scope, and (for activity data)
    the account is not blocked; otherwise a 403 that says which."""
    token = request.auth
    if not selectors.account_has_activconnect(account=token.account):
        raise ApiProblem(
            403, "ActivConnect API add-on required",
            f"The {ADDON_NAME} add-on is not on this account's subscription. It is sold by our "
            "staff: an Admin can ask for a quote at /billing/quotes/new/.",
        )
    if scope.value not in token.scopes:
        raise ApiProblem(
            403, "Out of scope",
            f"This token does not have the {scope.value} scope ({scope.label.lower()}). An Admin can "
            "make a token with it on the Integrations page.",
        )
    if data and selectors.account_data_blocked(account=token.account):
        raise ApiProblem(
            403, "Data access blocked",
            "This account's data access is blocked (license or storage limits): the Dashboard says "
            "why and how to true up. Subscription and invoices stay readable.",
        )
    return token.account


def _cursor_guard(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except selectors.BadCursor as error:
        raise ApiProblem(400, "Bad request", str(error)) from None


def _window(account, start, end):
    """The requested days, inside the plan's data history window (PRODUCT.md, data history);
    the whole window by default."""
    window = selectors.history_window(account=account)
    start = start or window.first_day
    end = end or window.today
    if start > end:
        raise ApiProblem(400, "Bad request", "start is after end.")
    if start < window.first_day or end > window.today:
        raise ApiProblem(
            400, "Outside the data history",
            f"This account's data history is {window.label}: dates from {window.first_day.isoformat()} "
            f"to {window.today.isoformat()}.",
        )
    return start, end


def _wants_csv(request):
    accept = request.headers.get("Accept", "")
    return CSV in accept.lower()


# --- Output --------------------------------------------------------------------------------

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value):
    """One CSV value. The CSV may be opened in a spreadsheet: a title starting with "=" must not
    run as a formula (as in the Reports export); JSON keeps every text as it is. Type checks
    first by exact type: this runs for every value of a year's export."""
    kind = type(value)
    if kind is str:
        return "'" + value if value.startswith(FORMULA_PREFIXES) else value
    if kind is int or kind is bool:
        return value
    if value is None:
        return ""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)


def _csv_response(columns, chunks, filename):
    """Streams the header and every row of ``chunks`` (an iterator of lists of tuples), one
    piece of text per chunk."""

    def lines():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(columns)
        yield buffer.getvalue()
        for chunk in chunks:
            buffer.seek(0)
            buffer.truncate()
            writer.writerows([csv_cell(v) for v in row] for row in chunk)
            yield buffer.getvalue()

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response


def _json(body):
    return HttpResponse(json.dumps(body, default=_json_default), content_type="application/json")


def _json_default(value):
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    raise TypeError(type(value))


def _page(rows, limit, key, cursor, serialise, **extra):
    """A JSON page: ``limit`` rows (``rows`` holds limit + 1 to know whether more follow);
    ``next_cursor`` always names the last row read, so a client that polls keeps its place."""
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = selectors.cursor_encode(key(rows[-1])) if rows else cursor
    return _json({"data": [serialise(r) for r in rows], "has_more": more, "next_cursor": next_cursor, **extra})


def _keyset_chunks(fetch, key, cursor):
    """Every row from ``cursor`` on, ``CSV_CHUNK_ROWS`` at a time, each chunk one query."""
    while True:
        chunk = list(fetch(cursor)[:CSV_CHUNK_ROWS])
        if not chunk:
            return
        yield chunk
        if len(chunk) < CSV_CHUNK_ROWS:
            return
        cursor = selectors.cursor_encode(key(chunk[-1]))


# --- Schemas -------------------------------------------------------------------------------

def _in_utc(value):
    # Kept in UTC: PostgreSQL refuses offsets past 15:59 (ISO 8601 allows 23:59), and an instant
    # of year 1 with a positive offset has no UTC time at all (as in the agent API).
    if value is None:
        return value
    try:
        return value.astimezone(dt.UTC)
    except OverflowError:
        raise ValueError("is out of range") from None


Instant = Annotated[AwareDatetime | None, AfterValidator(_in_utc)]
Cursor = Annotated[str | None, Field(None, max_length=200, description="next_cursor of the previous page")]
Limit = Annotated[int, Field(100, ge=1, le=MAX_PAGE, description="rows per page (JSON)")]


class PageQuery(Schema):
    cursor: Cursor = None
    limit: Limit = 100
    updated_since: Instant = Field(None, description="ISO 8601 with an offset")


class DaysQuery(Schema):
    cursor: Cursor = None
    limit: Limit = 100
    start: dt.date | None = Field(None, description="first day (default: the first day of the data history)")
    end: dt.date | None = Field(None, description="last day (default: today, UTC)")
    updated_since: Instant = Field(
        None, description="only days on or after this instant's UTC date (a day's rows grow during it)"
    )
    user_id: int | None = Field(None, ge=1, le=MAX_ID, description="one tracked user")


class UsageQuery(Schema):
    cursor: Cursor = None
    limit: Limit = 100
    start: dt.date | None = None
    end: dt.date | None = None


class Page(Schema):
    has_more: bool
    next_cursor: str | None


class TrackedUserOut(Schema):
    id: int
    identity_kind: Literal["domain", "machine"]
    domain: str
    username: str
    machine_hostname: str
    display_name: str
    alias: str
    state: Literal["active", "do_not_track", "deleted", "merged"]
    merged_into_id: int | None
    machine_ids: list[int]
    first_seen_at: dt.datetime
    last_log_record_at: dt.datetime | None
    deleted_at: dt.datetime | None


class TrackedUserPage(Page):
    data: list[TrackedUserOut]


class MachineOut(Schema):
    id: int
    machine_id: str
    hostname: str
    domain: str
    first_seen_at: dt.datetime
    last_seen_at: dt.datetime


class MachinePage(Page):
    data: list[MachineOut]


class ActivityOut(Schema):
    id: int
    day: dt.date
    tracked_user_id: int
    app: str
    site: str
    url_path: str = Field(description="blank without Screen Details")
    title: str = Field(description="blank without Screen Details")
    seconds: int


class ActivityPage(Page):
    data: list[ActivityOut]
    screen_details: bool = Field(description="whether titles and URL paths are served")


class ProductivityOut(Schema):
    day: dt.date
    tracked_user_id: int
    seconds: int
    apps: int
    sites: int


class ProductivityPage(Page):
    data: list[ProductivityOut]


class UsageOut(Schema):
    day: dt.date
    used: int
    licenses: int


class UsagePage(Page):
    data: list[UsageOut]


class SubscriptionOut(Schema):
    plan_code: str
    plan_name: str
    licenses: int
    state: str
    term_start: dt.date | None
    term_end: dt.date | None
    trial_ends_at: dt.datetime | None
    addons: list[str]


class InvoiceOut(Schema):
    id: int
    number: str
    state: str
    total_cents: int
    currency: Literal["usd"] = "usd"
    term_start: dt.date | None
    issued_at: dt.datetime | None
    due_at: dt.datetime | None
    paid_at: dt.datetime | None
    voided_at: dt.datetime | None
    credit_note_for_id: int | None


class InvoicePage(Page):
    data: list[InvoiceOut]


def _problems(*statuses):
    descriptions = {
        400: "A parameter is not valid, or a date is outside the data history (`detail` says the window).",
        401: "Missing, unknown or revoked API token.",
        403: "No ActivConnect add-on, a scope the token lacks, or data access blocked.",
        404: "No such object in this account.",
        429: "Over the token's rate limit; retry after `Retry-After` seconds.",
    }
    return {
        str(s): {"description": descriptions[s], "content": {PROBLEM: {"schema": Problem.model_json_schema()}}}
        for s in statuses
    }


LIST_ERRORS = _problems(400, 401, 403, 429)
ONE_ERRORS = _problems(400, 401, 403, 404, 429)


def _with_csv(errors):
    return {"responses": {200: {"content": {CSV: {"schema": {"type": "string"}}}}, **errors}}


AUTH = TokenAuth()


# --- Tracked users and machines -------------------------------------------------------------

def _user_csv(u):
    row = _user(u)
    row["machine_ids"] = " ".join(map(str, u.machine_ids))
    return list(row.values())


USER_COLUMNS = [
    "id", "identity_kind", "domain", "username", "machine_hostname", "display_name", "alias", "state",
    "merged_into_id", "machine_ids", "first_seen_at", "last_log_record_at", "deleted_at",
]


def _user(u):
    return {
        "id": u.pk, "identity_kind": u.identity_kind, "domain": u.domain, "username": u.username,
        "machine_hostname": u.machine_hostname, "display_name": u.display_name, "alias": u.alias,
        "state": u.state, "merged_into_id": u.merged_into_id, "machine_ids": u.machine_ids,
        "first_seen_at": u.first_seen_at, "last_log_record_at": u.last_log_record_at, "deleted_at": u.deleted_at,
    }


@api.get("/users", auth=AUTH, response={200: TrackedUserPage}, openapi_extra=_with_csv(LIST_ERRORS),
         summary="Tracked users", description="Every tracked user (deleted and merged ones too, with their state).")
def users(request, q: Query[PageQuery]):
    account = _allow(request, Scope.READ_USERS)
    fetch = lambda cursor, limit: selectors.tracked_users_page(  # noqa: E731
        account=account, cursor=cursor, limit=limit, updated_since=q.updated_since
    )
    if _wants_csv(request):
        chunks = _keyset_chunks(
            lambda cursor: _Sliceable(lambda n: _cursor_guard(fetch, cursor, n)), lambda u: u.pk, q.cursor
        )
        return _csv_response(USER_COLUMNS, ([_user_csv(u) for u in c] for c in chunks), "tracked-users")
    rows = _cursor_guard(fetch, q.cursor, q.limit + 1)
    return _page(rows, q.limit, lambda u: u.pk, q.cursor, _user)


@api.get("/users/{user_id}", auth=AUTH, response={200: TrackedUserOut}, openapi_extra={"responses": ONE_ERRORS},
         summary="One tracked user")
def user(request, user_id: Annotated[int, Path(ge=1, le=MAX_ID)]):
    account = _allow(request, Scope.READ_USERS)
    found = selectors.tracked_user_get(account=account, user_id=user_id)
    if found is None:
        raise ApiProblem(404, "Not found", "This account has no tracked user with this id.")
    return _json(_user(found))


MACHINE_COLUMNS = ["id", "machine_id", "hostname", "domain", "first_seen_at", "last_seen_at"]


def _machine(m):
    return {c: (m.pk if c == "id" else getattr(m, c)) for c in MACHINE_COLUMNS}


@api.get("/machines", auth=AUTH, response={200: MachinePage}, openapi_extra=_with_csv(LIST_ERRORS),
         summary="Machines the agents run on")
def machines(request, q: Query[PageQuery]):
    account = _allow(request, Scope.READ_USERS)
    fetch = lambda cursor, limit: selectors.machines_page(  # noqa: E731
        account=account, cursor=cursor, limit=limit, updated_since=q.updated_since
    )
    if _wants_csv(request):
        chunks = _keyset_chunks(
            lambda cursor: _Sliceable(lambda n: _cursor_guard(fetch, cursor, n)), lambda m: m.pk, q.cursor
        )
        return _csv_response(MACHINE_COLUMNS, ([list(_machine(m).values()) for m in c] for c in chunks), "machines")
    rows = _cursor_guard(fetch, q.cursor, q.limit + 1)
    return _page(rows, q.limit, lambda m: m.pk, q.cursor, _machine)


class _Sliceable:
    """Lets a ``fetch(n)`` function be sliced like a queryset by ``_keyset_chunks``."""

    def __init__(self, fetch):
        self.fetch = fetch

    def __getitem__(self, item):
        return self.fetch(item.stop)


# --- Activity, productivity, license usage ---------------------------------------------------

def _days(account, q):
    start, end = _window(account, q.start, q.end)
    if getattr(q, "updated_since", None) is not None:
        start = max(start, q.updated_since.astimezone(dt.UTC).date())
    return start, end


@api.get("/activity", auth=AUTH, response={200: ActivityPage}, openapi_extra=_with_csv(LIST_ERRORS),
         summary="Daily activity per user",
         description=(
             "One row per tracked user, day (UTC), app and site. URL paths and window titles only "
             "while the account has Screen Details (or is on its trial); blank otherwise."
         ))
def activity(request, q: Query[DaysQuery]):
    account = _allow(request, Scope.READ_ACTIVITY)
    start, end = _days(account, q)
    details = selectors.account_shows_screen_details(account=account)

    def fetch(cursor):
        return _cursor_guard(
            selectors.activity_rows, account=account, start=start, end=end, cursor=cursor,
            user_id=q.user_id, details=details,
        )

    if _wants_csv(request):
        return _csv_response(
            list(selectors.ACTIVITY_FIELDS), _keyset_chunks(fetch, selectors.activity_key, q.cursor), "activity"
        )
    rows = list(fetch(q.cursor)[: q.limit + 1])
    return _page(
        rows, q.limit, selectors.activity_key, q.cursor, lambda r: dict(zip(selectors.ACTIVITY_FIELDS, r, strict=True)),
        screen_details=details,
    )


PRODUCTIVITY_COLUMNS = ["day", "tracked_user_id", "seconds", "apps", "sites"]


@api.get("/productivity", auth=AUTH, response={200: ProductivityPage}, openapi_extra=_with_csv(LIST_ERRORS),
         summary="Time tracked per user per day",
         description="Per (day, tracked user): seconds tracked and how many apps and sites were used.")
def productivity(request, q: Query[DaysQuery]):
    account = _allow(request, Scope.READ_ACTIVITY)
    start, end = _days(account, q)

    def fetch(cursor):
        return _cursor_guard(
            selectors.productivity_rows, account=account, start=start, end=end, cursor=cursor, user_id=q.user_id,
        )

    key = lambda r: [r[0].isoformat(), r[1]]  # noqa: E731
    if _wants_csv(request):
        return _csv_response(PRODUCTIVITY_COLUMNS, _keyset_chunks(fetch, key, q.cursor), "productivity")
    rows = list(fetch(q.cursor)[: q.limit + 1])
    return _page(rows, q.limit, key, q.cursor, lambda r: dict(zip(PRODUCTIVITY_COLUMNS, r, strict=True)))


USAGE_COLUMNS = ["day", "used", "licenses"]


@api.get("/license-usage", auth=AUTH, response={200: UsagePage}, openapi_extra=_with_csv(LIST_ERRORS),
         summary="License usage history", description="The day's high water of users used against the licenses.")
def license_usage(request, q: Query[UsageQuery]):
    account = _allow(request, Scope.READ_USERS)
    start, end = _window(account, q.start, q.end)

    def fetch(cursor):
        return _cursor_guard(selectors.usage_rows, account=account, start=start, end=end, cursor=cursor)

    if _wants_csv(request):
        chunks = _keyset_chunks(fetch, lambda r: r[0].isoformat(), q.cursor)
        return _csv_response(USAGE_COLUMNS, ([r[1:] for r in c] for c in chunks), "license-usage")
    rows = list(fetch(q.cursor)[: q.limit + 1])
    return _page(rows, q.limit, lambda r: r[0].isoformat(), q.cursor,
                 lambda r: dict(zip(USAGE_COLUMNS, r[1:], strict=True)))


# --- Billing ---------------------------------------------------------------------------------

@api.get("/subscription", auth=AUTH, response={200: SubscriptionOut}, openapi_extra={"responses": ONE_ERRORS},
         summary="The account's subscription")
def subscription(request):
    account = _allow(request, Scope.READ_BILLING, data=False)
    found = selectors.subscription_of(account=account)
    if found is None:
        raise ApiProblem(404, "Not found", "This account has no subscription.")
    return _json({
        "plan_code": found.plan.code, "plan_name": found.plan.name, "licenses": found.licenses,
        "state": found.state, "term_start": found.term_start, "term_end": found.term_end,
        "trial_ends_at": found.trial_ends_at, "addons": found.addon_codes,
    })


INVOICE_COLUMNS = [
    "id", "number", "state", "total_cents", "currency", "term_start", "issued_at", "due_at", "paid_at",
    "voided_at", "credit_note_for_id",
]


def _invoice(i):
    return {
        "id": i.pk, "number": i.display_number, "state": i.state, "total_cents": i.total_cents, "currency": "usd",
        "term_start": i.term_start, "issued_at": i.issued_at, "due_at": i.due_at, "paid_at": i.paid_at,
        "voided_at": i.voided_at, "credit_note_for_id": i.credit_note_for_id,
    }


@api.get("/invoices", auth=AUTH, response={200: InvoicePage}, openapi_extra=_with_csv(LIST_ERRORS),
         summary="Invoices and credit notes", description="Issued ones (drafts are not listed); totals in cents.")
def invoices(request, q: Query[PageQuery]):
    account = _allow(request, Scope.READ_BILLING, data=False)
    fetch = lambda cursor, limit: selectors.invoices_page(  # noqa: E731
        account=account, cursor=cursor, limit=limit, updated_since=q.updated_since
    )
    if _wants_csv(request):
        chunks = _keyset_chunks(
            lambda cursor: _Sliceable(lambda n: _cursor_guard(fetch, cursor, n)), lambda i: i.pk, q.cursor
        )
        return _csv_response(INVOICE_COLUMNS, ([list(_invoice(i).values()) for i in c] for c in chunks), "invoices")
    rows = _cursor_guard(fetch, q.cursor, q.limit + 1)
    return _page(rows, q.limit, lambda i: i.pk, q.cursor, _invoice)


@api.get("/invoices/{invoice_id}", auth=AUTH, response={200: InvoiceOut}, openapi_extra={"responses": ONE_ERRORS},
         summary="One invoice")
def invoice(request, invoice_id: Annotated[int, Path(ge=1, le=MAX_ID)]):
    account = _allow(request, Scope.READ_BILLING, data=False)
    found = selectors.invoice_get(account=account, invoice_id=invoice_id)
    if found is None:
        raise ApiProblem(404, "Not found", "This account has no invoice with this id.")
    return _json(_invoice(found))
