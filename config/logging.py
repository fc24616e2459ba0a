"""A logging filter that takes secrets out of every record before a handler writes it.

Installed on the console handler in settings.LOGGING, so it covers every logger (Django's, django-q2's,
gunicorn's error log through Django's, ours). It rewrites the formatted message, the exception
text and the stack text; what it cannot see (a handler's own formatter fields) stays ours to keep
clean. It redacts, in order:

- the configured secrets themselves (SECRET_KEY, STRIPE_SECRET_KEY, the database and SMTP passwords),
  wherever they appear;
- ``Authorization: ...`` headers and ``Bearer <token>`` (agent keys travel as Bearer tokens);
- ``name=value`` / ``name: value`` / ``'name': 'value'`` pairs whose name says secret (password,
  passwd, secret, token, key, authorization, cookie, sessionid, csrf...);
- the token of a one-use link (``/password-reset/<uid>/<token>/``, ``/invitations/<token>/``);
- card numbers: runs of 13 to 19 digits (spaces or dashes allowed) that pass the Luhn check, so
  that ordinary long numbers (ids, timestamps) mostly stay readable;
- anything matching settings.LOG_REDACT_PATTERNS (regular expressions; an app adds its own token
  formats there).
"""

import logging
import re

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

REDACTED = "[REDACTED]"

_SECRET_NAMES = (
    r"[\w-]*(?:password|passwd|pwd|secret|token|api[_-]?key|agent[_-]?key|key|authorization"
    r"|cookie|sessionid|csrf)[\w-]*"
)
_PATTERNS = [
    # Authorization: Bearer abc / "Authorization": "Basic abc"  (the whole value, up to the quote/end)
    (re.compile(r"""(?i)(\bauthorization["']?\s*[:=]\s*["']?)[^"'\r\n]+"""), rf"\g<1>{REDACTED}"),
    (re.compile(r"(?i)\b(bearer|basic|token)\s+[A-Za-z0-9._~+/=-]{6,}"), rf"\g<1> {REDACTED}"),
    # One-use links carry their token in the path: a password-reset or invitation URL in an access
    # line or an error report would let whoever reads the log use it.
    (re.compile(r"""(/(?:password-reset|invitations)/)[^\s"'?]+"""), rf"\g<1>{REDACTED}"),
    # password=abc, 'password': 'abc', api_key: abc, ?token=abc&...
    (
        re.compile(rf"""(?i)(\b{_SECRET_NAMES}["']?\s*[:=]\s*["']?)(?!\[REDACTED\])[^\s"'&,;}}\]]+"""),
        rf"\g<1>{REDACTED}",
    ),
]
_CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")


def _luhn_valid(digits):
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def _redact_card(match):
    digits = re.sub(r"\D", "", match.group(0))
    return "[CARD REDACTED]" if _luhn_valid(digits) else match.group(0)


def _configured_secrets():
    try:
        settings.SECRET_KEY  # noqa: B018 (a process without Django settings: gunicorn's master)
    except ImproperlyConfigured:
        return []
    values = [getattr(settings, "SECRET_KEY", ""), getattr(settings, "STRIPE_SECRET_KEY", "")]
    values += [db.get("PASSWORD", "") for db in getattr(settings, "DATABASES", {}).values()]
    for mailer in getattr(settings, "MAILERS", {}).values():
        values.append(mailer.get("OPTIONS", {}).get("password") or "")
    # Short values would blank out ordinary words; real secrets are long.
    return sorted({v for v in values if isinstance(v, str) and len(v) >= 8}, key=len, reverse=True)


def redact(text):
    """The text with every secret we know how to recognise replaced by [REDACTED]."""
    if not text:
        return text
    for secret in _configured_secrets():
        text = text.replace(secret, REDACTED)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    for extra in getattr(settings, "LOG_REDACT_PATTERNS", ()) if settings.configured else ():
        text = re.sub(extra, REDACTED, text)
    return _CARD.sub(_redact_card, text)


class RedactSecretsFilter(logging.Filter):
    def filter(self, record):
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: leave it to the handler to report as it would
            return True
        record.msg, record.args = redact(message), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True
