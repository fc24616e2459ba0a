"""One test walks every URL pattern of the project with every method, as an Admin of account A,
with the ids of account B's objects, and expects nothing of B's to be shown or changed.

New pages are walked without editing this file: the routes come from the URL resolver, the ids
from every model that belongs to an account.
"""

import re

import pytest
from django.apps import apps
from django.test import override_settings
from django.urls import URLPattern, URLResolver, get_resolver

from accounts.actors import Actor
from accounts.models import Account, Role
from accounts.services import billing_contacts_set, invitation_create
from billing.quotes import addon_grant_by_staff, quote_request
from connect.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from connect.services import api_token_create
from licensing.models import ActivityDay, AgentKey, Machine, TrackedUser
from support.services import case_open
from tests.factories import StaffFactory, add_member, make_account

MARKERS = ["zz-secret", "Zebra Secretcorp", "zebra-secret"]
METHODS = ["get", "post", "put", "patch", "delete"]
SKIP_ROUTES = {"logout/"}  # logging A out proves nothing about B


def routes(patterns=None, prefix=""):
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            if str(pattern.pattern).startswith("admin/"):
                continue  # staff only: customers never get in (tests/staff)
            yield from routes(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern)


def account_models():
    """Models whose rows belong to an account: directly (an ``account`` foreign key) or through
    one such foreign key (a reply of a case, a line of an invoice)."""
    direct = {
        m for m in apps.get_models()
        if any(getattr(f, "related_model", None) is Account and f.name == "account" for f in m._meta.fields)
    }
    result = {m: "account" for m in direct}
    for model in apps.get_models():
        if model in result or model._meta.proxy:
            continue
        for field in model._meta.fields:
            if field.is_relation and field.related_model in direct:
                result[model] = f"{field.name}__account"
                break
    return result


VOLATILE = {"updated_at", "last_used_at", "last_seen_at"}


def fingerprint(account):
    rows = {}
    for model, path in account_models().items():
        values = model._default_manager.filter(**{path: account}).order_by("pk").values()
        rows[model._meta.label] = [{k: v for k, v in row.items() if k not in VOLATILE} for row in values]
    rows["account"] = list(Account.objects.filter(pk=account.pk).values())
    return rows


def ids_of(account):
    ids = set()
    for model, path in account_models().items():
        ids.update(model._default_manager.filter(**{path: account}).values_list("pk", flat=True))
    return sorted(ids)


def urls_for(route, ids):
    params = re.findall(r"<(?:(\w+):)?(\w+)>", route)
    if not params:
        yield "/" + route
        return
    for pk in ids:
        url = route
        for converter, name in params:
            value = str(pk) if converter in ("int", "") or converter is None else f"zz-token-{pk}"
            url = re.sub(rf"<(?:\w+:)?{name}>", value, url)
        yield "/" + url


@pytest.fixture
def account_b(db):
    staff = StaffFactory()
    b, b_admin = make_account(plan="professional", licenses=10, name="Zebra Secretcorp",
                              admin_email="boss@zebra-secret.example")
    add_member(b, Role.VIEWER, email="viewer@zebra-secret.example")
    user = TrackedUser.objects.create(
        account=b, identity_kind="domain", identity_scope="zebra", identity_name="zz-secret-user",
        domain="ZEBRA", username="zz-secret-user", alias="zz-secret-alias",
    )
    Machine.objects.create(account=b, machine_id="zz-secret-machine", hostname="zz-secret-host")
    ActivityDay.objects.create(
        account=b, tracked_user=user, day=user.first_seen_at.date(), app="zz-secret-app.exe",
        site="zz-secret.example", seconds=600,
    )
    AgentKey.objects.create(account=b, name="zz-secret-key", prefix="zzsecret", key_hash="0" * 64)
    quote_request(account=b, topic="premier", message="zz-secret-quote", actor=Actor.for_user(b_admin))
    addon_grant_by_staff(account=b, addon_code="activconnect", price_cents=12345,
                         actor=Actor.for_user(staff), reason="zz-secret-deal")
    case_open(account=b, user=b_admin, subject="zz-secret-case", description="zz-secret details",
              severity="normal", channel="email", actor=Actor.for_user(b_admin))
    invitation_create(account=b, email="zz-secret-invite@zebra.example", role=Role.VIEWER,
                      invited_by=b_admin)
    api_token_create(account=b, name="zz-secret-token", scopes=["read_users", "read_activity", "read_billing"],
                     actor=Actor.for_user(b_admin))
    endpoint = WebhookEndpoint.objects.create(account=b, url="https://zz-secret.example/hook",
                                              events=["invoice.paid"], secret="whsec_zz-secret")
    event = WebhookEvent.objects.create(account=b, event_id="evt_zz-secret", type="invoice.paid",
                                        payload={"zz-secret": 1})
    WebhookDelivery.objects.create(endpoint=endpoint, event=event, last_error="zz-secret-error")
    billing_contacts_set(account=b, actor=Actor.for_user(b_admin), emails=["ap@zebra-secret.example"])
    return b


