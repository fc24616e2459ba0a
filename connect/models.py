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


# --- outbound webhooks (docs/connect.md, "Webhooks") ---------------------------------------------

class WebhookEventType(models.TextChoices):
    USER_TRACKED = "user.tracked", "A new user is tracked"
    GRACE_STARTED = "grace.started", "A grace period started"
    ACCOUNT_BLOCKED = "account.blocked", "Data access blocked"
    ACCOUNT_UNBLOCKED = "account.unblocked", "Data access unblocked"
    SUBSCRIPTION_CHANGED = "subscription.changed", "The subscription changed"
    INVOICE_ISSUED = "invoice.issued", "An invoice was issued"
    INVOICE_PAID = "invoice.paid", "An invoice was paid"
    INVOICE_PAST_DUE = "invoice.past_due", "An invoice is past due"
    CASE_UPDATED = "case.updated", "A support case was opened, changed or closed"


class WebhookEndpoint(models.Model):
    """An address of the customer's that receives the events it picked, signed with its secret."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(max_length=500)
    events = models.JSONField(default=list, help_text="values of WebhookEventType")
    # Kept readable: every delivery is signed with it (HMAC needs the secret itself, not a hash).
    secret = models.CharField(max_length=80)
    is_active = models.BooleanField(default=True)
    failing_since = models.DateTimeField(null=True, blank=True, help_text="first failure since the last success")
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=200, blank=True)
    # One sender at a time per endpoint, so that deliveries go out in order; a lease, not a row
    # lock, because no lock is held while another server is called.
    lease_until = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.url


class WebhookEvent(models.Model):
    """One event of an account, once, whatever the endpoints: its ``event_id`` is what receivers
    dedupe on (deliveries are at least once); its primary key orders the account's events."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="webhook_events")
    event_id = models.CharField(max_length=40, unique=True)
    type = models.CharField(max_length=40, choices=WebhookEventType.choices)
    payload = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"{self.type} {self.event_id}"


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Delivered"
    FAILED = "failed", "Gave up"


class WebhookDelivery(models.Model):
    """An event to one endpoint: attempts until the receiver answers 2xx."""

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    state = models.CharField(max_length=10, choices=DeliveryState.choices, default=DeliveryState.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event"], name="one_delivery_per_endpoint_event")
        ]
        indexes = [models.Index(fields=["endpoint", "state", "event"], name="delivery_order")]

    def __str__(self):
        return f"{self.event} to {self.endpoint} ({self.state})"
