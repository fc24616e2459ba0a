"""Every write of ActivConnect: API tokens (docs/connect.md)."""

import hashlib
import secrets

from django.db import transaction
from django.utils import timezone

from accounts.services import ServiceError, audit_record
from connect.models import ApiToken, Scope

TOKEN_PREFIX = "ac_"  # agent keys start with "wa_": one look tells which is which
LAST_USED_RESOLUTION_SECONDS = 60


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def api_token_create(*, account, name: str = "", scopes, actor) -> tuple[ApiToken, str]:
    """A new token; returns (token, secret). The secret is shown once and only its hash kept."""
    scopes = sorted(set(scopes))
    if not scopes or any(s not in Scope.values for s in scopes):
        raise ServiceError("Choose at least one scope: read users, read activity, read billing.")
    prefix = secrets.token_hex(5)
    secret = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    with transaction.atomic():
        token = ApiToken.objects.create(
            account=account, name=name[:80], prefix=prefix, token_hash=_hash(secret), scopes=scopes,
            created_by=actor.user,
        )
        audit_record(
            account=account, actor=actor, kind="api_token.created",
            summary=f"API token {prefix} created" + (f" ({name})" if name else ""),
            after={"prefix": prefix, "name": name, "scopes": scopes},
        )
    return token, secret


def api_token_revoke(*, token: ApiToken, actor) -> ApiToken:
    with transaction.atomic():
        token = ApiToken.objects.select_for_update().get(pk=token.pk)
        if token.revoked_at is not None:
            return token
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(
            account=token.account, actor=actor, kind="api_token.revoked",
            summary=f"API token {token.prefix} revoked", before={"prefix": token.prefix},
        )
    return token


def api_token_authenticate(*, secret: str) -> ApiToken | None:
    """The active token for ``secret`` with its account, or None. Touches last_used_at at most
    once a minute (a sync reads many pages: one write per page would be wasted)."""
    if not secret or not secret.startswith(TOKEN_PREFIX) or len(secret) > 100:
        return None
    token = (
        ApiToken.objects.select_related("account")
        .filter(token_hash=_hash(secret), revoked_at__isnull=True).first()
    )
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() >= LAST_USED_RESOLUTION_SECONDS:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
