from django.db import models


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
