from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from accounts.models import AuditEntry, Membership, Role, User
from billing.models import Subscription
from tests.factories import PASSWORD, add_member

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _emails_leave_at_once(monkeypatch):
    """These tests count the emails a request sends. Emails leave after the commit
    (accounts.mail); the test's transaction never commits, so the callback runs at once here."""
    monkeypatch.setattr("accounts.mail.transaction.on_commit", lambda callback, **kw: callback())


def _link(message, marker):
    word = next(w for w in message.body.split() if marker in w)
    return word[word.index(marker):]


def test_signup_creates_account_admin_and_14_day_professional_trial_once_the_email_is_confirmed(client):
    # Issue 11, item 9: sign-up answers "check your email" and the account exists once the link
    # in that email is confirmed, so the page never tells whether an address has a login.
    response = client.post("/signup/", {
        "organisation": "Globex", "full_name": "Hank Scorpio",
        "email": "Hank@Globex.example", "password": "a-long-enough-secret",
    })
    assert response.status_code == 302 and response["Location"] == "/signup/sent/"
    assert not User.objects.filter(email="hank@globex.example").exists()
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["hank@globex.example"]
    path = _link(mail.outbox[0], "/signup/confirm/")
    confirm_page = client.get(path)  # a mail scanner's GET confirms nothing
    assert confirm_page.status_code == 200 and not User.objects.exists()
    response = client.post(path)
    assert response.status_code == 302 and response["Location"] == "/"
    user = User.objects.get(email="hank@globex.example")
    assert user.check_password("a-long-enough-secret") and user.full_name == "Hank Scorpio"
    membership = Membership.objects.get(user=user)
    assert membership.role == Role.ADMIN and membership.account.name == "Globex"
    sub = Subscription.objects.get(account=membership.account)
    assert sub.plan.code == "professional" and sub.state == "trialing"
    assert abs(sub.trial_ends_at - (timezone.now() + timedelta(days=14))) < timedelta(minutes=1)
    assert AuditEntry.objects.filter(account=membership.account, kind="subscription.trial_started").exists()
    page = client.get("/")
    assert "Globex" in page.content.decode()
    # The link works once.
    client.post("/logout/")
    assert client.post(path).status_code == 404
    assert User.objects.filter(email="hank@globex.example").count() == 1


def test_signup_with_a_known_email_answers_the_same_page_and_tells_the_address(client, paid_account):
    _, admin = paid_account
    known = client.post("/signup/", {"organisation": "Again", "email": admin.email.upper(), "password": "a-long-enough-secret"})
    unknown = client.post("/signup/", {"organisation": "New", "email": "nobody@new.example", "password": "a-long-enough-secret"})
    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"]) == (302, "/signup/sent/")
    sent = client.get("/signup/sent/").content.decode()
    assert "Check your email" in sent
    to_known = next(m for m in mail.outbox if m.to == [admin.email])
    assert "tried to sign up" in to_known.body and "already has a login" in to_known.body
    assert "/login/" in to_known.body and "/password-reset/" in to_known.body
    assert "/signup/confirm/" not in to_known.body
    assert User.objects.filter(email__iexact=admin.email).count() == 1


def test_signup_refuses_a_weak_password(client):
    response = client.post("/signup/", {"organisation": "Again", "email": "weak@new.example", "password": "123"})
    assert response.status_code == 200
    assert response.context["form"].errors["password"]
    assert not mail.outbox


