"""Billing models, part 3 (imported by ``billing.models``): invoices and credit notes, their
numbering series, lines and PDF documents, billing notices, tax rates and the account credit
ledger."""

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django_countries.fields import CountryField

from accounts.models import Account
from billing.models_orders import TaxedTotals


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
    order = models.ForeignKey("billing.Order", null=True, blank=True, on_delete=models.PROTECT, related_name="invoices")
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
        "billing.Subscription", null=True, blank=True, on_delete=models.PROTECT, related_name="invoices"
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

    invoice = models.OneToOneField("billing.Invoice", on_delete=models.PROTECT, related_name="document")
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


class InvoiceLine(models.Model):
    invoice = models.ForeignKey("billing.Invoice", on_delete=models.CASCADE, related_name="lines")
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

    subscription = models.ForeignKey("billing.Subscription", on_delete=models.CASCADE, related_name="notices")
    kind = models.CharField(max_length=24, choices=NoticeKind.choices)
    about = models.DateField(help_text="the trial end, the anniversary or the invoice's due date")
    invoice = models.ForeignKey(
        "billing.Invoice", null=True, blank=True, on_delete=models.CASCADE, related_name="notices"
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
        "billing.Invoice", null=True, blank=True, on_delete=models.PROTECT, related_name="credit_granted"
    )
    invoice = models.OneToOneField(
        "billing.Invoice", null=True, blank=True, on_delete=models.PROTECT, related_name="credit_used"
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
