"""The agent API as an agent sees it: results per event, the account's usage, identity rules."""

import json
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from accounts.actors import Actor
from licensing.models import (
    ActivityDay,
    AgentKey,
    Machine,
    TrackedUser,
    TrackedUserMachine,
    TrackedUserState,
)
from licensing.services import tracked_user_merge
from tests.factories import make_account
from tests.licensing.conftest import event

pytestmark = pytest.mark.django_db


def five_users_on_five_licenses(agent, *, domain):
    """Five colleagues, each on their own machine; Bob among them."""
    names = ["bob", "eva", "ann", "joe", "kim"]
    agent.checkin(*[event(n, machine=f"PC-{n}", domain=domain) for n in names])


def test_stand_alone_eva_on_bobs_computer_is_a_sixth_user_and_starts_the_grace_period(
    make_agent, django_capture_on_commit_callbacks
):
    account, admin = make_account(plan="professional", licenses=5)
    agent = make_agent(account)
    five_users_on_five_licenses(agent, domain=None)
    with django_capture_on_commit_callbacks(execute=True):
        data = agent.checkin(event("Eva", machine="PC-bob"))
    assert data["account"] == {"used": 6, "licenses": 5, "state": "grace"}
    assert [m.to for m in mail.outbox] == [[admin.email]]
    assert "grace period" in mail.outbox[0].subject


def test_domain_joined_eva_on_bobs_computer_is_still_eva(make_agent):
    account, _ = make_account(plan="professional", licenses=5)
    agent = make_agent(account)
    five_users_on_five_licenses(agent, domain="ACME")
    data = agent.checkin(event("EVA", machine="PC-bob", domain="acme"))
    assert data["account"] == {"used": 5, "licenses": 5, "state": "ok"}
    eva = TrackedUser.objects.get(account=account, identity_name="eva")
    assert eva.username == "eva"  # the first spelling seen is kept for display
    assert eva.machine_links.count() == 2


def test_identity_ignores_case_but_not_unicode_width(agent):
    # Windows compares logons by simple case mapping, without compatibility folding (issue 11,
    # item 4): full-width ＥＶＡ is another logon than EVA.
    agent.checkin(event("Eva", domain="ACME"))
    data = agent.checkin(event("eva", domain="acme"), event("EVA", domain="Acme"))
    assert data["account"]["used"] == 1
    assert TrackedUser.objects.get(account=agent.account).username == "Eva"
    assert agent.checkin(event("Ｅｖａ", domain="ＡＣＭＥ"))["account"]["used"] == 2


def test_duplicate_event_changes_nothing(agent):
    first = agent.checkin(event("eva", event_id="e-1"))
    assert first["results"][0]["result"] == "accepted"
    again = agent.checkin(event("bob", event_id="e-1"), event("bob", event_id="e-2"), event("bob", event_id="e-2"))
    assert [r["result"] for r in again["results"]] == ["duplicate", "accepted", "duplicate"]
    assert again["account"]["used"] == 2
    assert not TrackedUser.objects.filter(username="bob").count() > 1


def test_a_bad_event_is_rejected_alone(agent):
    future = timezone.now() + timedelta(days=2)
    data = agent.checkin(
        event("eva"),
        event("x" * 300),
        event("bob", observed_at=future),
        {"event_id": "no-user", "machine_id": "PC-1", "hostname": "pc-1", "observed_at": timezone.now().isoformat()},
        event("ann", observed_at="2026-01-01T10:00:00"),  # no UTC offset
        "not an object",
        event("joe", activity=[{"app": "Excel", "seconds": -5}]),
        event("kim"),
    )
    results = [r["result"] for r in data["results"]]
    assert results == ["accepted", "rejected", "rejected", "rejected", "rejected", "rejected", "rejected", "accepted"]
    assert "username" in data["results"][1]["reason"]
    assert "future" in data["results"][2]["reason"]
    assert data["results"][3]["event_id"] == "no-user"
    assert data["account"]["used"] == 2
    assert set(TrackedUser.objects.filter(account=agent.account).values_list("username", flat=True)) == {"eva", "kim"}


def test_machines_and_last_log_record_are_kept(agent):
    earlier = timezone.now() - timedelta(hours=3)
    agent.checkin(
        event("eva", machine="PC-1", domain="ACME", observed_at=earlier), event("eva", machine="PC-2", domain="ACME")
    )
    eva = TrackedUser.objects.get(account=agent.account)
    assert eva.last_log_record_at > earlier
    assert set(Machine.objects.filter(account=agent.account).values_list("machine_id", flat=True)) == {"PC-1", "PC-2"}
    assert TrackedUserMachine.objects.filter(tracked_user=eva).count() == 2