def test_admin_of_a_sees_and_changes_nothing_of_b(client, account_b):
    a, a_admin = make_account(plan="professional", licenses=10, name="Alpha")
    ids = ids_of(account_b)
    assert len(ids) > 5
    before = fingerprint(account_b)
    payload_id = ids[0]
    walked, problems = 0, []
    for route in routes():
        if route in SKIP_ROUTES:
            continue
        for url in urls_for(route, ids):
            for method in METHODS:
                client.force_login(a_admin)
                data = {
                    "confirm": "on", "confirmed": "yes", "reason": "walk", "alias": "pwned",
                    "destination": payload_id, "target": payload_id, "into": payload_id,
                    "tracked_user": payload_id, "user": payload_id, "users": ids, "ids": ids,
                    "quote": payload_id, "case": payload_id, "key": payload_id,
                    "body": "pwned", "subject": "pwned", "description": "pwned",
                    "licenses": 50, "plan": "essentials", "cart_id": payload_id,
                }
                if method in ("get", "delete"):
                    response = getattr(client, method)(url)
                else:
                    response = getattr(client, method)(url, data)
                walked += 1
                body = response.content.decode(errors="replace") if not response.streaming else (
                    b"".join(response.streaming_content).decode(errors="replace")
                )
                if response.status_code >= 500:
                    problems.append(f"{method.upper()} {url}: {response.status_code}")
                for marker in MARKERS:
                    if marker.lower() in body.lower():
                        problems.append(f"{method.upper()} {url}: shows {marker!r}")
    assert problems == []
    assert walked > 100
    assert fingerprint(account_b) == before


@override_settings(CONNECT_API_RATE_LIMIT=(10**9, 60))
def test_an_activconnect_token_of_a_reads_nothing_of_b(client, account_b):
    """The read API is walked with A's token (every scope, the add-on): B's ids in every path
    and query parameter, every method; nothing of B's in any answer, no 5xx."""
    a, _a_admin = make_account(plan="professional", licenses=10, name="Alpha")
    addon_grant_by_staff(account=a, addon_code="activconnect", price_cents=100,
                         actor=Actor.for_user(StaffFactory()), reason="walk")
    _token, secret = api_token_create(account=a, name="walk", scopes=["read_users", "read_activity", "read_billing"],
                                      actor=Actor.system("tests"))
    headers = {"Authorization": f"Bearer {secret}"}
    ids = ids_of(account_b)
    before = fingerprint(account_b)
    walked, problems = 0, []
    for route in routes():
        if not route.startswith("api/connect/"):
            continue
        for url in urls_for(route, ids):
            for accept in ("application/json", "text/csv"):
                for method in METHODS:
                    params = {"user_id": ids[0]} if method == "get" else None
                    response = getattr(client, method)(url, params, headers={**headers, "Accept": accept})
                    walked += 1
                    body = b"".join(response.streaming_content) if response.streaming else response.content
                    text = body.decode(errors="replace").lower()
                    if response.status_code >= 500:
                        problems.append(f"{method.upper()} {url}: {response.status_code}")
                    problems += [f"{method.upper()} {url}: shows {m!r}" for m in MARKERS if m.lower() in text]
    assert problems == []
    assert walked > 100
    assert fingerprint(account_b) == before
