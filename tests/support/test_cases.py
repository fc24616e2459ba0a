import threading
from datetime import UTC, datetime

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.actors import Actor
from accounts.models import AuditEntry, Role
from licensing.models import AccountLicensing
from support import services
from support.models import SupportCase, SupportPlan, SupportPlanFeature
from tests.factories import UserFactory, add_member, make_account
from tests.helpers import requires_postgres
from tests.support.conftest import accept_quote, active_plan

pytestmark = pytest.mark.django_db


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def open_case(client, **fields):
    data = {"subject": "Reports are empty", "description": "Since this morning.",
            "severity": "high", "channel": "email", **fields}
    return client.post("/support/", data)


def make_customer(support=None):
    account, admin = make_account(plan="professional", licenses=10)
    if support:
        accept_quote(account, support)
    return account, admin


@pytest.mark.parametrize(
    ("support", "opened", "channel", "due", "shown"),
    [
        # Friday 17:30 CST: 30 min Friday, 10 h Monday, 1.5 h Tuesday.
        (None, "2026-11-20 23:30Z", "email", utc(2026, 11, 24, 15, 30), "Tue 24 Nov 2026, 09:30 CST"),
        # Saturday 10:00 CST on Premier: weekends count, 8 h end at 18:00 the same day.
        ("premier", "2026-11-21 16:00Z", "chat", utc(2026, 11, 22, 0, 0), "Sat 21 Nov 2026, 18:00 CST"),
        # 03:00 CST on Signature: 4 h around the clock, by phone and remote.
        ("signature", "2026-11-18 09:00Z", "phone_and_remote", utc(2026, 11, 18, 13, 0),
         "Wed 18 Nov 2026, 07:00 CST"),
        # Friday before the spring change: Monday's hours are 13:00-23:00 UTC (CDT).
        (None, "2026-03-06 23:00Z", "email", utc(2026, 3, 10, 14, 0), "Tue 10 Mar 2026, 09:00 CDT"),
        # Saturday before the fall change on Premier, by chat: Sunday's hours are 14:00-24:00 UTC (CST).
        ("premier", "2026-10-31 19:00Z", "chat", utc(2026, 11, 1, 18, 0), "Sun 1 Nov 2026, 12:00 CST"),
        # The same Saturday by email: email support is weekdays 8-18 CT on every plan (issue 15),
        # so Premier's 8 h start Monday 08:00 CST and end 16:00 CST.
        ("premier", "2026-10-31 19:00Z", "email", utc(2026, 11, 2, 22, 0), "Mon 2 Nov 2026, 16:00 CST"),
        # Signature by email at 03:00 CST on a Wednesday: the clock waits for 08:00 CST too.
        ("signature", "2026-11-18 09:00Z", "email", utc(2026, 11, 18, 18, 0), "Wed 18 Nov 2026, 12:00 CST"),
    ],
)
def test_admin_opens_a_case_with_its_due_time(client, support, opened, channel, due, shown):
    with time_machine.travel(opened, tick=False):
        account, admin = make_customer(support)
        client.force_login(admin)
        response = open_case(client, channel=channel)
        case = SupportCase.objects.get(account=account)
        assert response.status_code == 302 and response["Location"] == f"/support/cases/{case.pk}/"
        assert case.first_response_due_at == due
        assert case.plan.code == (support or "digital") and case.channel == channel
        assert AuditEntry.objects.filter(account=account, kind="support.case_opened").exists()
        assert shown in client.get(response["Location"]).content.decode()


def test_phone_and_remote_is_only_on_signature_and_open_cases(client):
    account, admin = make_customer()
    client.force_login(admin)
    response = open_case(client, channel="phone_and_remote")
    assert response.status_code == 200 and "channel" in response.context["form"].errors
    assert not SupportCase.objects.exists()
    with pytest.raises(services.ServiceError, match="Signature"):
        services.case_open(account=account, user=admin, actor=Actor.for_user(admin), subject="x",
                           description="y", severity="low", channel="phone_and_remote")

    account, admin = make_customer("signature")
    client.force_login(admin)
    open_case(client, channel="email")
    case = SupportCase.objects.get(account=account)
    page = client.get(f"/support/cases/{case.pk}/").content.decode()
    assert "Ask for phone and remote support" in page
    client.post(f"/support/cases/{case.pk}/", {"action": "phone_and_remote"})
    case.refresh_from_db()
    assert case.channel == "phone_and_remote"

    other = services.case_open(account=account, user=admin, actor=Actor.for_user(admin),
                               subject="Closed", description="y", severity="low", channel="chat")
    services.case_close(case=other, actor=Actor.system("tests"))
    response = client.post(f"/support/cases/{other.pk}/", {"action": "phone_and_remote"}, follow=True)
    assert "Phone and remote support is for open cases." in response.content.decode()
    other.refresh_from_db()
    assert other.channel == "chat"


