"""Billing models, part 1: the catalogue, the subscription, its add-ons and scheduled change, the
billing profile and details, the license ledger. The other parts live in ``billing/models_*.py``
(orders and payments, invoices, quotes, discounts) and are imported here, so that
``billing.models.X`` names every model."""


from django.db import models
from django.utils import timezone
from django_countries.fields import CountryField

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
    # ActivConnect and Data History have no list price: the price agreed on their quote is kept
    # here so that the renewal charges it again. Empty: the catalogue's list price.
    unit_price_cents = models.BigIntegerField(
        null=True, blank=True, help_text="per user per year, from its quote; empty: list price"
    )
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


class BillingProfile(models.Model):
    """What staff set on an account's billing: its discount and whether it may pay by invoice."""

    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="billing_profile")
    discount_percent = models.DecimalField(
        max_digits=5, decimal_places=2, default=0, help_text="e.g. 20.00 for a nonprofit discount"
    )
    discount_reason = models.CharField(max_length=100, blank=True)
    # A standing discount is reviewed yearly (a nonprofit stays one?): staff see it due.
    discount_review_on = models.DateField(null=True, blank=True)
    invoice_eligible = models.BooleanField(
        default=False, help_text="may pay by invoice (net 30): check, wire, direct deposit"
    )
    # The card on file, kept by the processor: we keep its id and what the customer sees.
    gateway_customer = models.CharField(max_length=60, blank=True, help_text="cus_... at the gateway")
    card_payment_method = models.CharField(max_length=100, blank=True)
    card_brand = models.CharField(max_length=20, blank=True)
    card_last4 = models.CharField(max_length=4, blank=True)
    card_exp_month = models.PositiveSmallIntegerField(null=True, blank=True)
    card_exp_year = models.PositiveSmallIntegerField(null=True, blank=True)
    card_saved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(discount_percent__gte=0, discount_percent__lte=100),
                name="discount_is_a_percentage",
            )
        ]

    def __str__(self):
        return f"billing of {self.account}"

    @property
    def has_card(self):
        return bool(self.card_payment_method)

    @property
    def card_label(self):
        if not self.has_card:
            return ""
        return f"{self.card_brand.title()} ending {self.card_last4}, expires {self.card_exp_month:02d}/{self.card_exp_year}"


class ScheduledChange(models.Model):
    """A change that takes effect at the renewal: fewer licenses, a lower plan, cancellation."""

    subscription = models.OneToOneField(
        Subscription, on_delete=models.CASCADE, related_name="scheduled_change"
    )
    plan = models.ForeignKey(Plan, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    licenses = models.PositiveIntegerField(null=True, blank=True)
    cancel_to_free = models.BooleanField(default=False)
    requested_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"scheduled change of {self.subscription}"


class BillingDetails(models.Model):
    """Who the account's invoices are made out to: edited by an Admin on /billing/details/."""

    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="billing_details")
    legal_name = models.CharField(max_length=200)
    address_line1 = models.CharField("address", max_length=200)
    address_line2 = models.CharField("address (line 2)", max_length=200, blank=True)
    city = models.CharField(max_length=100)
    postal_code = models.CharField(max_length=20, blank=True)
    region = models.CharField("state, province or region", max_length=100, blank=True)
    country = CountryField()
    tax_id = models.CharField(
        "tax id or VAT number", max_length=40, blank=True,
        help_text="EU: the VAT number with its country prefix (DE123456789); US: the EIN (12-3456789)",
    )
    po_number = models.CharField("purchase order number", max_length=60, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "billing details"

    def __str__(self):
        return self.legal_name

    def snapshot(self):
        """What an invoice copies (and the audit log records)."""
        return {
            "legal_name": self.legal_name, "address_line1": self.address_line1,
            "address_line2": self.address_line2, "city": self.city,
            "postal_code": self.postal_code, "region": self.region,
            "country": str(self.country), "country_name": self.country.name if self.country else "",
            "tax_id": self.tax_id, "po_number": self.po_number,
        }


class LicenseEvent(models.TextChoices):
    TRIAL_STARTED = "trial_started", "Trial started"
    PROVISIONED = "provisioned", "Provisioned by staff"
    PURCHASE = "purchase", "Purchase in the cart"
    QUOTE = "quote", "Accepted quote"
    SCHEDULED_CHANGE = "scheduled_change", "Change scheduled for the renewal"
    CHANGE_WITHDRAWN = "change_withdrawn", "Scheduled change withdrawn"
    RENEWAL = "renewal", "Renewal"
    CANCELLED_TO_FREE = "cancelled_to_free", "Cancelled to Free at the renewal"
    TRIAL_ENDED = "trial_ended", "Trial ended: moved to Free"
    STAFF = "staff", "Staff"


class LicenseLedger(models.Model):
    """Append-only: one row per change of an account's licenses or licenses at the next renewal,
    with the event that caused it (Zulip's ``LicenseLedger``). The subscription's licenses are the
    last row's; ``billing.subscriptions.license_ledger_record`` is the only writer."""

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="ledger")
    event = models.CharField(max_length=20, choices=LicenseEvent.choices)
    licenses = models.PositiveIntegerField()
    licenses_at_next_renewal = models.PositiveIntegerField(
        null=True, blank=True, help_text="empty: no renewal (trial, Free)"
    )
    plan_code = models.CharField(max_length=40)
    order = models.ForeignKey("billing.Order", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    actor_label = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["subscription", "created_at"])]

    def __str__(self):
        return f"{self.get_event_display()}: {self.licenses}"


# The other parts of the billing models (each module under about 500 lines).
from billing.models_discounts import Coupon, CouponRedemption, Discount, DiscountScope  # noqa: E402, F401
from billing.models_invoices import (  # noqa: E402, F401
    AccountCredit,
    AccountCreditKind,
    BillingNotice,
    CreditSettlement,
    Invoice,
    InvoiceDocument,
    InvoiceLine,
    InvoiceSeries,
    InvoiceState,
    NoticeKind,
    TaxRate,
)
from billing.models_orders import (  # noqa: E402, F401
    PAYMENT_OPEN,
    PAYMENT_SETTLED,
    REVERSE_CHARGE_NOTE,
    Cart,
    GatewayEvent,
    Order,
    OrderKind,
    OrderLine,
    OrderState,
    Payment,
    PaymentState,
    Refund,
    RefundState,
    SandboxCard,
    SandboxCharge,
    SandboxRefund,
    TaxedTotals,
    tax_label,
)
from billing.models_quotes import (  # noqa: E402, F401
    Quote,
    QuoteState,
    QuoteTopic,
    SalesLead,
)
