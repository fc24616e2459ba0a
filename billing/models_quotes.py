"""Billing models, part 4 (imported by ``billing.models``): quote requests and staff's answers."""


from django.db import models
from django.utils import timezone

from accounts.models import Account


class QuoteTopic(models.TextChoices):
    PLAN = "plan", "A subscription plan"
    ACTIVCONNECT = "activconnect", "ActivConnect API"
    DATA_HISTORY = "data_history", "Data History"
    PREMIER = "premier", "Premier support"
    SIGNATURE = "signature", "Signature support"
    NONPROFIT = "nonprofit", "Nonprofit discount"


class QuoteState(models.TextChoices):
    REQUESTED = "requested", "Requested"
    QUOTED = "quoted", "Quoted"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"
    FULFILLED = "fulfilled", "Fulfilled"


class Quote(models.Model):
    """A customer Admin's "Get a quote" request, then staff's priced answer."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="quotes")
    topic = models.CharField(max_length=20, choices=QuoteTopic.choices)
    message = models.TextField(blank=True)
    state = models.CharField(max_length=10, choices=QuoteState.choices, default=QuoteState.REQUESTED)
    requested_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    handled_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Staff's answer: the quoted price per user per year (add-ons, plans) or for the term (support).
    plan = models.ForeignKey("billing.Plan", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    licenses = models.PositiveIntegerField(null=True, blank=True)
    quoted_price_cents = models.BigIntegerField(null=True, blank=True)
    quoted_discount_percent = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    # Series QT, gapless, given when staff first price it; valid until ``expires_on`` (inclusive).
    number = models.PositiveIntegerField(null=True, blank=True, unique=True)
    expires_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["state", "created_at"])]

    def __str__(self):
        return f"{self.get_topic_display()} quote for {self.account}"

    @property
    def display_number(self):
        return f"QT-{self.number:06d}" if self.number else f"request {self.pk}"

    def is_expired(self, today=None):
        """A priced quote past its last valid day: it cannot be accepted (read at any time)."""
        today = today or timezone.localdate()
        return self.state == QuoteState.QUOTED and self.expires_on is not None and today > self.expires_on


class SalesLead(models.Model):
    """A visitor's "Contact sales" message (no account yet): staff read it in the admin beside
    the quote queue and answer by email. A logged-in Admin's message is a ``Quote`` instead."""

    name = models.CharField(max_length=120)
    email = models.EmailField()
    company = models.CharField(max_length=200, blank=True)
    topic = models.CharField(max_length=20, choices=QuoteTopic.choices)
    message = models.TextField(max_length=5000)
    created_at = models.DateTimeField(default=timezone.now)
    handled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["created_at"])]

    def __str__(self):
        return f"{self.get_topic_display()}: {self.name} <{self.email}>"