def test_do_not_track_user_is_not_tracked_while_others_on_the_machine_are(agent):
    agent.checkin(event("eva", machine="PC-1"))
    eva = TrackedUser.objects.get(account=agent.account)
    eva.state = TrackedUserState.DO_NOT_TRACK
    eva.save()
    data = agent.checkin(event("eva", machine="PC-1"), event("bob", machine="PC-1"))
    assert [r["result"] for r in data["results"]] == ["not_tracked", "accepted"]


def test_merged_away_identity_counts_toward_its_destination(agent):
    old = timezone.now() - timedelta(days=3)
    agent.checkin(
        event("eva", machine="OLD-LAPTOP", observed_at=old), event("eva", machine="NEW-LAPTOP", observed_at=old)
    )
    users = {u.machine_hostname: u for u in TrackedUser.objects.filter(account=agent.account)}
    old_eva, new_eva = users["old-laptop"], users["new-laptop"]
    tracked_user_merge(account=agent.account, source_id=old_eva.pk, destination_id=new_eva.pk, actor=Actor.system("t"))
    data = agent.checkin(event("eva", machine="OLD-LAPTOP"))
    assert data["results"][0]["result"] == "accepted"
    assert data["account"]["used"] == 1
    new_eva.refresh_from_db()
    assert new_eva.last_log_record_at > old + timedelta(days=2)
    assert new_eva.machine_links.count() == 2


def test_deleted_user_whose_agent_reports_again_comes_back_as_new(agent, admin_client):
    agent.checkin(event("eva"))
    eva = TrackedUser.objects.get(account=agent.account)
    admin_client.post(f"/users/{eva.pk}/delete/")
    assert agent.checkin(event("eva"))["account"]["used"] == 1
    assert TrackedUser.objects.filter(account=agent.account, username="eva").count() == 2


def test_checkins_go_to_the_keys_account_only(make_agent, paid_account):
    other, _ = make_account(plan="professional", licenses=5)
    make_agent(other).checkin(event("mallory"))
    assert not TrackedUser.objects.filter(account=paid_account[0]).exists()
    assert make_agent(paid_account[0]).checkin(event("eva"))["account"]["used"] == 1


def test_key_last_used_is_recorded(agent):
    agent.checkin(event("eva"))
    assert AgentKey.objects.get(pk=agent.key.pk).last_used_at is not None


def test_checkin_activity_is_rolled_up_with_details_dropped_without_screen_details(make_agent):
    account, _ = make_account(plan="professional", licenses=5)
    agent = make_agent(account)
    items = [{"app": "Excel", "url": "https://x.example/a?q=secret", "title": "Q3 salaries", "seconds": 60}]
    agent.checkin(event("eva", activity=items))
    agent.checkin(event("eva", activity=items))
    row = ActivityDay.objects.get(account=account)
    assert (row.tracked_user.username, row.app, row.site, row.seconds) == ("eva", "Excel", "x.example", 120)
    assert (row.url_path, row.title) == ("", "")


def test_openapi_document_is_served(client):
    response = client.get("/api/agent/v1/openapi.json")
    assert response.status_code == 200
    doc = json.loads(response.content)
    assert "/api/agent/v1/checkins" in doc["paths"]
    assert "CheckinEventIn" in json.dumps(doc)


def test_no_docs_page_that_the_content_security_policy_would_break(client):
    response = client.get("/api/agent/v1/docs")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


def test_a_mailer_that_is_down_does_not_fail_the_check_in_that_starts_a_grace_period(
    make_agent, django_capture_on_commit_callbacks, monkeypatch
):
    """Issue 13: no email is sent inside a check-in. The grace email is queued with the change
    and the task cluster sends it; a refusing SMTP server leaves it queued for the retry job."""
    from accounts.models import OutboundEmail, OutboundEmailState

    def refuse(self, *args, **kwargs):
        raise ConnectionRefusedError("SMTP server down")

    account, admin = make_account(plan="professional", licenses=5)
    agent = make_agent(account)
    five_users_on_five_licenses(agent, domain=None)
    monkeypatch.setattr("django.core.mail.EmailMessage.send", refuse)
    with django_capture_on_commit_callbacks(execute=True):
        data = agent.checkin(event("Eva", machine="PC-bob"))
    assert data["account"]["state"] == "grace"
    queued = OutboundEmail.objects.get()
    assert queued.state == OutboundEmailState.QUEUED and "grace period" in queued.subject
    assert queued.recipients == admin.email
