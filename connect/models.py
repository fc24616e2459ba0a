"""ActivConnect: API tokens of the read API (docs/connect.md)."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import Account


class Scope(models.TextChoices):
    READ_USERS = "read_users", "Read tracked users, machines and license usage"
    READ_ACTIVITY = "read_activity", "Read activity and productivity"
    READ_BILLING = "read_billing", "Read the subscription and invoices"


class ApiToken(models.Model):
    """An account's token for the ActivConnect read API, apart from its agent keys (an agent key
    writes check-ins; a token reads). Shown once; stored as a SHA-256 hash; known by its prefix."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=80, blank=True)
    prefix = models.CharField(max_length=16, unique=True)
    token_hash = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list, help_text="values of Scope")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.prefix}… ({self.account})"

    @property
    def is_active(self):
        return self.revoked_at is None

    def scope_labels(self):
        return [Scope(s).label for s in self.scopes if s in Scope.values]
