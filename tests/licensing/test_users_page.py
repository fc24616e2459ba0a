"""The Users page and its actions, as an account Admin uses them."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import AuditEntry
from licensing.identity import identity_of
from licensing.models import AccountLicensing, ActivityDay, TrackedUser, TrackedUserMachine
from tests.factories import make_account
from tests.licensing.conftest import event

pytestmark = pytest.mark.django_db


def used(account):
    return AccountLicensing.objects.get(account=account).used


@pytest.fixture
def two_users(agent):
    agent.checkin(event("eva", machine="PC-1", domain="ACME"), event("bob", machine="PC-2", domain="ACME"))
    return {u.username: u for u in TrackedUser.objects.filter(account=agent.account)}


def test_confirmation_page_says_what_happens_to_the_license_count(admin_client, two_users):
    eva = two_users["eva"]
    for action, expected in [
        ("do-not-track", "from 2 to 1"), ("delete", "from 2 to 1"), ("merge", "from 2 to 1"),
        ("alias", "stay at 2"),
    ]:
        page = admin_client.get(f"/users/{eva.pk}/{action}/").content.decode()
        assert expected in page, action
    assert used(eva.account) == 2  # a GET changes nothing


def test_do_not_track_reclaims_a_license_and_can_be_undone(admin_client, two_users):
    eva = two_users["eva"]
    admin_client.post(f"/users/{eva.pk}/do-not-track/")
    assert used(eva.account) == 1
    admin_client.post(f"/users/{eva.pk}/track/")
    assert used(eva.account) == 2
    kinds = set(AuditEntry.objects.filter(account=eva.account).values_list("kind", flat=True))
    assert {"tracked_user.do_not_track_added", "tracked_user.do_not_track_removed"} <= kinds


def test_alias_does_not_reclaim_a_license(admin_client, two_users):
    eva = two_users["eva"]
    admin_client.post(f"/users/{eva.pk}/alias/", {"alias": "Eva Lindqvist"})
    assert used(eva.account) == 2
    assert "Eva Lindqvist" in admin_client.get("/users/").content.decode()
    response = admin_client.post(f"/users/{eva.pk}/alias/", {"alias": "x" * 51})
    assert response.status_code == 400
    eva.refresh_from_db()
    assert eva.alias == "Eva Lindqvist"


def test_merge_reclaims_a_license_and_history_follows(admin_client, two_users):
    eva, bob = two_users["eva"], two_users["bob"]
    ActivityDay.objects.create(account=eva.account, tracked_user=eva, day=timezone.localdate(), app="Excel", seconds=60)
    admin_client.post(f"/users/{eva.pk}/merge/", {"destination": bob.pk})
    assert used(eva.account) == 1
    eva.refresh_from_db()
    assert (eva.state, eva.merged_into_id) == ("merged", bob.pk)
    assert ActivityDay.objects.get().tracked_user_id == bob.pk
    assert TrackedUserMachine.objects.filter(tracked_user=bob).count() == 2
    assert AuditEntry.objects.filter(account=eva.account, kind="tracked_user.merged").exists()


def test_merge_is_for_paid_accounts_only(make_agent, client):
    account, admin = make_account()  # a trial
    make_agent(account).checkin(event("eva", domain="X"), event("bob", domain="X"))
    eva, bob = TrackedUser.objects.filter(account=account).order_by("username")[1], TrackedUser.objects.get(
        account=account, username="bob"
    )
    client.force_login(admin)
    assert "paid plans only" in client.get(f"/users/{eva.pk}/merge/").content.decode()
    response = client.post(f"/users/{eva.pk}/merge/", {"destination": bob.pk})
    assert response.status_code == 400
    assert used(account) == 2


def test_delete_removes_activity_and_reclaims_the_license(admin_client, two_users):
    eva = two_users["eva"]
    ActivityDay.objects.create(account=eva.account, tracked_user=eva, day=timezone.localdate(), app="Excel", seconds=60)
    admin_client.post(f"/users/{eva.pk}/delete/")
    assert used(eva.account) == 1
    assert not ActivityDay.objects.filter(tracked_user=eva).exists()
    eva.refresh_from_db()
    assert eva.state == "deleted"
    assert AuditEntry.objects.filter(account=eva.account, kind="tracked_user.deleted").exists()


def test_page_says_a_deleted_user_comes_back(admin_client):
    assert "comes back as a new user" in admin_client.get("/users/").content.decode()


def test_another_accounts_user_gives_404_and_nothing_changes(admin_client, make_agent):
    other, _ = make_account(plan="professional", licenses=5)
    make_agent(other).checkin(event("mallory", domain="EVIL"), event("trudy", domain="EVIL"))
    mallory, trudy = TrackedUser.objects.filter(account=other).order_by("username")
    for action in ["alias", "do-not-track", "delete", "merge", "track"]:
        assert admin_client.get(f"/users/{mallory.pk}/{action}/").status_code == 404
        assert admin_client.post(f"/users/{mallory.pk}/{action}/", {"alias": "x", "destination": trudy.pk}).status_code == 404
    mallory.refresh_from_db()
    assert (mallory.state, mallory.alias, used(other)) == ("active", "", 2)


def test_merging_into_another_accounts_user_is_refused(admin_client, two_users, make_agent):
    other, _ = make_account(plan="professional", licenses=5)
    make_agent(other).checkin(event("mallory", domain="EVIL"))
    mallory = TrackedUser.objects.get(account=other)
    response = admin_client.post(f"/users/{two_users['eva'].pk}/merge/", {"destination": mallory.pk})
    assert response.status_code == 400
    assert used(two_users["eva"].account) == 2


def bulk_users(account, n, start=0):
    now = timezone.now()
    users = []
    for i in range(start, start + n):
        ident = identity_of(domain="ACME", machine_id="m", username=f"user{i}")
        users.append(TrackedUser(
            account=account, identity_kind=ident.kind, identity_scope=ident.scope, identity_name=ident.name,
            domain="ACME", username=f"user{i}", last_log_record_at=now - timedelta(days=i),
        ))
    TrackedUser.objects.bulk_create(users)


def test_users_page_query_count_is_constant(admin_client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    account = admin_client.account
    counts = []
    for start, n in ((0, 10), (10, 190)):
        bulk_users(account, n, start)
        with CaptureQueriesContext(connection) as ctx:
            assert admin_client.get("/users/?order=name").status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]
    assert counts[1] <= 10


def test_sorted_by_last_log_record_oldest_first_and_searchable(admin_client):
    bulk_users(admin_client.account, 60)
    page = admin_client.get("/users/").context["rows"]
    assert page[0].username == "user59"  # the most inactive first
    assert len(page) == 50
    assert admin_client.get("/users/?page=2").context["rows"][-1].username == "user0"
    assert [u.username for u in admin_client.get("/users/?q=user42").context["rows"]] == ["user42"]
    assert admin_client.get("/users/?order=-last_log").context["rows"][0].username == "user0"


def test_filter_by_state(admin_client, two_users):
    admin_client.post(f"/users/{two_users['eva'].pk}/do-not-track/")
    rows = admin_client.get("/users/?state=do_not_track").context["rows"]
    assert [u.username for u in rows] == ["eva"]


@pytest.mark.parametrize("url", ["/users/", "/agents/"])
def test_viewer_gets_403(viewer_client, url):
    assert viewer_client.get(url).status_code == 403


def test_a_do_not_track_user_cannot_be_deleted_back_into_the_count(admin_client):
    from licensing.models import TrackedUser

    user = TrackedUser.objects.create(
        account=admin_client.account, identity_kind="machine", identity_scope="pc", identity_name="eva",
        username="eva", state="do_not_track",
    )
    response = admin_client.post(f"/users/{user.pk}/delete/", {"confirm": "yes"}, follow=True)
    user.refresh_from_db()
    assert user.state == "do_not_track"
    assert "Do Not Track list" in response.content.decode()
