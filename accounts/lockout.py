"""Whom a failed login counts against (django-axes' ``AXES_USERNAME_CALLABLE``).

The lockout must key on the identity the login finds, not on the spelling typed: the login looks
a user up by email case-insensitively (``UserManager.get_by_natural_key``), so ``X@example.com``
and ``x@EXAMPLE.com`` are one login, and before this each spelling had five tries of its own
(issue 11, item 1). An email with a login counts as that login's stored email; any other counts
as its stripped, lower-cased spelling.
"""

import unicodedata

from django.contrib.auth import get_user_model
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.models import BaseUserManager

FIELD = "username"


def login_identity(typed: str | None) -> str:
    typed = (typed or "").strip()
    if not typed:
        return ""
    stored = (
        get_user_model().objects.filter(email__iexact=typed).values_list("email", flat=True).first()
    )
    return stored or BaseUserManager.normalize_email(typed).lower()


def lockout_username(request, credentials=None) -> str:
    if credentials and credentials.get(FIELD) is not None:
        return login_identity(credentials.get(FIELD))
    data = getattr(request, "POST", None) or {}
    return login_identity(data.get(FIELD))


def _reset_fold(email: str) -> str:
    # Django's reset compares emails this way (forms._unicode_ci_compare): NFKC, then casefold.
    return unicodedata.normalize("NFKC", email.strip()).casefold()


def reset_identity(typed: str | None) -> str:
    """Whom a password-reset request counts against (config.throttling): the login the reset
    finds (Django's ``PasswordResetForm.get_users``, which matches ``\u017fam@`` to ``sam@`` on
    PostgreSQL), by its stored email; an email that finds none counts as its NFKC-casefolded
    spelling, so look-alike spellings of one login share one counter on every database. Issue
    11, item 1."""
    typed = (typed or "").strip()
    if not typed or "\x00" in typed:  # the form refuses NUL; PostgreSQL cannot be asked
        return typed
    stored = sorted(_reset_fold(user.email) for user in PasswordResetForm().get_users(typed))
    return stored[0] if stored else _reset_fold(typed)
