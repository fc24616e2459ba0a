"""Login throttling (django-axes) and password-reset throttling (config/throttling.py)."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.cache import cache
from django.test import override_settings
from django.utils import timezone

from tests.factories import PASSWORD, UserFactory
from tests.hardening.test_csp import blocked_inline_code

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _emails_leave_at_once(monkeypatch):
    """These tests count the emails a request sends. Emails leave after the commit
    (accounts.mail); the test's transaction never commits, so the callback runs at once here."""
    monkeypatch.setattr("accounts.mail.transaction.on_commit", lambda callback, **kw: callback())


@pytest.fixture
def axes_on(settings):
    settings.AXES_ENABLED = True
    from axes.models import AccessAttempt

    yield
    AccessAttempt.objects.all().delete()


def login(client, email, password, ip="203.0.113.7"):
    return client.post("/login/", {"username": email, "password": password}, REMOTE_ADDR=ip)


def test_five_failures_lock_the_email_from_that_address_for_the_cooloff(client, axes_on):
    user = UserFactory(email="kim@customer.example.com")
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for _ in range(4):
            response = login(client, user.email, "wrong-password")
            assert response.status_code == 200  # the form again, with its error
        locked = login(client, user.email, "wrong-password")
        assert locked.status_code == 429
        assert b"Too many failed log-ins" in locked.content
        assert "Content-Security-Policy" in locked
        assert blocked_inline_code(locked.content.decode()) == []

        # The right password does not help during the cooloff...
        assert login(client, user.email, PASSWORD).status_code == 429
        # ...but the same email from another address, and another email from this one, may try.
        assert login(client, user.email, PASSWORD, ip="198.51.100.9").status_code == 302
        client.logout()
        other = UserFactory(email="lee@customer.example.com")
        assert login(client, other.email, PASSWORD).status_code == 302
        client.logout()

        clock.shift(timedelta(minutes=14))
        assert login(client, user.email, PASSWORD).status_code == 429
        clock.shift(timedelta(minutes=2))  # past the 15 minutes
        response = login(client, user.email, PASSWORD)
        assert response.status_code == 302
        assert response.url == "/"


