"""Issue 15: an Admin retires a machine on the Agents page (it leaves the active list; its users
keep their licenses); a retired machine that checks in again is active again."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from accounts.models import AuditEntry, Role
from licensing.models import AccountLicensing, Machine
from tests.factories import add_member, make_account
from tests.licensing.conftest import event

pytestmark = pytest.mark.django_db


def active_rows(page):
    return page.split('id="machines"')[1].split("</table>")[0]


def test_an_admin_retires_a_machine_and_its_users_keep_their_licenses(admin_client, agent):
    with time_machine.travel(timezone.now() - timedelta(days=9), tick=False):
        agent.checkin(event("eva", machine="OLD-PC"), event("bob", machine="OLD-PC"))
    agent.checkin(event("ann", machine="NEW-PC"))
    old = Machine.objects.get(machine_id="OLD-PC")
    confirm = admin_client.get(f"/agents/machines/{old.pk}/retire/")
    assert confirm.status_code == 200
    text = confirm.content.decode()
    assert "old-pc" in text and "2 users" in text and "keep their licenses" in text
    response = admin_client.post(f"/agents/machines/{old.pk}/retire/")
    assert response.status_code == 302
    page = admin_client.get("/agents/").content.decode()
    assert f'id="machine-{old.pk}"' not in active_rows(page)
    assert f'id="retired-machine-{old.pk}"' in page
    assert AccountLicensing.objects.get(account=agent.account).used == 3
    entry = AuditEntry.objects.get(account=agent.account, kind="machine.retired")
    assert entry.before["hostname"] == "old-pc"


def test_a_retired_machine_that_checks_in_again_is_active_again(admin_client, agent):
    agent.checkin(event("eva", machine="PC-1"))
    machine = Machine.objects.get(machine_id="PC-1")
    admin_client.post(f"/agents/machines/{machine.pk}/retire/")
    with time_machine.travel(timezone.now() + timedelta(minutes=5), tick=False):
        agent.checkin(event("eva", machine="PC-1"))
        page = admin_client.get("/agents/").content.decode()
    assert f'id="machine-{machine.pk}"' in active_rows(page)


def test_retiring_twice_says_so_and_a_viewer_cannot(client, admin_client, agent):
    agent.checkin(event("eva", machine="PC-1"))
    machine = Machine.objects.get(machine_id="PC-1")
    admin_client.post(f"/agents/machines/{machine.pk}/retire/")
    again = admin_client.post(f"/agents/machines/{machine.pk}/retire/")
    assert again.status_code == 400 and "already retired" in again.content.decode()
    viewer = add_member(agent.account, Role.VIEWER)
    client.force_login(viewer)
    assert client.post(f"/agents/machines/{machine.pk}/retire/").status_code == 403


def test_a_machine_of_another_account_is_not_found(admin_client):
    other, _ = make_account(plan="professional", licenses=10)
    theirs = Machine.objects.create(account=other, machine_id="X", hostname="their-pc")
    assert admin_client.post(f"/agents/machines/{theirs.pk}/retire/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.retired_at is None
