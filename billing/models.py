from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
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


class Cart(models.Model):
    """An Admin's cart: what they mean to buy, before paying. One order per cart, at most."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="carts")
    created_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    plan = models.ForeignKey(
        Plan, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text="the plan after purchase; empty keeps the current one",
    )
    licenses = models.PositiveIntegerField(
        null=True, blank=True, help_text="licenses after purchase; empty keeps the current count"
    )
    screen_details = models.BooleanField(default=False, help_text="add Screen Details")
    coupon = models.ForeignKey("billing.Coupon", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Open until its order is paid or invoiced. One open cart per account, held by the database:
    # two simultaneous first clicks cannot make two carts (issue 11, item 7).
    is_open = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account"], condition=models.Q(is_open=True), name="one_open_cart_per_account"
            )
        ]

    def __str__(self):
        return f"cart {self.pk} of {self.account}"


class OrderKind(models.TextChoices):
    CART = "cart", "Cart purchase"
    RENEWAL = "renewal", "Renewal"
    QUOTE = "quote", "Accepted quote"
    STAFF = "staff", "Staff grant"


class OrderState(models.TextChoices):
    PENDING = "pending", "Pending payment"
    PAID = "paid", "Paid"
    INVOICED = "invoiced", "Awaiting invoice payment"
    FAILED = "failed", "Payment failed"


REVERSE_CHARGE_NOTE = "Reverse charge: VAT to be accounted for by the recipient"


def tax_label(*, name, percent, country, reverse_charge) -> str:
    """A tax line's wording: "VAT 19% (Germany)", "VAT: reverse charge (Germany)"."""
    from django_countries import countries

    where = f" ({countries.name(country) or country})" if country else ""
    if reverse_charge:
        return f"{name}: reverse charge{where}"
    return f"{name} {Decimal(percent).normalize():f}%{where}"


class TaxedTotals(models.Model):
    """The totals below the lines of an order or invoice (issue 14), copied when it is priced and
    never recomputed: ``total = subtotal (the lines) + tax - account credit applied``.
    ``tax_name`` empty: no tax line (no rate for the billing country, or no billing details).
    ``reverse_charge``: an EU business in another member state, tax 0 and the invoice says so."""

    tax_name = models.CharField(max_length=40, blank=True)
    tax_percent = models.DecimalField(max_digits=5, decimal_places=2, default=0)
    tax_country = models.CharField(max_length=2, blank=True)
    tax_region = models.CharField(max_length=100, blank=True)
    reverse_charge = models.BooleanField(default=False)
    tax_cents = models.BigIntegerField(default=0, help_text="rounded once, on the lines' sum")
    credit_applied_cents = models.BigIntegerField(
        default=0, help_text="account credit consumed by this order or invoice (billing.credits)"
    )

    class Meta:
        abstract = True

    @property
    def subtotal_cents(self):
        return self.total_cents - self.tax_cents + self.credit_applied_cents

    @property
    def has_tax_line(self):
        return bool(self.tax_name)

    @property
    def tax_label(self):
        return tax_label(name=self.tax_name, percent=self.tax_percent, country=self.tax_country,
                         reverse_charge=self.reverse_charge)

    @property
    def tax_note(self):
        return REVERSE_CHARGE_NOTE if self.reverse_charge else ""


