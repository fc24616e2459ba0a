"""The account's billing profile as staff set it: its discount (with a reason) and whether it may
pay by invoice; add-on prices kept from their quote."""

from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.db import transaction
from django.utils import timezone

from accounts.services import ServiceError, audit_record
from billing.models import (
    BillingProfile,
)
from billing.subscriptions import (  # noqa: F401 (callers import them from here too)
    license_ledger_record,
    notify_subscription_changed,
    subscription_refresh_payment_state,
)


def discount_percent_for(*, account):
    """The account's discount (e.g. nonprofit), 0 when staff set none."""
    profile = BillingProfile.objects.filter(account=account).first()
    return profile.discount_percent if profile else Decimal("0")


def discount_problem(*, percent, reason):
    """Why a discount cannot be set, or None. The admin's form shows the same words."""
    if percent is None or not Decimal(0) <= percent <= Decimal(100):
        return "A discount is between 0 and 100 percent."
    if percent and not (reason or "").strip():
        return "Say why the account gets a discount (e.g. nonprofit)."
    return None


def billing_profile_set_discount(*, account, percent, reason, actor):
    """Staff set the account's discount (e.g. 20% nonprofit); the cart and the renewals apply it
    to every line, and every line records it."""
    try:
        percent = Decimal(str(percent)).quantize(Decimal("0.01"))
    except ArithmeticError:
        raise ServiceError(f"{percent!r} is not a percentage.") from None
    reason = (reason or "").strip()
    problem = discount_problem(percent=percent, reason=reason)
    if problem:
        raise ServiceError(problem)
    with transaction.atomic():
        BillingProfile.objects.get_or_create(account=account)
        profile = BillingProfile.objects.select_for_update().get(account=account)
        before = {"discount_percent": str(profile.discount_percent),
                  "discount_reason": profile.discount_reason}
        profile.discount_percent = percent
        profile.discount_reason = reason if percent else ""
        # Reviewed yearly (a nonprofit is still one?): staff see it due on their dashboard.
        profile.discount_review_on = timezone.localdate() + relativedelta(years=1) if percent else None
        profile.save(update_fields=["discount_percent", "discount_reason", "discount_review_on"])
        audit_record(
            account=account, actor=actor, kind="billing.discount_set",
            summary=f"Discount set to {percent}%" + (f" ({reason})" if percent else ""),
            before=before,
            after={"discount_percent": str(percent), "discount_reason": profile.discount_reason},
            reason=reason,
        )
    return profile


def billing_profile_set_invoice_eligible(*, account, eligible, actor, reason=""):
    """Staff allow (or stop) paying by invoice, net 30."""
    with transaction.atomic():
        BillingProfile.objects.get_or_create(account=account)
        profile = BillingProfile.objects.select_for_update().get(account=account)
        if profile.invoice_eligible == eligible:
            return profile
        profile.invoice_eligible = eligible
        profile.save(update_fields=["invoice_eligible"])
        audit_record(
            account=account, actor=actor, kind="billing.invoice_eligible_set",
            summary=f"May pay by invoice: {'yes' if eligible else 'no'}",
            before={"invoice_eligible": not eligible}, after={"invoice_eligible": eligible},
            reason=reason,
        )
    return profile