def test_first_staff_reply_in_the_admin_stops_the_clock(client, django_capture_on_commit_callbacks):
    account, admin = make_customer()
    case = services.case_open(account=account, user=admin, actor=Actor.for_user(admin),
                              subject="Help", description="y", severity="normal", channel="email")
    services.case_reply_add(case=case, author=admin, body="Any news?")
    case.refresh_from_db()
    assert case.first_response_at is None  # the customer's own message is not a response

    staff = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff)
    url = f"/admin/support/supportcase/{case.pk}/change/"
    assert client.get(url).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {
            "assigned_to": "", "replies-TOTAL_FORMS": 2, "replies-INITIAL_FORMS": 1,
            "replies-MIN_NUM_FORMS": 0, "replies-MAX_NUM_FORMS": 1000,
            "replies-0-id": case.replies.get().pk, "replies-0-case": case.pk,
            "replies-1-body": "We are on it.", "replies-1-case": case.pk,
        })
    assert response.status_code == 302, response.content.decode()[:2000]
    assert [m.to for m in mail.outbox] == [[admin.email]]
    assert "We are on it." in mail.outbox[0].body and f"/support/cases/{case.pk}/" in mail.outbox[0].body
    case.refresh_from_db()
    assert case.first_response_at is not None and case.assigned_to == staff
    client.force_login(admin)
    page = client.get(f"/support/cases/{case.pk}/").content.decode()
    assert "We are on it." in page and "Support team" in page and "Any news?" in page


