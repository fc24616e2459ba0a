"""Billing models, part 2 (imported by ``billing.models``): the cart, orders and their lines,
payment attempts, the sandbox gateway's memory, gateway events and refunds."""

from decimal import Decimal

from django.db import models
from django.utils import timezone

from accounts.models import Account


class Cart(models.Model):
    """An Admin's cart: what they mean to buy, before paying. One order per cart, at most."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="carts")
    created_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    plan = models.ForeignKey(
        "billing.Plan", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
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
        "billing.Subscription", null=True, blank=True, on_delete=models.PROTECT, related_name="renewal_orders"
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
    order = models.ForeignKey("billing.Order", on_delete=models.CASCADE, related_name="lines")
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

    order = models.ForeignKey("billing.Order", on_delete=models.PROTECT, related_name="payments")
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
        permissions = [("refund_review_payment", "Can refund a charge of another amount (under review)")]
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


class RefundState(models.TextChoices):
    PENDING = "pending", "Sent to the gateway"
    SUCCEEDED = "succeeded", "Refunded"
    FAILED = "failed", "Failed"
    UNKNOWN = "unknown", "Outcome unknown (asked again)"


class Refund(models.Model):
    """Money given back to the card for a credit note (issue 14): committed with its key before
    the gateway is called, so a retry repeats the same request (the key) and never refunds twice."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="refunds")
    credit_note = models.OneToOneField("billing.Invoice", on_delete=models.PROTECT, related_name="refund")
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
