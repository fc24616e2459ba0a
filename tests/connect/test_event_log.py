"""The customer's event log (issue 16, item 3): the account's own audit rows for its Admins,
filterable and exportable, without what only our staff see."""

import csv
import io

import pytest

from accounts.actors import Actor
from accounts.models import AuditEntry, Role
from accounts.services import audit_record
from tests.connect.helpers import connect_account
from tests.factories import StaffFactory, add_member

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(client):
    account, admin = connect_account()  # staff granted ActivConnect: audit rows by a staff member
    client.force_login(admin)
    return account, admin


def test_an_admin_sees_who_did_what_when_and_from_where(client, admin):
    account, user = admin
    client.post("/integrations/", {"name": "Power BI", "scopes": ["read_users"]}, REMOTE_ADDR="203.0.113.7")
    page = client.get("/events/")
    assert page.status_code == 200
    entry = next(e for e in page.context["entries"] if e["what"] == "api_token.created")
    assert entry["who"] == user.email and entry["address"] == "203.0.113.7" and entry["when"]
    assert "203.0.113.7" in page.content.decode()


def test_staff_only_fields_are_not_shown(client, admin):
    account, _ = admin
    staff = StaffFactory(email="carol.sales@ourcompany.example")
    audit_record(account=account, actor=Actor.for_user(staff), kind="discount.set",
                 summary="Discount set", before={"cost": "zz-internal"}, after={"margin": "zz-internal"},
                 reason="zz-internal-note: competitor price")
    body = client.get("/events/").content.decode() + b"".join(
        client.get("/events/export.csv").streaming_content).decode()
    assert "Discount set" in body and "our staff" in body
    for hidden in ("zz-internal", "carol.sales", "ourcompany.example"):
        assert hidden not in body


def test_other_accounts_rows_are_not_shown(client, admin):
    other, _ = connect_account()
    audit_record(account=other, actor=Actor.system("tests"), kind="zz.other", summary="zz-other-account")
    assert "zz-other-account" not in client.get("/events/").content.decode()
    assert "zz-other-account" not in b"".join(client.get("/events/export.csv").streaming_content).decode()


def test_filters_and_export(client, admin):
    account, user = admin
    audit_record(account=account, actor=Actor.for_user(user), kind="user.alias_set", summary="Alias set")
    audit_record(account=account, actor=Actor.job("expire_grace_periods"), kind="compliance.changed",
                 summary="=HYPERLINK(1)")
    only = client.get("/events/", {"kind": "user.alias_set"}).context["entries"]
    assert [e["summary"] for e in only] == ["Alias set"]
    by_job = client.get("/events/", {"who": "expire_grace"}).context["entries"]
    assert [e["what"] for e in by_job] == ["compliance.changed"]
    response = client.get("/events/export.csv", {"who": "expire_grace"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["id", "when", "who", "actor", "what", "summary", "address"]
    assert rows[1][5] == "'=HYPERLINK(1)"  # no formula in a spreadsheet
    assert len(rows) == 2


def test_a_bad_filter_is_a_form_error(client, admin):
    response = client.get("/events/", {"start": "2026-12-02", "end": "2026-12-01"})
    assert response.status_code == 400
    assert "The start date is after the end date." in response.content.decode()
    assert client.get("/events/", {"kind": "nope"}).status_code == 400


def test_the_page_has_a_constant_number_of_queries(client, admin, django_assert_max_num_queries):
    account, user = admin
    for i in range(60):
        audit_record(account=account, actor=Actor.for_user(user), kind="x.y", summary=f"row {i}")
    with django_assert_max_num_queries(12):
        assert len(client.get("/events/").context["entries"]) == 50


@pytest.mark.parametrize("role", [Role.VIEWER, Role.BILLING])
def test_only_admins(client, admin, role):
    client.force_login(add_member(admin[0], role))
    assert client.get("/events/").status_code == 403
    assert client.get("/events/export.csv").status_code == 403


def test_a_forged_forwarded_address_is_not_stored(client, admin, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    client.post("/integrations/", {"name": "x", "scopes": ["read_users"]}, HTTP_X_FORWARDED_FOR="not-an-ip")
    assert AuditEntry.objects.get(kind="api_token.created").address is None
