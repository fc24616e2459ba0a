"""Discounts that end, and coupons (issue 14, item 6): which discounts are in effect on a day,
and what a coupon entered in the cart does.

- The account's standing discount (``BillingProfile``: e.g. nonprofit 20 %, every line) is a rule
  named by its reason; staff review it yearly (``discount_review_on``, listed when due).
- ``Discount`` rows (staff's, or a coupon's) apply from ``starts_on`` to the day before
  ``ends_on`` on the lines their scope names. "For N terms" is stored as the day it ends.
- A coupon is checked when the Admin enters it (``coupon_find``), priced into the cart as a rule
  (a percentage) or a line (an amount off), and redeemed once per account when its order takes
  effect (``coupon_redeem``): a percentage coupon for more than one term leaves a ``Discount``
  that the renewals apply until it ends.
The cart, the quotes and the renewal ask ``discount_rules_for`` for the day they price; lines
record each discount by name.
"""

from datetime import date
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.services import audit_record
from billing.models import BillingProfile, Coupon, CouponRedemption, Discount, DiscountScope
from billing.pricing import DiscountRule

STANDING_NAME = "Account discount"
# A standing discount (nonprofit) is reviewed a year after it is set, and yearly after that.
REVIEW_AFTER = relativedelta(years=1)


def standing_rule(profile) -> DiscountRule | None:
    if profile is None or not profile.discount_percent:
        return None
    name = (profile.discount_reason or STANDING_NAME).strip()
    return DiscountRule(name=name[:1].upper() + name[1:], percent=Decimal(profile.discount_percent))


def rule_of(discount: Discount) -> DiscountRule:
    return DiscountRule(name=discount.name, percent=Decimal(discount.percent), scope=discount.scope,
                        scope_code=discount.scope_code)


def in_effect(discount: Discount, day: date) -> bool:
    return discount.starts_on <= day and (discount.ends_on is None or day < discount.ends_on)


def rules_from(*, profile, discounts, day: date, standing: bool = True) -> tuple[DiscountRule, ...]:
    """Pure: the rules in effect on ``day`` from a profile and the account's Discount rows."""
    rules = [rule_of(d) for d in discounts if in_effect(d, day)]
    first = standing_rule(profile) if standing else None
    return tuple([first] if first else []) + tuple(rules)


_UNSET = object()


def discount_rules_on(*, account, days, standing: bool = True, profile=_UNSET) -> list[tuple[DiscountRule, ...]]:
    """Every discount of the account in effect on each of ``days`` (two queries in all; one when
    the caller has the billing profile already)."""
    account_id = getattr(account, "pk", account)
    if profile is _UNSET:
        profile = BillingProfile.objects.filter(account_id=account_id).first() if standing else None
    first, last = min(days), max(days)
    discounts = list(Discount.objects.filter(account_id=account_id, starts_on__lte=last).filter(
        Q(ends_on__isnull=True) | Q(ends_on__gt=first)
    ))
    return [rules_from(profile=profile, discounts=discounts, day=day, standing=standing) for day in days]


def discount_rules_for(*, account, day: date | None = None, standing: bool = True) -> tuple[DiscountRule, ...]:
    """Every discount of the account in effect on ``day`` (two queries)."""
    [rules] = discount_rules_on(account=account, days=[day or timezone.localdate()], standing=standing)
    return rules


# --- coupons ---------------------------------------------------------------------------------------


def coupon_problem(coupon: Coupon | None, *, account, plan_code: str, addon_codes, now=None) -> str:
    """Why this coupon cannot be used on this cart, or "" (the cart form shows it)."""
    now = now or timezone.now()
    if coupon is None or not coupon.is_active:
        return "This coupon code is not valid: check its spelling."
    if coupon.expires_at is not None and now > coupon.expires_at:
        return f"This coupon expired on {timezone.localtime(coupon.expires_at):%-d %B %Y}."
    if coupon.max_redemptions is not None and coupon.redemptions.count() >= coupon.max_redemptions:
        return "This coupon has been used as many times as it can be."
    if CouponRedemption.objects.filter(coupon=coupon, account=account).exists():
        return "Your account has used this coupon already."
    if coupon.scope == DiscountScope.PLAN and coupon.scope_code != plan_code:
        return "This coupon is for another plan."
    if coupon.scope == DiscountScope.ADDON and coupon.scope_code not in set(addon_codes):
        return "This coupon is for an add-on this cart does not hold."
    return ""