class Order(TaxedTotals):
    """A purchase. Its lines snapshot names, prices and discounts at the moment it was made."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="orders")
    kind = models.CharField(max_length=10, choices=OrderKind.choices)
    state = models.CharField(max_length=10, choices=OrderState.choices, default=OrderState.PENDING)
    idempotency_key = models.CharField(max_length=64, blank=True)
    # One order per cart, per quote, per renewal term: each enforced by the database.
    cart = models.OneToOneField(
        "billing.Cart", null=True, blank=True, on_delete=models.PROTECT, related_name="order"
    )
    quote = models.OneToOneField(
        "billing.Quote", null=True, blank=True, on_delete=models.PROTECT, related_name="order"
    )
    renewal_of = models.ForeignKey(
        Subscription, null=True, blank=True, on_delete=models.PROTECT, related_name="renewal_orders"
    )
    renewal_term_start = models.DateField(null=True, blank=True)
    total_cents = models.BigIntegerField(default=0)
    created_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    paid_at = models.DateTimeField(null=True, blank=True)
    failure_reason = models.CharField(max_length=300, blank=True)
    # What the purchase sets when it is paid (plan, licenses, add-ons, a new term): written when
    # the order is placed, applied once when its payment succeeds (billing.payments).
    purchase = models.JSONField(default=dict, blank=True)
    # When its tax (and account credit) was decided: the cart at placement, an order made
    # elsewhere (renewal, quote) when its invoice is issued, before any money is asked for.
    taxed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["renewal_of", "renewal_term_start"],
                condition=models.Q(renewal_of__isnull=False),
                name="one_renewal_order_per_term",
            ),
            models.UniqueConstraint(
                fields=["account", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="one_order_per_idempotency_key",
            ),
        ]

    def __str__(self):
        return f"order {self.pk} of {self.account}"


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    description = models.CharField(max_length=200)
    plan_code = models.CharField(max_length=40, blank=True)
    addon_code = models.CharField(max_length=40, blank=True)
    quantity = models.PositiveIntegerField()
    unit_price_cents = models.BigIntegerField(help_text="per user per year, list price")
    days = models.PositiveIntegerField(help_text="days charged of the term")
    term_days = models.PositiveIntegerField(help_text="days of the whole term")
    discount_percent = models.DecimalField(max_digits=5, decimal_places=2, default=0)
    discount_label = models.CharField(max_length=200, blank=True, help_text="the discounts by name")
    amount_cents = models.BigIntegerField(help_text="rounded once, after proration and discount")
    sort_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["sort_order", "id"]

    def __str__(self):
        return self.description


class PaymentState(models.TextChoices):
    """A payment attempt's states (docs/billing.md, "Payment attempts", has the transitions)."""

    # Committed before any money moves; the gateway has not answered yet.
    PENDING = "pending", "Pending"
    # The bank asks the cardholder to authenticate (3-D Secure) before it charges.
    REQUIRES_ACTION = "requires_action", "Needs authentication"
    SUCCEEDED = "succeeded", "Succeeded"
    DECLINED = "declined", "Declined"
    # Not charged: a processing error, an authentication that failed or was abandoned.
    FAILED = "failed", "Failed"
    # The gateway's answer was lost after the request left (a timeout): it may have charged.
    UNKNOWN = "unknown", "Outcome unknown"
    # The gateway charged an amount other than the attempt's: never booked as paid; staff review.
    REVIEW = "review", "Amount differs: staff review"


# The attempt is settled: its state never changes again (refunds and disputes are recorded beside).
PAYMENT_SETTLED = (PaymentState.SUCCEEDED, PaymentState.DECLINED, PaymentState.FAILED, PaymentState.REVIEW)
# The money may still move: the order's cart is frozen, no other attempt starts.
PAYMENT_OPEN = (PaymentState.PENDING, PaymentState.REQUIRES_ACTION, PaymentState.UNKNOWN)


