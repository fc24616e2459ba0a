"""The ActivConnect read API as an integrator sees it (issue 16, item 1; docs/connect.md)."""

import csv
import io

import pytest
from django.core.cache import cache
from django.test import override_settings

from accounts.actors import Actor
from billing.models import SubscriptionAddOn
from connect.models import ApiToken
from connect.selectors import cursor_encode
from connect.services import api_token_revoke
from licensing.models import (
    AccountLicensing,
    ComplianceState,
    Machine,
    TrackedUserMachine,
    UsageSnapshot,
)
from tests.connect.helpers import (
    Api,
    activity_row,
    add_addon,
    connect_account,
    days_ago,
    token_for,
    tracked_user,
)

pytestmark = pytest.mark.django_db
PROBLEM = "application/problem+json"


@pytest.fixture
def account():
    return connect_account()[0]


@pytest.fixture
def api(client, account):
    return Api(client, token_for(account)[1])


def problem(response, status):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    return body


# --- tokens: add-on, revoked, other account, scope ------------------------------------------

def test_a_token_of_an_account_without_the_addon_is_refused_naming_it(client):
    account = connect_account(addon=False)[0]
    tracked_user(account, "eva")
    body = problem(Api(client, token_for(account)[1]).get("/users"), 403)
    assert "ActivConnect API add-on" in body["detail"]
    assert "eva" not in str(body)


def test_with_the_addon_the_token_reads_and_records_its_last_use(api, account):
    eva = tracked_user(account, "eva")
    body = api.ok("/users")
    assert [u["username"] for u in body["data"]] == ["eva"]
    assert body["data"][0]["id"] == eva.pk
    assert ApiToken.objects.get().last_used_at is not None


