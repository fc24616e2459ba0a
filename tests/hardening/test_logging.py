"""No secret in a log line: the filter on the root handler redacts what it recognises."""

import logging

import pytest
from django.conf import settings
from django.test import override_settings

from config.logging import RedactSecretsFilter, redact


@pytest.mark.parametrize(
    ("line", "secret"),
    [
        ("Authorization: Bearer ak_live_3f9a8b7c6d5e4f3a2b1c", "ak_live_3f9a8b7c6d5e4f3a2b1c"),
        ("{'HTTP_AUTHORIZATION': 'Bearer wfa_AB12.cd34ef56gh78'}", "wfa_AB12.cd34ef56gh78"),
        ("agent sent bearer abcdefghijklmnop", "abcdefghijklmnop"),
        ("login failed password=hunter2-hunter2 for x", "hunter2-hunter2"),
        ('{"password": "correct horse", "email": "a@b.c"}', "correct"),
        ("POST /signup/ new_password1=S3cret!pass&new_password2=S3cret!pass", "S3cret!pass"),
        ("GET /api?api_key=KEY123456&x=1", "KEY123456"),
        ("agent_key: wfa_1234_secretsecret", "wfa_1234_secretsecret"),
        ("card 4242 4242 4242 4242 declined", "4242 4242 4242 4242"),
        ("card 4111-1111-1111-1111 declined", "4111-1111-1111-1111"),
        ("card 378282246310005 (amex)", "378282246310005"),
        ('"GET /password-reset/MQ/c3k8yq-0a1b2c3d4e5f6a7b8c9d/ HTTP/1.1" 302', "c3k8yq-0a1b2c3d4e5f6a7b8c9d"),
        ('"GET /invitations/Zt9vQx2LmN4pR7sT/ HTTP/1.1" 200', "Zt9vQx2LmN4pR7sT"),
    ],
)
def test_secrets_are_redacted(line, secret):
    cleaned = redact(line)
    assert secret not in cleaned
    assert "REDACTED" in cleaned


@pytest.mark.parametrize(
    "line",
    [
        "GET /pricing/ 200 12ms",
        "order 1700000000000 paid",  # a 13-digit number that is no card (fails the Luhn check)
        "tracked users 340 / licenses 89",
        '"GET /password-reset/ HTTP/1.1" 200',
    ],
)
def test_ordinary_lines_are_left_alone(line):
    assert redact(line) == line


def test_secret_key_and_stripe_key_are_redacted_wherever_they_appear():
    with override_settings(SECRET_KEY="s3cr3t-k3y-" + "z" * 40, STRIPE_SECRET_KEY="sk_live_abcdef123456"):
        line = redact(f"settings dump {settings.SECRET_KEY} and stripe{settings.STRIPE_SECRET_KEY}!")
    assert "s3cr3t-k3y" not in line and "sk_live_abcdef123456" not in line


def test_extra_patterns_from_settings():
    with override_settings(LOG_REDACT_PATTERNS=[r"wfa_[A-Za-z0-9]{8}_[A-Za-z0-9]{24}"]):
        line = redact("key wfa_ABCDEFGH_abcdefghijklmnopqrstuvwx seen")
    assert "abcdefghijklmnopqrstuvwx" not in line


def test_filter_is_installed_on_the_root_handler():
    handler = settings.LOGGING["root"]["handlers"][0]
    assert "redact_secrets" in settings.LOGGING["handlers"][handler]["filters"]
    root_filters = [f for h in logging.getLogger().handlers for f in h.filters]
    assert any(isinstance(f, RedactSecretsFilter) for f in root_filters)


def test_a_logged_record_with_args_and_exception_comes_out_clean():
    """Through a real logger and formatter: the message arguments and the traceback."""
    stream_records = []

    class Capture(logging.Handler):
        def emit(self, record):
            stream_records.append(self.format(record))

    handler = Capture()
    handler.addFilter(RedactSecretsFilter())
    logger = logging.getLogger("tests.hardening.redaction")
    logger.addHandler(handler)
    try:
        try:
            raise ValueError("charge failed for card 4242424242424242 with token=tok_abcdef")
        except ValueError:
            logger.exception("checkin from %s with %s", "10.0.0.1", "Authorization: Bearer ak_secret_123456")
    finally:
        logger.removeHandler(handler)
    (line,) = stream_records
    assert "10.0.0.1" in line and "ValueError" in line
    for secret in ("4242424242424242", "tok_abcdef", "ak_secret_123456"):
        assert secret not in line