class Payment(models.Model):
    """One payment attempt: committed (``pending``) before the gateway is called, so that a lost
    answer, a killed worker or a missed webhook is found again by its ``key`` and settled once
    (``billing.payments``). ``key`` is the gateway's idempotency key, bound to this attempt's
    amount: another amount is another attempt."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="payments")
    gateway = models.CharField(max_length=20)
    key = models.CharField(max_length=64, unique=True, null=True, blank=True)
    reference = models.CharField(max_length=100, blank=True, help_text="the gateway's id (pi_...)")
    amount_cents = models.BigIntegerField()
    currency = models.CharField(max_length=3, default="usd")
    fingerprint = models.CharField(max_length=64, blank=True, help_text="the lines confirmed")
    payment_method = models.CharField(max_length=100, blank=True, help_text="the card charged")
    off_session = models.BooleanField(default=False, help_text="charged with no customer present")
    state = models.CharField(max_length=16, choices=PaymentState.choices)
    message = models.CharField(max_length=300, blank=True)
    # Where the customer authenticates a 3-D Secure charge (stripe.js confirmCardPayment).
    client_secret = models.CharField(max_length=200, blank=True)
    charged_cents = models.BigIntegerField(null=True, blank=True, help_text="what the gateway says")
    refunded_cents = models.BigIntegerField(default=0)
    disputed = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["state", "created_at"])]
        constraints = [
            # At most one attempt of an order whose money may still move.
            models.UniqueConstraint(
                fields=["order"], condition=models.Q(state__in=["pending", "requires_action", "unknown"]),
                name="one_open_payment_per_order",
            ),
        ]

    def __str__(self):
        return f"{self.gateway} {self.reference} {self.state}"

    @property
    def is_open(self):
        return self.state in PAYMENT_OPEN


class SandboxCharge(models.Model):
    """The sandbox gateway's memory, in the database like a real processor's: every worker sees
    every charge, so a retry on another worker returns the first outcome instead of charging."""

    key = models.CharField(max_length=80, unique=True)
    reference = models.CharField(max_length=40, unique=True)
    amount_cents = models.BigIntegerField()
    card_last4 = models.CharField(max_length=4)
    customer = models.CharField(max_length=60, blank=True)
    off_session = models.BooleanField(default=False)
    # succeeded | declined | failed | requires_action | canceled (ChargeState)
    state = models.CharField(max_length=16)
    message = models.CharField(max_length=300, blank=True)
    lost_answer = models.BooleanField(default=False, help_text="charged, then the answer was lost")
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"{self.reference} {self.state}"


class SandboxCard(models.Model):
    """A card saved at the sandbox "processor": the number stays here, our billing keeps only
    the id, the brand and the last four digits, as with Stripe."""

    id = models.CharField(max_length=40, primary_key=True)
    number = models.CharField(max_length=19)
    customer = models.CharField(max_length=60)
    created_at = models.DateTimeField(default=timezone.now)


class GatewayEvent(models.Model):
    """A webhook event from the gateway, stored once by its id before it is processed; processing
    is idempotent and order-independent (``billing.reconciliation.gateway_event_process``)."""

    event_id = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=80)
    payload = models.JSONField()
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self):
        return f"{self.kind} {self.event_id}"


class InvoiceState(models.TextChoices):
    DRAFT = "draft", "Draft"
    OPEN = "open", "Open"
    PAID = "paid", "Paid"
    PAST_DUE = "past_due", "Past due"
    VOID = "void", "Void"


class InvoiceSeries(models.Model):
    """A numbering series ("INV", "CN" for credit notes). ``next_number`` is read and bumped
    under a row lock, so concurrent finalisations never share or skip a number."""

    code = models.CharField(max_length=10, unique=True)
    next_number = models.PositiveIntegerField(default=1)

    def __str__(self):
        return self.code


class CreditSettlement(models.TextChoices):
    """What a credit note gives back (issue 14, item 4)."""

    VOID = "void", "Voids the invoice"
    REFUND = "refund", "Refunded to the card"
    ACCOUNT_CREDIT = "account_credit", "Kept as account credit"


class Invoice(TaxedTotals):
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="invoices")
    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.PROTECT, related_name="invoices")
    series = models.ForeignKey(InvoiceSeries, on_delete=models.PROTECT, related_name="invoices")
    number = models.PositiveIntegerField(null=True, blank=True, help_text="assigned when finalised")
    state = models.CharField(max_length=10, choices=InvoiceState.choices, default=InvoiceState.DRAFT)
    # A credit note's invoice: one that voids it, or any number of partial ones (issue 14).
    credit_note_for = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="credit_notes"
    )
    credit_settlement = models.CharField(max_length=16, choices=CreditSettlement.choices, blank=True)
    credit_reason = models.CharField(max_length=300, blank=True)
    # One invoice per subscription per term (renewals), enforced by the database.
    subscription = models.ForeignKey(
        Subscription, null=True, blank=True, on_delete=models.PROTECT, related_name="invoices"
    )
    term_start = models.DateField(null=True, blank=True)
    total_cents = models.BigIntegerField(default=0)
    issued_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # Collection from the card on file (renewals): attempts made, and when the next is due
    # (billing.collection.DUNNING_DAYS). Empty: not collected automatically.
    collection_attempts = models.PositiveSmallIntegerField(default=0)
    next_collection_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        permissions = [
            ("mark_paid_invoice", "Can mark an invoice paid"),
            ("void_invoice", "Can void an invoice with a credit note"),
            ("credit_invoice", "Can credit part of an invoice (refund or account credit)"),
        ]
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["series", "number"], condition=models.Q(number__isnull=False),
                name="one_invoice_per_number",
            ),
            models.UniqueConstraint(
                fields=["subscription", "term_start"],
                condition=models.Q(subscription__isnull=False, credit_note_for__isnull=True),
                name="one_invoice_per_subscription_term",
            ),
        ]
        indexes = [models.Index(fields=["state", "due_at"])]

    def __str__(self):
        return self.display_number

    @property
    def display_number(self):
        return f"{self.series.code}-{self.number:06d}" if self.number else "draft"


class InvoiceDocument(models.Model):
    """The PDF of one issued invoice or credit note (billing/documents.py).

    ``seller``, ``buyer`` and ``header`` are copied in the transaction that issues the invoice,
    so a PDF rendered later (the task cluster renders it after the commit) shows what was true
    at issue, whatever staff or the Admin edit since; its lines are the invoice's own copies.
    ``pdf`` is written once (an UPDATE guarded by ``pdf IS NULL``) and never changed.
    """

    invoice = models.OneToOneField(Invoice, on_delete=models.PROTECT, related_name="document")
    seller = models.JSONField(default=dict)
    buyer = models.JSONField(default=dict)
    header = models.JSONField(default=dict, help_text="kind, dates and payment terms at issue")
    pdf = models.BinaryField(null=True, blank=True, editable=False)
    sha256 = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    rendered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["created_at"], condition=models.Q(rendered_at__isnull=True),
                         name="invoice_document_to_render"),
        ]

    def __str__(self):
        return f"document of invoice {self.invoice_id}"


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


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    # A credit note's line that credits one line of the invoice (each line is credited once).
    credited_line = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="credited_by"
    )
    description = models.CharField(max_length=200)
    quantity = models.PositiveIntegerField()
    unit_price_cents = models.BigIntegerField()
    days = models.PositiveIntegerField()
    term_days = models.PositiveIntegerField()
    discount_percent = models.DecimalField(max_digits=5, decimal_places=2, default=0)
    discount_label = models.CharField(max_length=200, blank=True)
    amount_cents = models.BigIntegerField()
    sort_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["sort_order", "id"]

    def __str__(self):
        return self.description


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
    plan = models.ForeignKey(Plan, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
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


class NoticeKind(models.TextChoices):
    TRIAL_ENDING_3_DAYS = "trial_ending_3_days", "Trial ends in 3 days"
    TRIAL_ENDING_1_DAY = "trial_ending_1_day", "Trial ends tomorrow"
    RENEWAL_COMING = "renewal_coming", "Renewal in 30 days (before issue 15)"
    RENEWAL_COMING_60 = "renewal_coming_60", "Renewal in 60 days"
    RENEWAL_COMING_35 = "renewal_coming_35", "Renewal in 35 days"
    PAYMENT_OVERDUE = "payment_overdue", "Payment overdue"


class BillingNotice(models.Model):
    """A billing email that was sent. The unique constraints make each notice go out once, even
    when its job runs twice, late, or on two workers at the same time."""

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="notices")
    kind = models.CharField(max_length=24, choices=NoticeKind.choices)
    about = models.DateField(help_text="the trial end, the anniversary or the invoice's due date")
    invoice = models.ForeignKey(
        Invoice, null=True, blank=True, on_delete=models.CASCADE, related_name="notices"
    )
    recipients = models.TextField(blank=True)
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-sent_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "kind", "about"], condition=models.Q(invoice__isnull=True),
                name="one_notice_per_subscription_kind_date",
            ),
            models.UniqueConstraint(
                fields=["invoice", "kind"], condition=models.Q(invoice__isnull=False),
                name="one_notice_per_invoice_kind",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} ({self.about}) to {self.subscription}"


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
    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    actor_label = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["subscription", "created_at"])]

    def __str__(self):
        return f"{self.get_event_display()}: {self.licenses}"


class TaxRate(models.Model):
    """A tax rate we charge (issue 14, item 3): per billing country, or per state or region of
    it (``region``: its code as the billing details write it, "TX"; empty: the whole country).
    Staff edit them in the admin; orders and invoices copy the rate they used."""

    country = CountryField()
    region = models.CharField(max_length=100, blank=True, help_text="a state's code (TX); empty: the whole country")
    name = models.CharField(max_length=40, help_text='shown on the tax line: "VAT", "Sales tax"')
    percent = models.DecimalField(
        max_digits=5, decimal_places=2,
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))],
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["country", "region"]
        constraints = [
            models.UniqueConstraint(fields=["country", "region"], name="one_tax_rate_per_place"),
        ]

    def __str__(self):
        where = f"{self.country}-{self.region}" if self.region else str(self.country)
        return f"{self.name} {self.percent}% ({where})"


class AccountCreditKind(models.TextChoices):
    GRANTED = "granted", "Credited by a credit note"
    APPLIED = "applied", "Applied to an invoice"


class AccountCredit(models.Model):
    """The account's credit ledger, append-only (issue 14): a credit note kept as credit adds a
    row, an invoice that consumes it subtracts one. The balance is the sum; every row is written
    by ``billing.credits``. One grant per credit note, one use per invoice (the database)."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="credit_ledger")
    kind = models.CharField(max_length=10, choices=AccountCreditKind.choices)
    amount_cents = models.BigIntegerField(help_text="positive: granted; negative: applied")
    credit_note = models.OneToOneField(
        Invoice, null=True, blank=True, on_delete=models.PROTECT, related_name="credit_granted"
    )
    invoice = models.OneToOneField(
        Invoice, null=True, blank=True, on_delete=models.PROTECT, related_name="credit_used"
    )
    actor_label = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(kind="granted", amount_cents__gt=0, credit_note__isnull=False)
                           | models.Q(kind="applied", amount_cents__lt=0, invoice__isnull=False)),
                name="account_credit_row_is_a_grant_or_a_use",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.amount_cents} cents"


