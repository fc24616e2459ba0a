"""The production settings as deployed: hashing, cookies, transport. Values are read from a real
``DJANGO_ENV=production`` process, then exercised through the login page in this one."""

import json
import subprocess
import sys

import pytest
from django.contrib.auth.hashers import check_password, identify_hasher, make_password
from django.test import override_settings

import config.settings as real_settings
from accounts.models import User
from tests.config.test_health_and_settings import PRODUCTION_ENV, ROOT, _base_env
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

PRODUCTION_KEYS = [
    "DEBUG", "SESSION_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY", "SESSION_COOKIE_SAMESITE",
    "CSRF_COOKIE_SECURE", "CSRF_COOKIE_HTTPONLY", "CSRF_COOKIE_SAMESITE", "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD",
    "SECURE_PROXY_SSL_HEADER", "SECURE_CONTENT_TYPE_NOSNIFF", "SECURE_REFERRER_POLICY",
    "X_FRAME_OPTIONS", "PASSWORD_HASHERS", "AXES_ENABLED", "SECURE_REDIRECT_EXEMPT",
    "AXES_FAILURE_LIMIT", "AXES_COOLOFF_TIME", "PASSWORD_RESET_LIMIT_PER_EMAIL", "PASSWORD_RESET_LIMIT_PER_IP",
]


@pytest.fixture(scope="module")
def production():
    script = (
        "import json, django; django.setup(); from django.conf import settings; "
        f"print(json.dumps({{k: getattr(settings, k) for k in {PRODUCTION_KEYS!r}}}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env={**_base_env(), **PRODUCTION_ENV},
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_transport_settings(production):
    assert production["DEBUG"] is False
    assert production["SECURE_SSL_REDIRECT"] is True
    assert production["SECURE_HSTS_SECONDS"] >= 31536000
    assert production["SECURE_HSTS_INCLUDE_SUBDOMAINS"] and production["SECURE_HSTS_PRELOAD"]
    assert production["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert production["X_FRAME_OPTIONS"] == "DENY"
    assert production["AXES_ENABLED"] is True


def test_production_throttles_are_the_ones_tested(production):
    # tests/hardening/test_throttling.py runs with these numbers (the suite's own are higher).
    assert (production["AXES_FAILURE_LIMIT"], production["AXES_COOLOFF_TIME"]) == (5, 0.25)
    assert production["PASSWORD_RESET_LIMIT_PER_EMAIL"] == 3
    assert production["PASSWORD_RESET_LIMIT_PER_IP"] == 10


def test_production_cookies_are_secure_and_httponly(production, client):
    """Log in through the real page with production's cookie settings: the cookies the browser
    receives are Secure, HttpOnly and SameSite=Lax."""
    user = User.objects.create_user(email="kim@customer.example.com", password=PASSWORD)
    cookie_settings = {k: v for k, v in production.items() if k.startswith(("SESSION_COOKIE", "CSRF_COOKIE"))}
    with override_settings(**cookie_settings):
        client.get("/login/", secure=True)
        response = client.post("/login/", {"username": user.email, "password": PASSWORD}, secure=True)
    assert response.status_code == 302
    for name in ("sessionid", "csrftoken"):
        morsel = response.cookies[name]
        assert morsel["secure"] is True, name
        assert morsel["httponly"] is True, name
        assert morsel["samesite"] == "Lax", name


def test_hsts_and_headers_on_a_production_response(production, client):
    transport = {k: v for k, v in production.items() if k.startswith("SECURE_") and k != "SECURE_PROXY_SSL_HEADER"}
    with override_settings(**transport, SECURE_PROXY_SSL_HEADER=tuple(production["SECURE_PROXY_SSL_HEADER"])):
        plain = client.get("/login/")
        assert plain.status_code == 301 and plain.url.startswith("https://")
        # Behind the load balancer: it terminates TLS and says so.
        response = client.get("/login/", headers={"x-forwarded-proto": "https"})
    assert response.status_code == 200
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]


def test_healthz_is_exempt_from_the_production_ssl_redirect(production, client):
    # The load balancer polls each host over plain HTTP.
    with override_settings(SECURE_SSL_REDIRECT=True, SECURE_REDIRECT_EXEMPT=production["SECURE_REDIRECT_EXEMPT"]):
        assert client.get("/healthz").status_code == 200
        assert client.get("/login/").status_code == 301


def test_production_hashes_passwords_with_argon2(production):
    assert production["PASSWORD_HASHERS"][0] == "django.contrib.auth.hashers.Argon2PasswordHasher"


def test_real_settings_store_argon2_and_upgrade_older_hashes_on_login(client):
    # The suite hashes with MD5 for speed; here the project's real list applies.
    with override_settings(PASSWORD_HASHERS=real_settings.PASSWORD_HASHERS):
        encoded = make_password("correct-horse-battery")
        assert identify_hasher(encoded).algorithm == "argon2"
        assert encoded.startswith("argon2$argon2id$")
        assert check_password("correct-horse-battery", encoded)

        user = User.objects.create_user(email="old@customer.example.com", password=None)
        user.password = make_password(PASSWORD, hasher="pbkdf2_sha256")
        user.save(update_fields=["password"])
        response = client.post("/login/", {"username": user.email, "password": PASSWORD})
        assert response.status_code == 302
        user.refresh_from_db()
        assert user.password.startswith("argon2$")
