"""Whom a failed login counts against (django-axes' ``AXES_USERNAME_CALLABLE``).

The lockout must key on the identity the login finds, not on the spelling typed: the login looks
a user up by email case-insensitively (``UserManager.get_by_natural_key``), so ``X@example.com``
and ``x@EXAMPLE.com`` are one login, and before this each spelling had five tries of its own
(issue 11, item 1). An email with a login counts as that login's stored email; any other counts
as its stripped, lower-cased spelling.
"""

from django.contrib.auth import get_user_model
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
