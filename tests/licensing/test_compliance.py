"""Compliance as a customer notices it: the ratio, the banner, the emails, the block."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from accounts.actors import Actor
from accounts.models import AuditEntry, Role
from billing.hooks import subscription_changed
from billing.models import Subscription
from licensing.compliance import compliance_evaluate, grace_periods_expire
from licensing.models import AccountLicensing, TrackedUser
from licensing.selectors import data_access_blocked
from tests.factories import add_member, make_account
from tests.licensing.conftest import event

pytestmark = pytest.mark.django_db


def state_of(account):
    return AccountLicensing.objects.get(account=account)


def over_by_one(make_agent, *, licenses=5, plan="professional", capture=None):
    account, admin = make_account(plan=plan, licenses=licenses)
    second_admin = add_member(account, Role.ADMIN)
    agent = make_agent(account)
    agent.checkin(*[event(f"user{n}", domain="ACME") for n in range(licenses + 1)])
    return account, [admin, second_admin], agent


def test_grace_starts_and_every_admin_is_emailed_once(make_agent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        account, admins, agent = over_by_one(make_agent)
        agent.checkin(event("one-more", domain="ACME"))
    row = state_of(account)
    assert row.state == "grace"
    assert row.grace_period_ends_at - row.over_since == timedelta(days=14)
    assert sorted(m.to[0] for m in mail.outbox) == sorted(a.email for a in admins)
    assert AuditEntry.objects.filter(account=account, kind="compliance.grace").count() == 1


def test_banner_shows_days_left_and_the_ways_out_to_everyone(make_agent, client):
    account, admins, _ = over_by_one(make_agent)
    viewer = add_member(account, Role.VIEWER)
    client.force_login(viewer)
    page = client.get("/").content.decode()
    assert 'id="compliance-banner"' in page
    assert "14 days left" in page
    # The ways out are named to everyone; only Admins get links (a Viewer would get 403).
    assert "buy licenses" in page and "reclaim users" in page
    assert 'href="/cart/">buy licenses' not in page
    client.force_login(admins[0])
    page = client.get("/").content.decode()
    assert 'href="/cart/"' in page and 'href="/users/"' in page


def test_reminders_3_days_and_1_day_before_the_end_once_each(make_agent, django_capture_on_commit_callbacks):
    account, admins, _ = over_by_one(make_agent)
    ends = state_of(account).grace_period_ends_at
    mail.outbox.clear()
    for when, expected in [
        (ends - timedelta(days=4), []),
        (ends - timedelta(days=3) + timedelta(minutes=5), ["3 days"]),
        (ends - timedelta(days=1) + timedelta(minutes=5), ["3 days", "1 day"]),
    ]:
        with time_machine.travel(when, tick=False):
            for _ in range(2):  # the job run twice sends nothing twice
                with django_capture_on_commit_callbacks(execute=True):
                    call_command("expire_grace_periods", stdout=open("/dev/null", "w"))
        subjects = sorted({m.subject for m in mail.outbox})
        assert [s for s in expected if not any(s in subj for subj in subjects)] == []
        assert len(mail.outbox) == len(expected) * len(admins)


def test_expiry_blocks_data_access_but_checkins_are_still_accepted(make_agent, client):
    account, admins, agent = over_by_one(make_agent)
    ends = state_of(account).grace_period_ends_at
    with time_machine.travel(ends + timedelta(minutes=1), tick=False):
        assert grace_periods_expire()[0] == 1
        assert grace_periods_expire()[0] == 0  # state-based: a second run changes nothing
        row = state_of(account)
        assert (row.state, row.blocked_reason) == ("blocked", "grace_expired")
        assert data_access_blocked(account=account)
        data = agent.checkin(event("new-person", domain="ACME"))
        assert data["results"][0]["result"] == "accepted"
        assert data["account"]["state"] == "blocked"
        client.force_login(admins[0])
        page = client.get("/users/").content.decode()
        assert "Data access is blocked" in page
    assert AuditEntry.objects.filter(account=account, kind="compliance.blocked").exists()


def test_true_up_by_buying_licenses_resets_the_grace_period(make_agent):
    account, admins, _ = over_by_one(make_agent)
    subscription = Subscription.objects.get(account=account)
    subscription.licenses = 10
    subscription.save()
    subscription_changed.send(sender=Subscription, account=account, actor=Actor.system("billing"))
    row = state_of(account)
    assert (row.state, row.grace_period_ends_at, row.over_since) == ("ok", None, None)


def test_true_up_after_expiry_unblocks(make_agent):
    account, admins, agent = over_by_one(make_agent)
    with time_machine.travel(state_of(account).grace_period_ends_at + timedelta(hours=1)):
        grace_periods_expire()
        Subscription.objects.filter(account=account).update(licenses=20)
        subscription_changed.send(sender=Subscription, account=account, actor=Actor.system("billing"))
        assert state_of(account).state == "ok"


def test_true_up_by_deleting_a_user_resets_the_grace_period(make_agent, client):
    account, admins, _ = over_by_one(make_agent)
    client.force_login(admins[0])
    user = TrackedUser.objects.filter(account=account).first()
    client.post(f"/users/{user.pk}/delete/")
    assert state_of(account).state == "ok"
    # A later overage starts a fresh grace period of 14 days.


def test_free_over_three_users_is_blocked_at_once(make_agent):
    account, _ = make_account(plan="free")
    data = make_agent(account).checkin(*[event(f"u{n}", domain="X") for n in range(4)])
    assert data["account"] == {"used": 4, "licenses": 3, "state": "blocked"}
    assert state_of(account).blocked_reason == "free_over_limit"


def test_storage_over_the_plans_limit_blocks(make_agent):
    account, _ = make_account(plan="free")
    make_agent(account).checkin(event("eva"))
    AccountLicensing.objects.filter(account=account).update(storage_bytes=3 * 1024**3 + 1)
    compliance_evaluate(account=account, actor=Actor.system("t"))
    assert (state_of(account).state, state_of(account).blocked_reason) == ("blocked", "storage_over_limit")
    assert data_access_blocked(account=account)


def test_grace_job_is_set_based(make_agent, django_assert_max_num_queries):
    """The same number of queries for 2 or 6 due accounts (no per-account loop)."""
    def run(n):
        accounts = [over_by_one(make_agent)[0] for _ in range(n)]
        later = max(state_of(a).grace_period_ends_at for a in accounts) + timedelta(minutes=1)
        with time_machine.travel(later, tick=False):
            from django.db import connection
            from django.test.utils import CaptureQueriesContext

            with CaptureQueriesContext(connection) as ctx:
                assert grace_periods_expire()[0] == n
        return len(ctx.captured_queries)

    assert run(2) == run(6)


def test_over_but_not_yet_due_stays_in_grace(make_agent):
    account, _, _ = over_by_one(make_agent)
    with time_machine.travel(timezone.now() + timedelta(days=13)):
        grace_periods_expire()
        assert state_of(account).state == "grace"


def test_staff_extend_an_expired_grace_period(make_agent, admin_client):
    from accounts.services import ServiceError
    from licensing.compliance import grace_period_extend

    account, _, agent = over_by_one(make_agent)
    with time_machine.travel(state_of(account).grace_period_ends_at + timedelta(hours=1)):
        grace_periods_expire()
        grace_period_extend(account=account, days=7, actor=Actor.system("staff"), reason="PO on its way")
        row = state_of(account)
        assert row.state == "grace" and row.grace_period_ends_at > timezone.now() + timedelta(days=6)
    assert AuditEntry.objects.filter(account=account, kind="compliance.grace_extended").exists()
    with pytest.raises(ServiceError):
        grace_period_extend(account=admin_client.account, days=7, actor=Actor.system("staff"))


def test_staff_admin_pages_open(admin_user, client, make_agent):
    account, _, _ = over_by_one(make_agent)
    client.force_login(admin_user)
    for url in ["/admin/licensing/accountlicensing/", "/admin/licensing/trackeduser/", "/admin/licensing/agentkey/"]:
        assert client.get(url).status_code == 200


def test_blocked_account_still_reaches_users_and_agents(make_agent, client):
    account, admins, _ = over_by_one(make_agent, plan="free", licenses=3)
    assert state_of(account).state == "blocked"
    client.force_login(admins[0])
    for url in ["/users/", "/agents/"]:
        response = client.get(url)
        assert response.status_code == 200
        assert "Data access is blocked" in response.content.decode()


def test_a_trial_over_its_licenses_that_went_free_then_bought_a_plan_gets_a_fresh_grace_period(
    make_agent, django_capture_on_commit_callbacks
):
    from billing.lifecycle import trials_expire
    from billing.models import Plan

    account, admin = make_account()  # a trial: 25 licenses
    agent = make_agent(account)
    agent.checkin(*[event(f"user{n}", domain="ACME") for n in range(30)])
    assert state_of(account).state == "grace"
    with time_machine.travel(timezone.now() + timedelta(days=15)):
        trials_expire(actor=Actor.system("t"))
        row = state_of(account)
        assert (row.state, row.blocked_reason, row.grace_period_ends_at) == ("blocked", "free_over_limit", None)
        # The Admin buys Professional with 10 licenses for the 30 users: a fresh 14-day grace.
        Subscription.objects.filter(account=account).update(
            plan=Plan.objects.get(code="professional"), licenses=10, state="active"
        )
        subscription_changed.send(sender=Subscription, account=account, actor=Actor.system("t"))
        row = state_of(account)
        assert row.state == "grace"
        assert row.grace_period_ends_at > timezone.now() + timedelta(days=13)


# --- One grace period per 30 days (PRODUCT.md, compliance) ----------------------------------


def _extra_user(account):
    return TrackedUser.objects.filter(account=account).order_by("-pk").first()


def test_an_expired_grace_period_does_not_restart_by_do_not_track_and_track_again(make_agent, client):
    from licensing.services import tracked_user_do_not_track, tracked_user_track_again

    account, admins, _ = over_by_one(make_agent)
    started = state_of(account).over_since
    actor = Actor.system("admin")
    with time_machine.travel(state_of(account).grace_period_ends_at + timedelta(minutes=1), tick=False):
        grace_periods_expire()
        extra = _extra_user(account)
        tracked_user_do_not_track(account=account, user_id=extra.pk, actor=actor)
        assert state_of(account).state == "ok"  # under the licenses again: access returns
    with time_machine.travel(state_of(account).updated_at + timedelta(seconds=1), tick=False):
        tracked_user_track_again(account=account, user_id=extra.pk, actor=actor)
        row = state_of(account)
        assert (row.state, row.blocked_reason) == ("blocked", "grace_expired")
        assert data_access_blocked(account=account)
        client.force_login(admins[0])
        page = client.get("/users/").content.decode()
    assert "Data access is blocked" in page
    assert "one grace period per 30 days" in page
    assert f"{started + timedelta(days=30):%Y-%m-%d}" in page


def test_going_over_again_within_30_days_continues_the_grace_periods_clock(make_agent):
    from licensing.services import tracked_user_do_not_track, tracked_user_track_again

    account, _, _ = over_by_one(make_agent)
    first = state_of(account)
    actor = Actor.system("admin")
    extra = _extra_user(account)
    with time_machine.travel(first.over_since + timedelta(days=3), tick=False):
        tracked_user_do_not_track(account=account, user_id=extra.pk, actor=actor)
        assert state_of(account).state == "ok"
    with time_machine.travel(first.over_since + timedelta(days=5), tick=False):
        tracked_user_track_again(account=account, user_id=extra.pk, actor=actor)
        row = state_of(account)
        assert row.state == "grace"
        assert row.grace_period_ends_at == first.over_since + timedelta(days=14)
    with time_machine.travel(first.over_since + timedelta(days=14, minutes=1), tick=False):
        assert grace_periods_expire()[0] == 1


def test_going_over_again_31_days_after_the_last_start_gets_a_fresh_grace_period(make_agent):
    from licensing.services import tracked_user_do_not_track, tracked_user_track_again

    account, _, _ = over_by_one(make_agent)
    first = state_of(account)
    actor = Actor.system("admin")
    extra = _extra_user(account)
    with time_machine.travel(first.grace_period_ends_at + timedelta(minutes=1), tick=False):
        grace_periods_expire()
        tracked_user_do_not_track(account=account, user_id=extra.pk, actor=actor)
    later = first.over_since + timedelta(days=31)
    with time_machine.travel(later, tick=False):
        tracked_user_track_again(account=account, user_id=extra.pk, actor=actor)
        row = state_of(account)
        assert row.state == "grace"
        assert row.grace_period_ends_at == later + timedelta(days=14)


def test_staff_can_still_extend_a_grace_period_blocked_by_the_30_day_rule(make_agent):
    from licensing.compliance import grace_period_extend
    from licensing.services import tracked_user_do_not_track, tracked_user_track_again

    account, _, _ = over_by_one(make_agent)
    first = state_of(account)
    actor = Actor.system("admin")
    extra = _extra_user(account)
    with time_machine.travel(first.grace_period_ends_at + timedelta(minutes=1), tick=False):
        grace_periods_expire()
        tracked_user_do_not_track(account=account, user_id=extra.pk, actor=actor)
        tracked_user_track_again(account=account, user_id=extra.pk, actor=actor)
        assert state_of(account).state == "blocked"
        grace_period_extend(account=account, days=7, actor=Actor.system("staff"))
        row = state_of(account)
        assert row.state == "grace"
        extended_end = row.grace_period_ends_at
        assert extended_end > timezone.now() + timedelta(days=6)
        # The extension belongs to this grace period: back under and over again keeps its end.
        tracked_user_do_not_track(account=account, user_id=extra.pk, actor=actor)
        tracked_user_track_again(account=account, user_id=extra.pk, actor=actor)
        row = state_of(account)
        assert (row.state, row.grace_period_ends_at) == ("grace", extended_end)