def coupon_find(code: str) -> Coupon | None:
    code = (code or "").strip().upper()
    return Coupon.objects.filter(code=code).first() if code else None


def coupon_rules(coupon: Coupon | None) -> tuple[DiscountRule, ...]:
    """A percentage coupon as a pricing rule (an amount off is a line: pricing.amount_off_line)."""
    if coupon is None or coupon.percent is None:
        return ()
    return (DiscountRule(name=coupon.name, percent=Decimal(coupon.percent), scope=coupon.scope,
                         scope_code=coupon.scope_code),)


def coupon_redeem(*, order, actor):
    """Called when a cart order takes effect, in its transaction: the coupon the order was priced
    with is used once by the account; a percentage coupon for more than one term leaves a
    Discount until the end of its last term. Idempotent (one redemption per order)."""
    code = (order.purchase or {}).get("coupon")
    if not code or CouponRedemption.objects.filter(order=order).exists():
        return None
    coupon = Coupon.objects.select_for_update().filter(code=code).first()
    if coupon is None:
        return None
    # The limit was checked when the coupon was entered and when the order was placed; a
    # customer who paid at that price keeps it even if another redemption won the last use.
    redemption, created = CouponRedemption.objects.get_or_create(
        coupon=coupon, account=order.account, defaults={"order": order}
    )
    if not created:
        return redemption
    if coupon.percent is not None and coupon.duration_terms > 1:
        term_end = date.fromisoformat(order.purchase["term_end"])
        Discount.objects.create(
            account=order.account, name=coupon.name, percent=coupon.percent, scope=coupon.scope,
            scope_code=coupon.scope_code, starts_on=term_end,
            ends_on=term_end + relativedelta(years=coupon.duration_terms - 1), coupon=coupon,
            reason=f"coupon {coupon.code}, order {order.pk}", created_by=actor.user,
        )
    audit_record(
        account=order.account, actor=actor, kind="billing.coupon_redeemed",
        summary=f"Coupon {coupon.code} used on order {order.pk}",
        after={"coupon": coupon.code, "order": order.pk, "terms": coupon.duration_terms},
    )
    return redemption


# --- staff ------------------------------------------------------------------------------------------


def discount_problem(*, percent, scope, scope_code, starts_on, ends_on) -> str:
    if percent is None or not Decimal(0) < Decimal(percent) <= Decimal(100):
        return "A discount is more than 0 and at most 100 percent."
    if scope != DiscountScope.ALL and not (scope_code or "").strip():
        return "A scoped discount names the plan or add-on code it applies to."
    if ends_on is not None and starts_on is not None and ends_on <= starts_on:
        return "A discount ends after it starts."
    return ""


def discounts_due_for_review(*, today=None):
    """Standing discounts whose yearly review is due (the staff dashboard lists them)."""
    today = today or timezone.localdate()
    return (BillingProfile.objects.filter(discount_percent__gt=0, discount_review_on__lte=today)
            .select_related("account").order_by("discount_review_on"))


def discount_reviewed(*, account, actor, keep: bool, reason: str):
    """Staff reviewed the standing discount: kept for another year, or removed."""
    with transaction.atomic():
        profile = BillingProfile.objects.select_for_update().get(account=account)
        before = {"discount_percent": str(profile.discount_percent), "review_on": str(profile.discount_review_on)}
        if keep:
            profile.discount_review_on = timezone.localdate() + REVIEW_AFTER
        else:
            profile.discount_percent, profile.discount_reason, profile.discount_review_on = 0, "", None
        profile.save(update_fields=["discount_percent", "discount_reason", "discount_review_on"])
        audit_record(account=account, actor=actor, kind="billing.discount_reviewed",
                     summary="Discount reviewed: " + ("kept" if keep else "removed"), before=before,
                     after={"discount_percent": str(profile.discount_percent),
                            "review_on": str(profile.discount_review_on)}, reason=reason)
    return profile


