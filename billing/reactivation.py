"""Reactivation (issue 15): an account that moved to Free after paying is offered its last paid
plan and licenses back in one step: they go into the cart, priced as a new annual term, and the
Admin pays there as for any purchase (the cart's rules and checkout apply unchanged)."""

from dataclasses import dataclass

from accounts.services import ServiceError
from billing import cart as carts
from billing.models import LicenseEvent, LicenseLedger, Plan

# The ledger events of a paid subscription (the trial's own rows are not a paid plan).
PAID_EVENTS = [LicenseEvent.PROVISIONED, LicenseEvent.PURCHASE, LicenseEvent.QUOTE,
               LicenseEvent.RENEWAL, LicenseEvent.STAFF]


@dataclass(frozen=True)
class ReactivationOffer:
    plan: Plan
    licenses: int


def reactivation_offer(*, subscription) -> ReactivationOffer | None:
    """The last paid plan and licenses of a subscription that is now on Free, from its license
    ledger (one query, two when there is an offer); None when it is not on Free or never paid.
    A legacy plan is not sold again: nobody can newly buy it (PRODUCT.md)."""
    if subscription is None or subscription.plan.is_paid:
        return None
    row = (
        LicenseLedger.objects.filter(subscription=subscription, event__in=PAID_EVENTS)
        .exclude(plan_code=subscription.plan.code).order_by("-created_at", "-id").first()
    )
    if row is None:
        return None
    plan = Plan.objects.filter(code=row.plan_code, is_paid=True, is_sold=True).first()
    if plan is None:
        return None
    return ReactivationOffer(plan=plan, licenses=max(row.licenses, plan.min_licenses))


def reactivation_to_cart(*, account, subscription, actor):
    """Puts the offer into the account's cart (replacing what was there); the cart's own rules
    check it. Returns the cart."""
    offer = reactivation_offer(subscription=subscription)
    if offer is None:
        raise ServiceError("This account has no paid plan to reactivate: choose one in the cart.")
    cart = carts.cart_open(account=account, actor=actor)
    carts.cart_update(cart=cart, plan_code=offer.plan.code, licenses=offer.licenses, addon_codes=[],
                      actor=actor)
    return cart
