"""Issue 15 (the Eva and Bob case): a user seen under the same name on several stand-alone
machines is one tracked user per machine, one license each. The Users page suggests merging
them (paid plans) or giving them one alias, before it costs licenses."""

import pytest

from accounts.models import AuditEntry
from licensing.models import AccountLicensing, TrackedUser, TrackedUserState
from tests.factories import make_account
from tests.licensing.conftest import Agent, event

pytestmark = pytest.mark.django_db
URL = "/users/namesakes/"


def used(account):
    return AccountLicensing.objects.get(account=account).used


@pytest.fixture
def eva_and_bob(agent):
    # Eva on three stand-alone machines, Bob on two, Ann once; a domain Eva is another logon.
    agent.checkin(event("eva", machine="EVA-PC"), event("Eva", machine="EVA-LAPTOP"),
                  event("eva", machine="OFFICE-1"), event("bob", machine="BOB-PC"),
                  event("bob", machine="OFFICE-1"), event("ann", machine="ANN-PC"),
                  event("eva", machine="DC-PC", domain="CORP"))
    return agent.account


def test_the_users_page_suggests_eva_and_bob(admin_client, eva_and_bob, django_assert_max_num_queries):
    admin_client.get("/users/")
    with django_assert_max_num_queries(14):
        page = admin_client.get("/users/").content.decode()
    box = page.split('id="namesakes"')[1].split("</section>")[0]
    assert "eva" in box.lower() and "3 stand-alone machines" in box and "2 licenses" in box
    assert "bob" in box and "2 stand-alone machines" in box and "1 license" in box
    assert "ann" not in box


def test_merging_the_namesakes_reclaims_their_licenses(admin_client, eva_and_bob):
    assert used(eva_and_bob) == 7
    response = admin_client.post(URL, {"name": "eva", "do": "merge"})
    assert response.status_code == 302
    assert used(eva_and_bob) == 5
    evas = TrackedUser.objects.filter(account=eva_and_bob, identity_kind="machine", identity_name="eva")
    assert sorted(evas.values_list("state", flat=True)) == ["active", "merged", "merged"]
    assert AuditEntry.objects.filter(account=eva_and_bob, kind="tracked_user.merged").count() == 2
    # The domain Eva is another logon: untouched.
    assert TrackedUser.objects.get(account=eva_and_bob, identity_kind="domain").state == TrackedUserState.ACTIVE
    page = admin_client.get("/users/").content.decode()
    assert "3 stand-alone machines" not in page


def test_an_alias_joins_them_in_reports_without_reclaiming(admin_client, eva_and_bob):
    response = admin_client.post(URL, {"name": "bob", "do": "alias", "alias": "Bob Smith"})
    assert response.status_code == 302
    assert set(TrackedUser.objects.filter(account=eva_and_bob, identity_name="bob").values_list("alias", flat=True)) == {"Bob Smith"}
    assert used(eva_and_bob) == 7
    box = admin_client.get("/users/").content.decode().split('id="namesakes"')[1].split("</section>")[0]
    assert "bob" not in box.lower()  # one alias already joins them: no more suggestion


def test_a_trial_is_offered_the_alias_only(client):
    account, admin = make_account()  # a trial: merging is for paid plans
    Agent(client, account).checkin(event("eva", machine="A"), event("eva", machine="B"))
    client.force_login(admin)
    page = client.get("/users/").content.decode()
    box = page.split('id="namesakes"')[1].split("</section>")[0]
    assert 'value="alias"' in box and 'value="merge"' not in box
    response = client.post(URL, {"name": "eva", "do": "merge"})
    assert response.status_code == 400 and "paid plans only" in response.content.decode()


@pytest.mark.parametrize("data,message", [
    ({"name": "nobody", "do": "merge"}, "No user of that name"),
    ({"name": "eva", "do": "explode"}, "Choose merge or alias"),
    ({"name": "eva", "do": "alias", "alias": "x" * 51}, "50 characters at most"),
])
def test_bad_requests_are_refused_with_a_reason(admin_client, eva_and_bob, data, message):
    response = admin_client.post(URL, data)
    assert response.status_code == 400 and message in response.content.decode()
    assert used(eva_and_bob) == 7
