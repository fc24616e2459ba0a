"""Discounts that end, and coupons (issue 14, item 6). Imported by ``billing.models`` (the app's
models module), kept apart so that no billing module grows past about 500 lines.

A ``Discount`` is a percentage an account gets on some lines (every line, one plan, one add-on)
from a day, until a day or for a number of terms (stored as the day it ends). Staff make them
in the admin; a coupon redeemed with a purchase makes one. The account's standing discount
(``BillingProfile.discount_percent``, e.g. nonprofit) stays as it was, with a yearly review.
"""

from django.db import models
from django.utils import timezone

from accounts.models import Account


class DiscountScope(models.TextChoices):
    ALL = "all", "Every line"
    PLAN = "plan", "One plan's lines"
    ADDON = "addon", "One add-on's lines"


class Coupon(models.Model):
    """A code staff create and an Admin enters in the cart: a percentage (for the purchase and,
    with ``duration_terms``, that many terms in all) or a fixed amount off the purchase."""

    code = models.CharField(max_length=40, unique=True, help_text="what the customer types; stored upper-case")
    name = models.CharField(max_length=100, help_text="shown on the cart and the invoice")
    percent = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    amount_off_cents = models.PositiveIntegerField(null=True, blank=True, help_text="a fixed amount off the purchase")
    scope = models.CharField(max_length=10, choices=DiscountScope.choices, default=DiscountScope.ALL)
    scope_code = models.CharField(max_length=40, blank=True, help_text="the plan or add-on code for a scoped coupon")
    duration_terms = models.PositiveSmallIntegerField(
        default=1, help_text="percent coupons: annual terms it discounts, the purchase's included (1: that term only)"
    )
    max_redemptions = models.PositiveIntegerField(null=True, blank=True, help_text="empty: no limit")
    expires_at = models.DateTimeField(null=True, blank=True, help_text="last moment it can be entered")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        app_label = "billing"
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(percent__isnull=False, amount_off_cents__isnull=True, percent__gt=0,
                                    percent__lte=100)
                           | models.Q(percent__isnull=True, amount_off_cents__isnull=False, amount_off_cents__gt=0)),
                name="coupon_is_a_percent_or_an_amount",
            ),
        ]

    def __str__(self):
        return self.code

    def save(self, *args, **kwargs):
        self.code = (self.code or "").strip().upper()
        super().save(*args, **kwargs)


class CouponRedemption(models.Model):
    """A coupon used by an account, with the order it was used on: once per account."""

    coupon = models.ForeignKey(Coupon, on_delete=models.PROTECT, related_name="redemptions")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="coupon_redemptions")
    order = models.OneToOneField("billing.Order", on_delete=models.PROTECT, related_name="coupon_redemption")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        app_label = "billing"
        constraints = [
            models.UniqueConstraint(fields=["coupon", "account"], name="one_redemption_per_coupon_and_account"),
        ]


class Discount(models.Model):
    """An account's discount over a period: ``starts_on`` <= day < ``ends_on`` (open-ended when
    empty), on the lines its scope names. The cart, the quotes and the renewal price with the
    ones in effect on the day they price (``billing.discounts.discount_rules_for``)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="discounts")
    name = models.CharField(max_length=100, help_text="shown on the cart and the invoice")
    percent = models.DecimalField(max_digits=5, decimal_places=2)
    scope = models.CharField(max_length=10, choices=DiscountScope.choices, default=DiscountScope.ALL)
    scope_code = models.CharField(max_length=40, blank=True)
    starts_on = models.DateField(default=timezone.localdate)
    ends_on = models.DateField(null=True, blank=True, help_text="the first day it no longer applies; empty: no end")
    reason = models.CharField(max_length=200, blank=True)
    coupon = models.ForeignKey(Coupon, null=True, blank=True, on_delete=models.PROTECT, related_name="discounts")
    created_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        app_label = "billing"
        ordering = ["starts_on", "pk"]
        indexes = [models.Index(fields=["account", "starts_on"])]
        constraints = [
            models.CheckConstraint(condition=models.Q(percent__gt=0, percent__lte=100), name="discount_percent_in_range"),
            models.CheckConstraint(
                condition=models.Q(ends_on__isnull=True) | models.Q(ends_on__gt=models.F("starts_on")),
                name="discount_ends_after_it_starts",
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.percent}%)"
