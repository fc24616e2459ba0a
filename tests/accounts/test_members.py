"""Issue 15: an Admin changes a member's role and removes a member, never the last Admin; each
change is an audit row."""

import pytest

from accounts.models import AuditEntry, Membership, Role
from tests.factories import add_member, make_account

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(client):
    account, admin = make_account(plan="professional", licenses=10)
    viewer = add_member(account, Role.VIEWER)
    client.force_login(admin)
    return client, account, admin, viewer


def test_an_admin_changes_a_members_role(team):
    client, account, admin, viewer = team
    response = client.post(f"/members/{viewer.membership.pk}/role/", {"role": "billing"})
    assert response.status_code == 302
    assert Membership.objects.get(user=viewer).role == "billing"
    entry = AuditEntry.objects.get(account=account, kind="member.role_changed")
    assert (entry.before, entry.after) == ({"role": "viewer"}, {"role": "billing"})
    assert entry.actor_label == admin.email


def test_the_last_admin_cannot_step_down_nor_be_removed(team):
    client, account, admin, _ = team
    response = client.post(f"/members/{admin.membership.pk}/role/", {"role": "viewer"}, follow=True)
    assert "An account keeps at least one Admin." in response.content.decode()
    assert Membership.objects.get(user=admin).role == "admin"
    response = client.post(f"/members/{admin.membership.pk}/remove/", follow=True)
    assert "An account keeps at least one Admin." in response.content.decode() or \
        "You cannot remove yourself" in response.content.decode()
    assert Membership.objects.filter(user=admin).exists()


def test_an_admin_removes_a_member_who_can_no_longer_log_in(team, client):
    client, account, admin, viewer = team
    response = client.post(f"/members/{viewer.membership.pk}/remove/")
    assert response.status_code == 302
    assert not Membership.objects.filter(user=viewer).exists()
    viewer.refresh_from_db()
    assert not viewer.is_active
    entry = AuditEntry.objects.get(account=account, kind="member.removed")
    assert entry.before == {"email": viewer.email, "role": "viewer"}


def test_a_second_admin_can_be_removed_and_demoted(team):
    client, account, admin, _ = team
    other = add_member(account, Role.ADMIN)
    assert client.post(f"/members/{other.membership.pk}/role/", {"role": "viewer"}).status_code == 302
    assert Membership.objects.get(user=other).role == "viewer"


def test_a_bad_role_is_refused_with_a_reason(team):
    client, account, admin, viewer = team
    response = client.post(f"/members/{viewer.membership.pk}/role/", {"role": "owner"}, follow=True)
    assert response.status_code == 200
    assert "Choose a role" in response.content.decode()
    assert Membership.objects.get(user=viewer).role == "viewer"


def test_another_accounts_member_is_a_404_and_viewers_get_403(team, client):
    client, account, admin, viewer = team
    _, stranger_admin = make_account()
    assert client.post(f"/members/{stranger_admin.membership.pk}/remove/").status_code == 404
    assert client.post(f"/members/{stranger_admin.membership.pk}/role/", {"role": "viewer"}).status_code == 404
    client.force_login(viewer)
    assert client.post(f"/members/{admin.membership.pk}/remove/").status_code == 403


def test_the_members_page_offers_the_actions(team):
    client, account, admin, viewer = team
    page = client.get("/members/").content.decode()
    assert f'action="/members/{viewer.membership.pk}/role/"' in page
    assert f'action="/members/{viewer.membership.pk}/remove/"' in page
