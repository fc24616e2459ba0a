from django.db import models
from django.utils import timezone

from accounts.models import Account


class Plan(models.Model):
    """A subscription plan of the catalogue (seeded from PRODUCT.md, edited by staff)."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=80)
    description = models.CharField(max_length=200, blank=True, help_text="the use case")
    price_per_user_month_cents = models.PositiveIntegerField(
        help_text="per user per month, billed annually, in cents"
    )
    max_users = models.PositiveIntegerField(
        null=True, blank=True, help_text="empty: unlimited (Free: 3)"
    )
    data_history_months = models.PositiveSmallIntegerField(null=True, blank=True)
    data_history_days = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="used when months is empty (Free: 30 days)"
    )
    is_sold = models.BooleanField(default=True, help_text="false for legacy plans")
    is_paid = models.BooleanField(default=True)
    min_licenses = models.PositiveSmallIntegerField(default=5)
    grace_period_days = models.PositiveSmallIntegerField(default=14)
    export_row_limit = models.PositiveIntegerField()
    storage_limit_bytes = models.BigIntegerField(null=True, blank=True, help_text="empty: none")
    rank = models.PositiveSmallIntegerField(
        default=0, help_text="higher is a bigger plan; upgrades go up, downgrades down"
    )
    sort_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["sort_order"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(data_history_months__isnull=False, data_history_days__isnull=True)
                    | models.Q(data_history_months__isnull=True, data_history_days__isnull=False)
                ),
                name="plan_history_in_months_or_days",
            )
        ]

    def __str__(self):
        return self.name

    @property
    def is_legacy(self):
        return not self.is_sold

    @property
    def data_history_label(self):
        if self.data_history_months:
            return f"{self.data_history_months} months"
        return f"{self.data_history_days} days"

    @property
    def users_label(self):
        return "Unlimited" if self.max_users is None else f"{self.max_users} max"


class SalesChannel(models.TextChoices):
    CART = "cart", "In-app cart or staff"
    STAFF = "staff", "Staff only (contact us)"


class AddOn(models.Model):
    """A per-user add-on. Its quantity always equals the account's licenses."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=80)
    description = models.CharField(max_length=300, blank=True)
    price_per_user_month_cents = models.PositiveIntegerField(
        null=True, blank=True, help_text="list price; empty when only sold by quote"
    )
    sales_channel = models.CharField(max_length=10, choices=SalesChannel.choices)
    extends_history_months = models.PositiveSmallIntegerField(
        default=0, help_text="Data History: months of history it adds"
    )
    eligible_plans = models.ManyToManyField(Plan, related_name="eligible_addons", blank=True)
    sort_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["sort_order"]

    def __str__(self):
        return self.name


class SubscriptionState(models.TextChoices):
    TRIALING = "trialing", "Trialing"
    ACTIVE = "active", "Active"
    PAST_DUE = "past_due", "Past due"
    CANCELLED = "cancelled", "Cancelled at term end"
    ENDED = "ended", "Ended"


class Subscription(models.Model):
    """An account's subscription: one per account, its plan and licenses for the current term.

    Free accounts have one too (plan free, 3 licenses, no term end).
    """

    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="subscription")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="subscriptions")
    licenses = models.PositiveIntegerField()
    state = models.CharField(
        max_length=12, choices=SubscriptionState.choices, default=SubscriptionState.ACTIVE
    )
    term_start = models.DateField(null=True, blank=True)
    term_end = models.DateField(null=True, blank=True, help_text="the anniversary; empty on Free")
    trial_ends_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(licenses__gte=1), name="subscription_has_licenses"
            ),
        ]
        indexes = [models.Index(fields=["state", "trial_ends_at"]), models.Index(fields=["term_end"])]

    def __str__(self):
        return f"{self.account}: {self.plan} x {self.licenses}"

    @property
    def is_trial(self):
        return self.state == SubscriptionState.TRIALING


class SubscriptionAddOn(models.Model):
    """An add-on on a subscription. No quantity column: the quantity is the licenses, always."""

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="addons")
    addon = models.ForeignKey(AddOn, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["subscription", "addon"], name="one_addon_row_each")
        ]

    def __str__(self):
        return f"{self.addon} on {self.subscription}"

    @property
    def quantity(self):
        return self.subscription.licenses