def test_breach_job_flags_and_emails_once(django_capture_on_commit_callbacks, settings):
    settings.SUPPORT_INBOX_EMAIL = "support-inbox@ourcompany.example"
    staff = UserFactory(is_staff=True)
    with time_machine.travel("2026-11-16 14:00Z", tick=False):  # Monday 08:00 CST
        account, admin = make_customer()
        actor = Actor.for_user(admin)
        unassigned = services.case_open(account=account, user=admin, actor=actor, subject="A",
                                        description="y", severity="high", channel="email")
        assigned = services.case_open(account=account, user=admin, actor=actor, subject="B",
                                      description="y", severity="high", channel="email")
        answered = services.case_open(account=account, user=admin, actor=actor, subject="C",
                                      description="y", severity="high", channel="email")
        SupportCase.objects.filter(pk=assigned.pk).update(assigned_to=staff)
        services.case_reply_add(case=answered, author=staff, body="Done")
    # Due Tuesday 10:00 CST (16:00Z). Just before, nothing is late.
    with time_machine.travel("2026-11-17 15:59Z", tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            assert services.support_breaches_flag() == []
    with time_machine.travel("2026-11-17 16:00Z", tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            flagged = services.support_breaches_flag()
        assert sorted(flagged) == sorted([unassigned.pk, assigned.pk])
        assert sorted(m.to[0] for m in mail.outbox) == sorted(
            ["support-inbox@ourcompany.example", staff.email])
        assert all("Response target missed" in m.subject for m in mail.outbox)
    with time_machine.travel("2026-11-17 17:00Z", tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            call_command("flag_support_breaches")
    assert len(mail.outbox) == 2
    assert SupportCase.objects.filter(breached_at__isnull=False).count() == 2
    answered.refresh_from_db()
    assert answered.breached_at is None


def test_staff_queue_routes_signature_first_then_by_due_time(client):
    with time_machine.travel("2026-11-16 15:00Z", tick=False):
        digital_account, digital_admin = make_customer()
        early = services.case_open(account=digital_account, user=digital_admin,
                                   actor=Actor.for_user(digital_admin), subject="Digital early",
                                   description="y", severity="urgent", channel="email")
    with time_machine.travel("2026-11-16 16:00Z", tick=False):
        later = services.case_open(account=digital_account, user=digital_admin,
                                   actor=Actor.for_user(digital_admin), subject="Digital later",
                                   description="y", severity="low", channel="email")
        sig_account, sig_admin = make_customer("signature")
        closed = services.case_open(account=sig_account, user=sig_admin,
                                    actor=Actor.for_user(sig_admin), subject="Signature closed",
                                    description="y", severity="low", channel="email")
        services.case_close(case=closed, actor=Actor.system("tests"))
    with time_machine.travel("2026-11-18 16:00Z", tick=False):
        signature = services.case_open(account=sig_account, user=sig_admin,
                                       actor=Actor.for_user(sig_admin), subject="Signature",
                                       description="y", severity="low", channel="email")
    assert signature.first_response_due_at > later.first_response_due_at
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    page = client.get("/admin/support/supportcase/")
    order = [c.pk for c in page.context["cl"].result_list]
    assert order == [signature.pk, early.pk, later.pk, closed.pk]


def test_no_account_sees_another_accounts_cases(client):
    mine, my_admin = make_customer()
    theirs, their_admin = make_customer()
    their_case = services.case_open(account=theirs, user=their_admin,
                                    actor=Actor.for_user(their_admin), subject="Their secret",
                                    description="y", severity="low", channel="email")
    my_case = services.case_open(account=mine, user=my_admin, actor=Actor.for_user(my_admin),
                                 subject="My case", description="y", severity="low", channel="email")
    client.force_login(my_admin)
    page = client.get("/support/").content.decode()
    assert "My case" in page and "Their secret" not in page
    assert client.get(f"/support/cases/{their_case.pk}/").status_code == 404
    assert client.post(f"/support/cases/{their_case.pk}/", {"body": "hi"}).status_code == 404
    assert client.post(f"/support/cases/{their_case.pk}/",
                       {"action": "phone_and_remote"}).status_code == 404
    assert client.get(f"/support/cases/{my_case.pk}/").status_code == 200
    assert their_case.replies.count() == 0


def test_viewer_reads_the_support_page_but_does_not_open_or_answer_cases(client, paid_account):
    account, admin = paid_account
    case = services.case_open(account=account, user=admin, actor=Actor.for_user(admin),
                              subject="Admin case", description="y", severity="low",
                              channel="email")
    viewer = add_member(account, Role.VIEWER)
    client.force_login(viewer)
    page = client.get("/support/")
    html = page.content.decode()
    assert page.status_code == 200 and "Admin case" in html and "Digital" in html
    assert page.context["form"] is None and "Only an Admin" in html
    assert "/billing/quotes/new/" not in html
    assert open_case(client).status_code == 403
    detail = client.get(f"/support/cases/{case.pk}/")
    assert detail.status_code == 200 and detail.context["form"] is None
    assert client.post(f"/support/cases/{case.pk}/", {"body": "me too"}).status_code == 403
    assert SupportCase.objects.count() == 1 and case.replies.count() == 0


def test_quote_buttons_for_admins_offer_the_plans_above(client):
    account, admin = make_customer()
    client.force_login(admin)
    html = client.get("/support/").content.decode()
    assert "/billing/quotes/new/?topic=premier" in html
    assert "/billing/quotes/new/?topic=signature" in html
    accept_quote(account, "premier")
    html = client.get("/support/").content.decode()
    assert "?topic=premier" not in html and "/billing/quotes/new/?topic=signature" in html


def test_premier_page_shows_plan_features_and_managers(client):
    account, admin = make_customer("signature")
    csm = UserFactory(is_staff=True, full_name="Casey Success")
    tam = UserFactory(is_staff=True, full_name="Tara Technical")
    services.support_plan_assign_managers(
        support_plan=active_plan(account, "signature"), csm=csm, tam=tam,
        actor=Actor.system("tests"),
    )
    client.force_login(admin)
    html = client.get("/support/").content.decode()
    assert "Your plan: Signature" in html and "Casey Success" in html and "Tara Technical" in html
    assert "Integration support and custom BI dashboards" in html and "10 hours" in html


def test_a_staff_edit_of_the_support_catalogue_is_on_the_support_page_at_once(client):
    """Features and quote offers come from the cached catalogue (issue 13): an edit shows at once."""
    account, admin = make_customer()
    client.force_login(admin)
    assert "weekdays 8-18 CT" in client.get("/support/").content.decode()
    feature = SupportPlanFeature.objects.get(plan__code="digital", feature="Live chat")
    feature.value = "weekdays 7-19 CT"
    feature.save()
    signature = SupportPlan.objects.get(code="signature")
    signature.sold_by_quote = False
    signature.save()
    html = client.get("/support/").content.decode()
    assert "weekdays 7-19 CT" in html and "weekdays 8-18 CT" not in html
    assert "?topic=premier" in html and "?topic=signature" not in html


def test_free_account_sees_that_support_plans_need_a_paid_plan(client):
    account, admin = make_account(plan="free")
    client.force_login(admin)
    page = client.get("/support/")
    html = page.content.decode()
    assert "Support plans need a paid plan" in html and 'href="/cart/"' in html
    assert page.context["form"] is None
    response = open_case(client)
    assert response.status_code == 302 and not SupportCase.objects.exists()


def test_blocked_account_still_reaches_support(client, paid_account):
    account, admin = paid_account
    AccountLicensing.objects.update_or_create(account=account, defaults={"state": "blocked"})
    client.force_login(admin)
    assert client.get("/support/").status_code == 200
    assert open_case(client).status_code == 302


def test_support_page_queries_do_not_grow_with_cases(client, django_assert_max_num_queries):
    account, admin = make_customer("signature")
    actor = Actor.for_user(admin)
    client.force_login(admin)

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/support/").status_code == 200
        return len(queries)

    services.case_open(account=account, user=admin, actor=actor, subject="1", description="y",
                       severity="low", channel="email")
    count()  # the support catalogue is read once, then kept in the cache until staff edit it
    one = count()
    for n in range(10):
        services.case_open(account=account, user=admin, actor=actor, subject=f"n{n}",
                           description="y", severity="low", channel="email")
    assert count() == one
    # Issue 13: at most 8, the Signature plan's allowances and their uses included.
    with django_assert_max_num_queries(8):
        client.get("/support/")
    case = SupportCase.objects.first()
    for n in range(5):
        services.case_reply_add(case=case, author=admin, body=f"r{n}")
    with django_assert_max_num_queries(8):
        client.get(f"/support/cases/{case.pk}/")


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_breach_runs_at_once_email_each_case_once():
    with time_machine.travel("2026-11-16 14:00Z", tick=False):
        account, admin = make_customer()
        for n in range(5):
            services.case_open(account=account, user=admin, actor=Actor.for_user(admin),
                               subject=f"case {n}", description="y", severity="low",
                               channel="email")
    mail.outbox.clear()  # the "case opened" emails (issue 15); the breaches' are counted below
    barrier = threading.Barrier(2)
    flagged = []

    def run():
        try:
            barrier.wait()
            flagged.extend(services.support_breaches_flag(now=utc(2026, 11, 20, 0, 0)))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(flagged) == 5 and len(set(flagged)) == 5
    assert len(mail.outbox) == 5


def test_admin_replies_on_their_open_case_without_stopping_the_clock(client, paid_account):
    account, admin = paid_account
    case = services.case_open(account=account, user=admin, actor=Actor.for_user(admin),
                              subject="Help", description="y", severity="low", channel="email")
    client.force_login(admin)
    assert client.post(f"/support/cases/{case.pk}/", {"body": ""}).status_code == 200
    response = client.post(f"/support/cases/{case.pk}/", {"body": "More details"})
    assert response.status_code == 302
    reply = case.replies.get()
    assert (reply.body, reply.by_staff, reply.author) == ("More details", False, admin)
    case.refresh_from_db()
    assert case.first_response_at is None


def test_breach_job_is_scheduled_every_15_minutes():
    from django_q.models import Schedule

    from accounts.jobs import JOBS

    job = JOBS["flag_support_breaches"]
    assert (job.func, job.schedule_type, job.minutes) == (
        "support.tasks.flag_support_breaches", Schedule.MINUTES, 15)
