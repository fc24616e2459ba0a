"""Issue 15: an Admin deletes the account: an export first, the name typed to confirm, closed at
once (agents refused with a problem+json), erased after 30 days by a job unless an Admin
cancels; invoices are kept."""

import csv
import io
import zipfile
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from accounts.models import Account, AuditEntry, Membership, Role
from billing.invoices import invoice_issue_for_order
from billing.models import Invoice
from licensing.models import ActivityDay, Machine, TrackedUser
from support.models import SupportCase
from support.services import case_open
from tests.billing.helpers import make_order
from tests.billing.lifecycle_support import JOB
from tests.factories import add_member, make_account
from tests.licensing.conftest import event

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(client, make_agent):
    account, admin = make_account(plan="professional", licenses=10, name="Acme Widgets")
    viewer = add_member(account, Role.VIEWER)
    agent = make_agent(account)
    agent.checkin(event("eva", machine="EVA-LAPTOP",
                        activity=[{"app": "Excel", "seconds": 600}]))
    invoice_issue_for_order(order=make_order(account, lines=[(10, 22800, 365, 365)]), actor=JOB, paid=True)
    case_open(account=account, user=admin, actor=JOB, subject="Help", description="x",
              severity="normal", channel="email")
    client.force_login(admin)
    return client, account, admin, viewer, agent


def export(client):
    response = client.get("/account/export/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert "attachment" in response["Content-Disposition"]
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content) if response.streaming else response.content))


def rows(archive, name):
    return list(csv.DictReader(io.StringIO(archive.read(name).decode())))


def test_the_export_has_users_machines_activity_members_and_invoices(customer):
    client, account, admin, viewer, _ = customer
    archive = export(client)
    assert sorted(archive.namelist()) == [
        "activity.csv", "invoices.csv", "machines.csv", "members.csv", "users.csv"]
    assert [r["username"] for r in rows(archive, "users.csv")] == ["eva"]
    assert [r["hostname"] for r in rows(archive, "machines.csv")] == ["eva-laptop"]
    assert [(r["user"], r["app"], r["seconds"]) for r in rows(archive, "activity.csv")] == [("eva", "Excel", "600")]
    assert [r["number"] for r in rows(archive, "invoices.csv")] == ["INV-000001"]
    assert sorted(r["email"] for r in rows(archive, "members.csv")) == sorted([admin.email, viewer.email])
    assert AuditEntry.objects.filter(account=account, kind="account.exported").count() == 1


def test_closing_needs_the_export_first_and_the_name_typed(customer):
    client, account, *_ = customer
    page = client.get("/account/delete/").content.decode()
    assert "Download the export first" in page
    response = client.post("/account/delete/", {"name": "Acme Widgets"})
    assert response.status_code == 400
    assert "Download the export of the account" in response.content.decode()
    export(client)
    response = client.post("/account/delete/", {"name": "acme"})
    assert response.status_code == 400
    assert "name exactly: Acme Widgets" in response.content.decode()
    assert Account.objects.get(pk=account.pk).closed_at is None


def test_a_closed_account_refuses_agents_and_pages_and_is_erased_after_30_days(
    customer, client, django_capture_on_commit_callbacks,
):
    client, account, admin, viewer, agent = customer
    export(client)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/account/delete/", {"name": " Acme Widgets "})
    assert response.status_code == 302 and response.url == "/account/delete/"
    account.refresh_from_db()
    assert account.closed_at is not None
    assert account.erase_after == account.closed_at + timedelta(days=30)
    (email,) = [m for m in mail.outbox if "closed" in m.subject]
    assert admin.email in email.to and "erased on" in email.body

    refused = agent.post([event("bob")])
    assert refused.status_code == 403
    assert refused["Content-Type"] == "application/problem+json"
    assert "closed" in refused.json()["detail"] and "erased" in refused.json()["detail"]

    page = client.get("/account/delete/").content.decode()
    assert "will be erased on" in page and 'id="cancel-deletion"' in page
    assert client.get("/users/").url == "/account/delete/"  # the Admin is sent to the closure page
    client.force_login(viewer)
    assert client.get("/").status_code == 403

    with time_machine.travel(timezone.now() + timedelta(days=29), tick=False):
        call_command("erase_closed_accounts")
        assert TrackedUser.objects.filter(account=account).exists()
    with time_machine.travel(timezone.now() + timedelta(days=30, minutes=1), tick=False):
        call_command("erase_closed_accounts")
        call_command("erase_closed_accounts")
    account.refresh_from_db()
    assert account.erased_at is not None and "Acme" not in account.name
    assert not TrackedUser.objects.filter(account=account).exists()
    assert not Machine.objects.filter(account=account).exists()
    assert not ActivityDay.objects.filter(account=account).exists()
    assert not SupportCase.objects.filter(account=account).exists()
    assert not Membership.objects.filter(account=account).exists()
    admin.refresh_from_db()
    assert not admin.is_active and admin.email.endswith(".invalid")
    assert Invoice.objects.filter(account=account).count() == 1  # kept: the law's record
    assert AuditEntry.objects.filter(account=account, kind="account.erased").count() == 1


def test_an_admin_cancels_the_deletion_and_agents_are_back(customer):
    client, account, _, _, agent = customer
    export(client)
    client.post("/account/delete/", {"name": "Acme Widgets"})
    assert agent.post([event("bob")]).status_code == 403
    response = client.post("/account/delete/cancel/")
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.closed_at is None and account.erase_after is None
    assert agent.post([event("bob")]).status_code == 200
    assert client.get("/users/").status_code == 200
    with time_machine.travel(timezone.now() + timedelta(days=31), tick=False):
        call_command("erase_closed_accounts")
    assert TrackedUser.objects.filter(account=account).exists()
    kinds = list(AuditEntry.objects.filter(account=account, kind__startswith="account.").values_list("kind", flat=True))
    assert {"account.exported", "account.closed", "account.close_cancelled"} <= set(kinds)


def test_only_admins_delete(customer, client):
    _, account, _, viewer, _ = customer
    client.force_login(viewer)
    assert client.get("/account/delete/").status_code == 403
    assert client.get("/account/export/").status_code == 403
    assert client.post("/account/delete/", {"name": "Acme Widgets"}).status_code == 403


def test_staff_see_the_closing_accounts(customer, admin_user, client):
    client, account, *_ = customer
    export(client)
    client.post("/account/delete/", {"name": "Acme Widgets"})
    client.force_login(admin_user)
    page = client.get("/admin/staff/staffaccount/").content.decode()
    assert "erased on" in page