def test_login_with_email_and_logout(client, paid_account):
    _, admin = paid_account
    response = client.post("/login/", {"username": admin.email, "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    client.post("/logout/")
    assert client.get("/")["Location"].startswith("/login/")


@pytest.mark.parametrize("path", ["/", "/members/"])
def test_anonymous_goes_to_login(client, path):
    response = client.get(path)
    assert response.status_code == 302 and response["Location"].startswith("/login/?next=")


def test_viewer_gets_403_on_admin_pages(viewer_client):
    assert viewer_client.get("/").status_code == 200
    assert viewer_client.get("/members/").status_code == 403


def test_password_reset_sends_email_with_working_link(client, paid_account):
    _, admin = paid_account
    client.post("/password-reset/", {"email": admin.email})
    assert len(mail.outbox) == 1
    link = next(line for line in mail.outbox[0].body.splitlines() if "/password-reset/" in line)
    path = link[link.index("/password-reset/"):].strip()
    response = client.get(path, follow=True)
    form_path = response.redirect_chain[-1][0]
    client.post(form_path, {"new_password1": "brand-new-secret-9", "new_password2": "brand-new-secret-9"})
    assert client.login(username=admin.email, password="brand-new-secret-9")


def test_admin_invites_member_who_joins_as_viewer(admin_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post("/members/", {"email": "new@customer.example", "role": "viewer"})
    assert response.status_code == 302
    assert mail.outbox[0].to == ["new@customer.example"]
    link = next(w for w in mail.outbox[0].body.split() if "/invitations/" in w)
    path = link[link.index("/invitations/"):]
    admin_client.logout()
    response = admin_client.post(path, {"full_name": "New Person", "password": "another-long-secret"})
    assert response.status_code == 302
    user = User.objects.get(email="new@customer.example")
    assert user.membership.account == admin_client.account and user.membership.role == "viewer"
    # The link works once.
    assert admin_client.get(path).status_code == 404


def test_members_page_shows_only_own_account(admin_client, trial_account):
    other_account, other_admin = trial_account
    add_member(other_account, email="secret-person@other.example")
    html = admin_client.get("/members/").content.decode()
    assert other_admin.email not in html and "secret-person@other.example" not in html


def test_staff_without_account_gets_403_on_customer_pages(client, django_user_model):
    staff = django_user_model.objects.create_user("ops@ourcompany.example", "x", is_staff=True)
    client.force_login(staff)
    assert client.get("/").status_code == 403


def test_inviting_a_login_of_another_account_reveals_nothing_to_the_inviter(admin_client, trial_account):
    """Issue 11, item 9: the inviter sees the same answer as for a new address; the address is
    told by email that it already has a login elsewhere, and its link does not join."""
    _, other_admin = trial_account
    answers = [
        admin_client.post("/members/", {"email": email, "role": "viewer"})
        for email in (other_admin.email.upper(), "fresh@customer.example")
    ]
    assert [(a.status_code, a["Location"]) for a in answers] == [(302, "/members/")] * 2
    page = admin_client.get("/members/").content.decode()
    assert other_admin.email in page and "fresh@customer.example" in page  # both pending alike
    to_other = next(m for m in mail.outbox if m.to == [other_admin.email])
    assert "already has a login" in to_other.body and "/invitations/" not in to_other.body
    assert other_admin.membership.account == trial_account[0]  # nothing changed for them


def test_inviting_a_member_of_the_same_account_is_refused_with_the_reason(admin_client):
    member = add_member(admin_client.account, email="already@customer.example")
    response = admin_client.post("/members/", {"email": member.email.upper(), "role": "viewer"})
    assert response.status_code == 200
    assert "already a member of this account" in response.context["form"].errors["email"][0]
    assert not mail.outbox


def test_sign_ups_past_their_links_expiry_are_forgotten_by_a_daily_job(client, time_machine):
    """A sign-up nobody confirmed kept an address, a name and a password hash; a confirmed one
    is needed no more once its link expired: the daily job deletes both, and nothing younger."""
    import io

    from django.core.management import call_command

    from accounts.jobs import JOBS
    from accounts.models import SignupRequest
    from accounts.services import SIGNUP_CONFIRM_DAYS

    def sign_up(email):
        client.post("/signup/", {"organisation": email.split("@")[0], "full_name": "Ann",
                                 "email": email, "password": "a-long-enough-secret"})

    time_machine.move_to(timezone.now(), tick=False)
    sign_up("never@example.com")
    sign_up("yes@example.com")
    assert client.post(_link(mail.outbox[-1], "/signup/confirm/")).status_code == 302
    client.post("/logout/")
    time_machine.shift(timedelta(days=SIGNUP_CONFIRM_DAYS) - timedelta(minutes=1))
    sign_up("young@example.com")
    assert SignupRequest.objects.count() == 3

    time_machine.shift(timedelta(minutes=2))  # the first two links have expired, not the third
    out = io.StringIO()
    call_command("purge_signup_requests", stdout=out)
    assert "2 expired sign-up request(s) forgotten" in out.getvalue()
    assert list(SignupRequest.objects.values_list("email", flat=True)) == ["young@example.com"]
    assert User.objects.filter(email="yes@example.com").exists()  # the confirmed login stays
    call_command("purge_signup_requests", stdout=io.StringIO())  # state-based: nothing more
    assert SignupRequest.objects.count() == 1
    assert JOBS["purge_signup_requests"].func == "accounts.tasks.purge_signup_requests"
