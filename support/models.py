from django.db import models
from django.utils import timezone

from billing.models import Quote


class Coverage(models.TextChoices):
    WEEKDAYS = "weekdays", "Weekdays 8:00-18:00 CT"
    WEEKDAYS_WEEKENDS = "weekdays_weekends", "Weekdays and weekends 8:00-18:00 CT"
    ALWAYS = "always", "24/7"


class SupportPlan(models.Model):
    """A support plan of the catalogue (seeded from PRODUCT.md, edited by staff)."""

    code = models.SlugField(max_length=30, unique=True)
    name = models.CharField(max_length=60)
    included_with_paid = models.BooleanField(
        default=False, help_text="Digital: comes with every paid subscription and the trial"
    )
    sold_by_quote = models.BooleanField(default=True)
    email_response_hours = models.PositiveSmallIntegerField()
    coverage = models.CharField(max_length=20, choices=Coverage.choices)
    has_csm = models.BooleanField("dedicated customer success manager", default=False)
    has_tam = models.BooleanField("dedicated technical account manager", default=False)
    phone_and_remote = models.BooleanField("phone and remote support on open cases", default=False)
    priority_routing = models.BooleanField(default=False)
    sort_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["sort_order"]

    def __str__(self):
        return self.name


class SupportPlanFeature(models.Model):
    """One cell of the support plans' comparison table: what a plan includes of a feature."""

    plan = models.ForeignKey(SupportPlan, on_delete=models.CASCADE, related_name="features")
    feature = models.CharField(max_length=120)
    value = models.CharField(max_length=60, help_text='"yes", "2 sessions", "< 4 h", ...')
    sort_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["sort_order"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "feature"], name="one_value_per_plan_feature")
        ]

    def __str__(self):
        return f"{self.plan}: {self.feature} = {self.value}"


class EntitlementKind(models.TextChoices):
    LIVE_TRAINING = "live_training", "Live stakeholder training sessions"
    TRAINING_VOUCHER = "training_voucher", "Training vouchers"
    PRODUCTIVITY_SNAPSHOT = "productivity_snapshot", "Productivity snapshots"
    PRODUCTIVITY_ASSESSMENT = "productivity_assessment", "Productivity assessments"
    BUSINESS_REVIEW = "business_review", "Business reviews"
    INTEGRATION_HOURS = "integration_hours", "Integration support and BI dashboard hours"
    # PRODUCT.md's "yes" rows, counted once per 12 months (docs/support.md, issue 15).
    HEALTH_CHECK = "health_check", "Annual technical health checks"
    PLANNING_WORKSHOP = "planning_workshop", "Planning workshops"
    INSIGHTS_WORKSHOP = "insights_workshop", "Insights-to-action workshops"


class SupportAllowance(models.Model):
    """A counted entitlement of a support plan: ``quantity`` per ``period_months``."""

    plan = models.ForeignKey(SupportPlan, on_delete=models.CASCADE, related_name="allowances")
    kind = models.CharField(max_length=30, choices=EntitlementKind.choices)
    quantity = models.PositiveSmallIntegerField()
    period_months = models.PositiveSmallIntegerField(default=12)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["plan", "kind"], name="one_allowance_per_plan_kind")
        ]

    def __str__(self):
        return f"{self.plan}: {self.quantity} {self.get_kind_display()} / {self.period_months} months"


class VoucherKind(models.TextChoices):
    PLATFORM = "platform", "Platform"
    LEADERSHIP = "leadership", "Leadership"
    MANAGER = "manager", "Manager"
    EMPLOYEE = "employee", "Employee"
    TRAIN_THE_TRAINER = "train_the_trainer", "Train-the-trainer"


class SupportPlanState(models.TextChoices):
    ACTIVE = "active", "Active"
    ENDED = "ended", "Ended"
    REPLACED = "replaced", "Replaced by another plan"


class AccountSupportPlan(models.Model):
    """An account's support plan. Digital rows follow the subscription (no end date); Premier
    and Signature rows are activated by staff from an accepted quote for a 12-month term and
    renewed by staff. A row is in effect while active and ``starts_on <= today < ends_on``."""

    account = models.ForeignKey(
        "accounts.Account", on_delete=models.CASCADE, related_name="support_plans"
    )
    plan = models.ForeignKey(SupportPlan, on_delete=models.PROTECT, related_name="+")
    state = models.CharField(
        max_length=10, choices=SupportPlanState.choices, default=SupportPlanState.ACTIVE
    )
    starts_on = models.DateField()
    ends_on = models.DateField(
        null=True, blank=True, help_text="the end of the term (exclusive); empty for Digital"
    )
    quote = models.ForeignKey(
        "billing.Quote", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text="the accepted quote it was activated from",
    )
    csm = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        limit_choices_to={"is_staff": True}, verbose_name="customer success manager",
    )
    tam = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        limit_choices_to={"is_staff": True}, verbose_name="technical account manager",
    )
    created_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "account support plan"
        constraints = [
            # One active row per plan per account: the hook and a staff action racing to give
            # Digital twice, or two staff activating the same plan, leave one row.
            models.UniqueConstraint(
                fields=["account", "plan"], condition=models.Q(state="active"),
                name="one_active_support_plan_per_account_plan",
            ),
            # A quote activates one support plan, once.
            models.UniqueConstraint(
                fields=["quote"], condition=models.Q(quote__isnull=False),
                name="one_support_plan_per_quote",
            ),
            models.CheckConstraint(
                condition=models.Q(ends_on__isnull=True) | models.Q(ends_on__gt=models.F("starts_on")),
                name="support_plan_ends_after_start",
            ),
        ]
        indexes = [models.Index(fields=["account", "state"])]

    def __str__(self):
        return f"{self.plan} for {self.account}"

    def in_effect_on(self, day):
        return (
            self.state == SupportPlanState.ACTIVE
            and self.starts_on <= day
            and (self.ends_on is None or day < self.ends_on)
        )