def test_a_revoked_token_is_refused(client, account):
    token, secret = token_for(account)
    api_token_revoke(token=token, actor=Actor.system("tests"))
    response = Api(client, secret).get("/users")
    problem(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("secret", ["", "wa_agentkey_x", "ac_nothing_here", "ac_" + "x" * 200])
def test_unknown_tokens_and_agent_keys_are_refused(client, account, secret):
    problem(Api(client, secret).get("/users"), 401)


def test_objects_of_another_account_are_not_found(client, api, account):
    other = connect_account()[0]
    theirs = tracked_user(other, "zz-other")
    activity_row(other, theirs, app="zz-other.exe")
    problem(api.get(f"/users/{theirs.pk}"), 404)
    assert api.ok("/users")["data"] == []
    assert api.ok("/activity")["data"] == []
    from billing.models import Invoice

    invoice = Invoice.objects.filter(account=other, number__isnull=False).first()
    assert invoice is not None
    problem(api.get(f"/invoices/{invoice.pk}"), 404)
    assert all(i["id"] != invoice.pk for i in api.ok("/invoices")["data"])


@pytest.mark.parametrize(
    "scopes, path, refused",
    [
        (["read_users"], "/activity", "read_activity"),
        (["read_users"], "/productivity", "read_activity"),
        (["read_users"], "/invoices", "read_billing"),
        (["read_activity"], "/users", "read_users"),
        (["read_activity"], "/machines", "read_users"),
        (["read_billing"], "/license-usage", "read_users"),
        (["read_activity", "read_users"], "/subscription", "read_billing"),
    ],
)
def test_out_of_scope_is_refused_naming_the_scope(client, account, scopes, path, refused):
    body = problem(Api(client, token_for(account, scopes=scopes)[1]).get(path), 403)
    assert refused in body["detail"]


def test_a_blocked_account_reads_billing_but_not_data(api, account):
    AccountLicensing.objects.update_or_create(account=account, defaults={"state": ComplianceState.BLOCKED})
    assert "blocked" in problem(api.get("/activity"), 403)["detail"]
    problem(api.get("/users"), 403)
    assert api.ok("/subscription")["plan_code"] == "professional"


@override_settings(CONNECT_API_RATE_LIMIT=(2, 60))
def test_each_token_is_rate_limited(client, account, api):
    cache.clear()
    other = Api(client, token_for(account)[1])
    assert api.get("/users").status_code == 200
    assert api.get("/users").status_code == 200
    response = api.get("/users")
    problem(response, 429)
    assert int(response["Retry-After"]) > 0
    assert other.get("/users").status_code == 200  # per token, not per account


# --- resources -------------------------------------------------------------------------------

def test_tracked_users_with_machines_state_alias_and_merge(api, account):
    eva = tracked_user(account, "eva", alias="Eva K.")
    old = tracked_user(account, "eva-old")
    old.state, old.merged_into = "merged", eva
    old.save()
    machine = Machine.objects.create(account=account, machine_id="PC-1", hostname="pc-1")
    TrackedUserMachine.objects.create(tracked_user=eva, machine=machine)
    rows = {u["username"]: u for u in api.ok("/users")["data"]}
    assert rows["eva"]["alias"] == "Eva K." and rows["eva"]["display_name"] == "Eva K."
    assert rows["eva"]["machine_ids"] == [machine.pk]
    assert rows["eva-old"]["state"] == "merged" and rows["eva-old"]["merged_into_id"] == eva.pk
    assert api.ok(f"/users/{eva.pk}")["machine_ids"] == [machine.pk]
    assert [m["hostname"] for m in api.ok("/machines")["data"]] == ["pc-1"]


def test_productivity_license_usage_subscription_invoices(api, account):
    eva, bob = tracked_user(account, "eva"), tracked_user(account, "bob")
    activity_row(account, eva, app="excel.exe", seconds=100)
    activity_row(account, eva, app="chrome.exe", site="example.org", seconds=50)
    activity_row(account, bob, app="excel.exe", seconds=7, day=days_ago(1))
    UsageSnapshot.objects.create(account=account, day=days_ago(1), used=2, licenses=10)
    totals = api.ok("/productivity")["data"]
    assert [(t["tracked_user_id"], t["seconds"], t["apps"], t["sites"]) for t in totals] == [
        (bob.pk, 7, 1, 0), (eva.pk, 150, 2, 1),
    ]
    assert api.ok("/license-usage")["data"] == [{"day": days_ago(1).isoformat(), "used": 2, "licenses": 10}]
    subscription = api.ok("/subscription")
    assert subscription["licenses"] == 10 and "activconnect" in subscription["addons"]
    invoices = api.ok("/invoices")["data"]
    assert invoices and all(i["number"] != "draft" for i in invoices)


# --- privacy: titles and URLs only with Screen Details ----------------------------------------

def test_titles_and_paths_are_blank_without_screen_details(api, account):
    eva = tracked_user(account, "eva")
    # Stored while the account had Screen Details; it has it no longer.
    activity_row(account, eva, app="chrome.exe", site="mail.example", url_path="/inbox/42", title="Salary review")
    body = api.ok("/activity")
    assert body["screen_details"] is False
    assert body["data"][0]["title"] == "" and body["data"][0]["url_path"] == ""
    exported = api.get("/activity", accept="text/csv")
    text = b"".join(exported.streaming_content).decode()
    assert "Salary" not in text and "/inbox/42" not in text
    assert "Salary" not in str(api.ok("/productivity")) + str(api.ok("/users"))


def test_titles_and_paths_are_served_with_screen_details(api, account):
    add_addon(account, "screen_details")
    eva = tracked_user(account, "eva")
    activity_row(account, eva, app="chrome.exe", site="mail.example", url_path="/inbox/42", title="Salary review")
    row = api.ok("/activity")["data"][0]
    assert (row["url_path"], row["title"]) == ("/inbox/42", "Salary review")
    SubscriptionAddOn.objects.filter(addon__code="screen_details").delete()
    assert api.ok("/activity")["data"][0]["title"] == ""


# --- data history window, updated_since ---------------------------------------------------------

def test_dates_outside_the_data_history_are_a_400_naming_the_window(api, account):
    body = problem(api.get("/activity", start=days_ago(400).isoformat()), 400)
    assert "12 months" in body["detail"] and days_ago(0).isoformat() in body["detail"]
    problem(api.get("/license-usage", end=days_ago(-2).isoformat()), 400)
    problem(api.get("/activity", start=days_ago(1).isoformat(), end=days_ago(3).isoformat()), 400)


@pytest.mark.parametrize("params", [
    {"limit": 0}, {"limit": 5000}, {"start": "yesterday"}, {"cursor": "!!!"}, {"cursor": "bm90IGpzb24"},
    {"updated_since": "2026-01-01T00:00:00"}, {"user_id": 2**70}, {"updated_since": "0001-01-01T00:00:00+18:00"},
    {"cursor": cursor_encode(["2026-12-01", 2**70])}, {"cursor": cursor_encode(["2026-12-01", "1"])},
    {"cursor": cursor_encode([1, 2])}, {"cursor": cursor_encode({"a": 1})},
])
def test_bad_parameters_are_problems(api, params):
    problem(api.get("/activity", **params), 400)
    if "cursor" in params:
        for path in ("/productivity", "/license-usage", "/users", "/machines", "/invoices"):
            problem(api.get(path, **params), 400)


def test_offsets_past_postgresql_range_are_read_in_utc(api, account):
    tracked_user(account, "eva")
    assert [u["username"] for u in api.ok("/users", updated_since="2000-01-01T00:00:00+19:25")["data"]] == ["eva"]


def test_updated_since_returns_the_rows_that_changed(api, account):
    eva = tracked_user(account, "eva")
    activity_row(account, eva, day=days_ago(5), seconds=1)
    recent = activity_row(account, eva, day=days_ago(1), seconds=2)
    since = f"{days_ago(2).isoformat()}T00:00:00+00:00"
    assert [r["id"] for r in api.ok("/activity", updated_since=since)["data"]] == [recent.pk]
    assert [u["username"] for u in api.ok("/users", updated_since="2999-01-01T00:00:00Z")["data"]] == []


# --- pagination and CSV ------------------------------------------------------------------------

def test_pages_walk_every_row_once_while_rows_are_inserted(client, api, account):
    """Keyset pages: rows inserted between two pages (before and after the cursor) never make
    the walk skip or repeat a row that existed when it started."""
    users = [tracked_user(account, f"u{i}") for i in range(3)]
    existing = [activity_row(account, users[i % 3], app=f"app{i}.exe").pk for i in range(25)]
    seen, cursor, inserted = [], None, 0
    while True:
        body = api.ok("/activity", limit=7, **({"cursor": cursor} if cursor else {}))
        seen += [r["id"] for r in body["data"]]
        cursor = body["next_cursor"]
        activity_row(account, users[0], app=f"new{inserted}.exe")  # lands after the cursor
        inserted += 1
        if not body["has_more"]:
            break
    assert len(seen) == len(set(seen))
    assert set(existing) <= set(seen)
    # The last cursor keeps the place: the next sync reads only what came after.
    later = api.ok("/activity", cursor=cursor)["data"]
    assert len(later) == 1 and later[0]["id"] not in seen


def test_productivity_pages_by_day_and_user(api, account):
    users = [tracked_user(account, f"u{i}") for i in range(4)]
    for d in range(3):
        for u in users:
            activity_row(account, u, day=days_ago(d))
    rows = api.walk("/productivity", limit=5)
    assert len(rows) == 12 == len({(r["day"], r["tracked_user_id"]) for r in rows})


def test_csv_is_streamed_with_every_row(api, account, monkeypatch):
    from connect import api as connect_api

    monkeypatch.setattr(connect_api, "CSV_CHUNK_ROWS", 4)
    eva = tracked_user(account, "eva")
    for i in range(10):
        activity_row(account, eva, app=f"=cmd{i}.exe", seconds=i)
    response = api.get("/activity", accept="text/csv")
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["id", "day", "tracked_user_id", "app", "site", "url_path", "title", "seconds"]
    assert len(rows) == 11
    assert rows[1][3] == "'=cmd0.exe"  # no formula when opened in a spreadsheet
    users_csv = b"".join(api.get("/users", accept="text/csv").streaming_content).decode()
    assert "eva" in users_csv


def test_openapi_document_is_served_beside_the_agent_api(client):
    document = client.get("/api/connect/v1/openapi.json").json()
    assert document["info"]["title"] == "ActivConnect API"
    assert "/api/connect/v1/activity" in document["paths"]
    assert client.get("/api/agent/v1/openapi.json").status_code == 200


def test_list_queries_are_constant(api, account, django_assert_max_num_queries):
    for i in range(30):
        user = tracked_user(account, f"u{i}")
        activity_row(account, user)
    with django_assert_max_num_queries(10):
        api.ok("/users", limit=100)
    with django_assert_max_num_queries(10):
        api.ok("/activity", limit=100)


@override_settings(CONNECT_AUTH_FAILURE_LIMIT=(3, 60))
def test_an_address_guessing_tokens_is_held_back(client, account, api):
    cache.clear()
    for _ in range(3):
        problem(Api(client, "ac_guess_x").get("/users"), 401)
    response = Api(client, "ac_guess_y").get("/users")
    problem(response, 429)
    assert response["Retry-After"]