class RefundState(models.TextChoices):
    PENDING = "pending", "Sent to the gateway"
    SUCCEEDED = "succeeded", "Refunded"
    FAILED = "failed", "Failed"
    UNKNOWN = "unknown", "Outcome unknown (asked again)"


class Refund(models.Model):
    """Money given back to the card for a credit note (issue 14): committed with its key before
    the gateway is called, so a retry repeats the same request (the key) and never refunds twice."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="refunds")
    credit_note = models.OneToOneField(Invoice, on_delete=models.PROTECT, related_name="refund")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    key = models.CharField(max_length=64, unique=True)
    amount_cents = models.PositiveBigIntegerField()
    state = models.CharField(max_length=10, choices=RefundState.choices, default=RefundState.PENDING)
    reference = models.CharField(max_length=100, blank=True, help_text="the gateway's id (re_...)")
    message = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    settled_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"refund {self.key} ({self.state})"


class SandboxRefund(models.Model):
    """The sandbox gateway's memory of its refunds (by key, as Stripe's idempotency keys)."""

    key = models.CharField(max_length=80, unique=True)
    reference = models.CharField(max_length=40, unique=True)
    charge_reference = models.CharField(max_length=40)
    amount_cents = models.BigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)


from billing.models_discounts import Coupon, CouponRedemption, Discount, DiscountScope  # noqa: E402, F401