class EntitlementUse(models.Model):
    """The ledger of counted entitlements: one row per use, recorded by staff. What is left is
    derived from it, per 12-month period counted from the support plan's start."""

    account = models.ForeignKey(
        "accounts.Account", on_delete=models.CASCADE, related_name="entitlement_uses"
    )
    support_plan = models.ForeignKey(
        AccountSupportPlan, on_delete=models.PROTECT, related_name="entitlement_uses"
    )
    kind = models.CharField(max_length=30, choices=EntitlementKind.choices)
    quantity = models.PositiveSmallIntegerField(
        default=1, help_text="hours for integration support; otherwise 1"
    )
    voucher_kind = models.CharField(
        max_length=20, choices=VoucherKind.choices, blank=True,
        help_text="which training a voucher was used for",
    )
    note = models.CharField(max_length=300, blank=True)
    used_on = models.DateField()
    recorded_by = models.ForeignKey(
        "accounts.User", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-used_on", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gte=1), name="entitlement_use_positive"),
            models.CheckConstraint(
                condition=(
                    models.Q(kind="training_voucher") & ~models.Q(voucher_kind="")
                    | ~models.Q(kind="training_voucher") & models.Q(voucher_kind="")
                ),
                name="voucher_kind_only_on_vouchers",
            ),
        ]
        indexes = [models.Index(fields=["support_plan", "kind", "used_on"])]

    def __str__(self):
        return f"{self.quantity} {self.get_kind_display()} on {self.used_on}"


class CaseSeverity(models.TextChoices):
    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


class CaseChannel(models.TextChoices):
    EMAIL = "email", "Email"
    CHAT = "chat", "Live chat"
    PHONE_AND_REMOTE = "phone_and_remote", "Phone and remote"


class CaseState(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


class SupportCase(models.Model):
    """A customer's support case. Its first-response due time is fixed when it is opened, from
    the target and coverage hours of the support plan in effect then."""

    account = models.ForeignKey(
        "accounts.Account", on_delete=models.CASCADE, related_name="support_cases"
    )
    plan = models.ForeignKey(
        SupportPlan, on_delete=models.PROTECT, related_name="+",
        help_text="the support plan in effect when the case was opened",
    )
    subject = models.CharField(max_length=200)
    description = models.TextField()
    severity = models.CharField(max_length=10, choices=CaseSeverity.choices, default=CaseSeverity.NORMAL)
    channel = models.CharField(max_length=20, choices=CaseChannel.choices, default=CaseChannel.EMAIL)
    state = models.CharField(max_length=10, choices=CaseState.choices, default=CaseState.OPEN)
    opened_by = models.ForeignKey(
        "accounts.User", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    opened_at = models.DateTimeField(default=timezone.now)
    first_response_due_at = models.DateTimeField()
    first_response_at = models.DateTimeField(null=True, blank=True)
    breached_at = models.DateTimeField(
        null=True, blank=True, help_text="set by flag_support_breaches when the target was missed"
    )
    assigned_to = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        limit_choices_to={"is_staff": True},
    )
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        indexes = [
            models.Index(fields=["account", "-opened_at"]),
            models.Index(
                fields=["first_response_due_at"],
                condition=models.Q(first_response_at__isnull=True, breached_at__isnull=True),
                name="support_case_awaiting_reply",
            ),
        ]

    def __str__(self):
        return f"#{self.pk} {self.subject}"

    @property
    def is_open(self):
        return self.state == CaseState.OPEN


class CaseReply(models.Model):
    """A message on a case, by our staff or by the customer."""

    case = models.ForeignKey(SupportCase, on_delete=models.CASCADE, related_name="replies")
    author = models.ForeignKey("accounts.User", null=True, on_delete=models.SET_NULL, related_name="+")
    by_staff = models.BooleanField(default=False)
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = "case replies"

    def __str__(self):
        return f"reply on case {self.case_id}"


class SupportQuote(Quote):
    """Billing's quotes for Premier and Signature, seen from the support admin, where staff
    activate the support plan of an accepted one."""

    class Meta:
        proxy = True
        verbose_name = "Premier/Signature quote"