def test_a_success_before_the_limit_resets_the_count(client, axes_on):
    user = UserFactory()
    for _ in range(4):
        login(client, user.email, "wrong-password")
    assert login(client, user.email, PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        assert login(client, user.email, "wrong-password").status_code == 200


def test_client_address_behind_our_proxies(rf, settings):
    from config.throttling import client_ip

    request = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7")
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(request) == "10.0.0.2"
    settings.TRUSTED_PROXY_COUNT = 1
    # The entry our load balancer appended, never the forgeable left-hand one.
    assert client_ip(request) == "203.0.113.7"


# --- Password reset --------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


def reset(client, email, ip="203.0.113.7"):
    return client.post("/password-reset/", {"email": email}, REMOTE_ADDR=ip)


@override_settings(PASSWORD_RESET_LIMIT_PER_EMAIL=3, PASSWORD_RESET_LIMIT_PER_IP=10)
def test_reset_emails_stop_after_the_limit_per_email_and_the_answer_does_not_change(client):
    user = UserFactory(email="kim@customer.example.com")
    with time_machine.travel(timezone.now(), tick=False) as clock:
        answers = [reset(client, user.email, ip=f"198.51.100.{i}") for i in range(6)]
        assert {(a.status_code, a.url) for a in answers} == {(302, "/password-reset/sent/")}
        assert len(mail.outbox) == 3
        # A stranger's email in the same hour is not held back by kim's limit.
        stranger = UserFactory()
        reset(client, stranger.email)
        assert len(mail.outbox) == 4

        clock.shift(timedelta(hours=1, minutes=1))
        reset(client, user.email)
        assert len(mail.outbox) == 5


@override_settings(PASSWORD_RESET_LIMIT_PER_EMAIL=3, PASSWORD_RESET_LIMIT_PER_IP=100)
def test_the_reset_limit_counts_every_spelling_of_one_login_as_one(client):
    """Issue 11, item 1: the long s (U+017F folds to "s"), letter case and spaces are spellings
    of one login; the limit counts by the login the reset finds, not by the spelling typed."""
    UserFactory(email="sam@customer.example.com")
    spellings = ["\u017fam@customer.example.com", "SAM@CUSTOMER.EXAMPLE.COM", " \u017fAm@Customer.Example.com "]
    for i, spelling in enumerate(spellings):
        assert reset(client, spelling, ip=f"198.51.100.{i}").url == "/password-reset/sent/"
    sent = len(mail.outbox)
    assert sent <= 3
    # The limit is used up whatever the spelling: the plain one sends nothing more either.
    for i, spelling in enumerate(["sam@customer.example.com", "Sam@customer.example.com", "\u017fam@customer.example.com"]):
        assert reset(client, spelling, ip=f"192.0.2.{i}").url == "/password-reset/sent/"
    assert len(mail.outbox) == sent
    # Every email that did leave went to the login's own address.
    assert {m.to[0] for m in mail.outbox} <= {"sam@customer.example.com"}


@override_settings(PASSWORD_RESET_LIMIT_PER_EMAIL=3, PASSWORD_RESET_LIMIT_PER_IP=10)
def test_reset_requests_stop_after_the_limit_per_address(client):
    users = UserFactory.create_batch(12)
    answers = [reset(client, u.email) for u in users]
    assert {(a.status_code, a.url) for a in answers} == {(302, "/password-reset/sent/")}
    assert len(mail.outbox) == 10
    # Another address is not held back.
    reset(client, users[-1].email, ip="198.51.100.1")
    assert len(mail.outbox) == 11


def test_the_throttled_answer_is_the_one_an_unknown_email_gets(client, settings):
    settings.PASSWORD_RESET_LIMIT_PER_EMAIL = 1
    unknown = reset(client, "nobody@nowhere.example")
    user = UserFactory()
    reset(client, user.email)
    throttled = reset(client, user.email)
    assert (throttled.status_code, throttled.url) == (unknown.status_code, unknown.url)
    assert len(mail.outbox) == 1


def test_the_staff_admin_login_is_throttled_too(client, axes_on):
    from accounts.models import User

    staff = User.objects.create_superuser(email="root@ourcompany.example", password=PASSWORD)
    for _ in range(4):
        response = client.post("/admin/login/", {"username": staff.email, "password": "nope"}, REMOTE_ADDR="203.0.113.7")
        assert response.status_code == 200
    response = client.post("/admin/login/", {"username": staff.email, "password": "nope"}, REMOTE_ADDR="203.0.113.7")
    assert response.status_code == 429
    response = client.post("/admin/login/", {"username": staff.email, "password": PASSWORD}, REMOTE_ADDR="203.0.113.7")
    assert response.status_code == 429


@pytest.mark.parametrize("path", ["/login/", "/admin/login/"])
def test_the_lockout_counts_every_spelling_of_one_email_as_one_login(client, axes_on, path):
    """Issue 11, item 1: five wrong passwords under five spellings lock the login, and the right
    password under yet another spelling is refused during the cooloff."""
    user = UserFactory(email="kim@customer.example.com", is_staff=path.startswith("/admin"))
    spellings = ["kim@customer.example.com", "KIM@customer.example.com", "kim@CUSTOMER.example.com",
                 "Kim@Customer.Example.Com", " kim@customer.example.COM "]

    def attempt(email, password):
        return client.post(path, {"username": email, "password": password}, REMOTE_ADDR="203.0.113.7")

    for spelling in spellings:
        attempt(spelling, "wrong-password")
    assert attempt("kIM@customer.example.com", PASSWORD).status_code == 429
    assert attempt(user.email, PASSWORD).status_code == 429


def test_a_reset_request_with_a_nul_byte_is_answered_not_a_500(client):
    response = reset(client, "sam\x00@customer.example.com")
    assert response.status_code in (200, 302)


@override_settings(PASSWORD_RESET_LIMIT_PER_EMAIL=3, PASSWORD_RESET_LIMIT_PER_IP=100)
def test_signup_emails_to_one_address_stop_after_the_limit_and_the_answer_does_not_change(client):
    """Sign-up emails the address whatever it is (issue 11, item 9): it must not be a way to
    flood someone's mailbox with "someone tried to sign up with your address"."""
    user = UserFactory(email="kim@customer.example.com")
    answers = [
        client.post("/signup/", {"organisation": "X", "email": user.email.upper(), "password": "a-long-enough-secret"},
                    REMOTE_ADDR=f"198.51.100.{i}")
        for i in range(5)
    ]
    assert {(a.status_code, a.url) for a in answers} == {(302, "/signup/sent/")}
    assert len(mail.outbox) == 3
