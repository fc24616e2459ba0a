from dataclasses import dataclass
from functools import cached_property

from django.db.models import Count, Exists, OuterRef, Subquery

from billing.catalogue_signals import catalogue_cached
from billing.credits import credit_offered_cents, credit_total
from billing.models import (
    AddOn,
    Cart,
    Invoice,
    InvoiceState,
    Order,
    Plan,
    Quote,
    QuoteState,
    Subscription,
    SubscriptionState,
)
from billing.pricing import subscription_addon_prices
from billing.terms import CANCELLATION_NOTICE_DAYS, NET_DAYS, TRIAL_DAYS, TRIAL_PLAN_CODE


def subscription_for(*, account):
    """The account's subscription with its plan, in one query."""
    return Subscription.objects.select_related("plan").filter(account=account).first()


def sold_plans():
    return Plan.objects.filter(is_sold=True).prefetch_related("eligible_addons")


def legacy_plans():
    return Plan.objects.filter(is_sold=False)


def open_cart(*, account):
    """The account's cart not yet paid (none, or its last attempt declined), if any."""
    return Cart.objects.filter(account=account, is_open=True).select_related("plan", "coupon").first()


def invoices_for(*, account):
    return Invoice.objects.filter(account=account).select_related("series").order_by("-issued_at", "-pk")


def billing_parties(*, account):
    """(billing profile, billing details, account credit balance in cents) of the account in one
    query; None for a missing profile or details."""
    from accounts.models import Account

    row = (Account.objects.select_related("billing_profile", "billing_details")
           .annotate(credit_total=credit_total("pk")).get(pk=account.pk))
    return (getattr(row, "billing_profile", None), getattr(row, "billing_details", None),
            credit_offered_cents(row.credit_total))


@dataclass(frozen=True)
class BillingPage:
    """What the Billing page reads about the account, in one query: the subscription (with its
    plan and its scheduled change, whether an invoice is past due and the open quotes, for the
    renewal panel), the billing profile and details, and the account credit balance."""

    subscription: Subscription | None
    profile: object  # BillingProfile or None
    details: object  # BillingDetails or None
    credit_balance_cents: int


def billing_page(*, account):
    subscription = (
        _lifecycle_subscriptions().select_related("account__billing_profile", "account__billing_details")
        .annotate(credit_total=credit_total()).filter(account=account).first()
    )
    if subscription is None:  # made neither by sign-up nor by provisioning: the parties alone
        return BillingPage(None, *billing_parties(account=account))
    row = subscription.account
    return BillingPage(subscription, getattr(row, "billing_profile", None), getattr(row, "billing_details", None),
                       credit_offered_cents(subscription.credit_total))


def _lifecycle_subscriptions():
    """Subscriptions as the renewal panel reads them: plan, scheduled change (with its plan and
    who asked), whether an invoice of the account is past due, its open quotes."""
    open_quotes = (
        Quote.objects.filter(account=OuterRef("account"))
        .exclude(state__in=[QuoteState.FULFILLED, QuoteState.DECLINED])
        .order_by().values("account").annotate(n=Count("pk")).values("n")
    )
    return (
        Subscription.objects.select_related("plan", "scheduled_change__plan", "scheduled_change__requested_by")
        .annotate(past_due=Exists(Invoice.objects.filter(account=OuterRef("account"), state=InvoiceState.PAST_DUE)),
                  open_quotes=Subquery(open_quotes))
    )


def lifecycle_subscription(*, account):
    """The account's subscription as the renewal panel reads it (``billing_page`` reads the
    same), or None."""
    return _lifecycle_subscriptions().filter(account=account).first()


def catalogue_plans():
    """Every plan (the model's order), from the catalogue cache until staff edit one."""
    return catalogue_cached("plans", lambda: list(Plan.objects.all()))


def cart_catalogue():
    """(the plans on sale, every add-on with its eligible plans) for the cart, from the catalogue
    cache until staff edit the catalogue."""
    return catalogue_cached("cart", lambda: (
        list(Plan.objects.filter(is_sold=True)), list(AddOn.objects.prefetch_related("eligible_plans")),
    ))


def orders_for(*, account):
    return Order.objects.filter(account=account).order_by("-created_at", "-pk")


def subscription_addons(*, subscription):
    """The subscription's add-ons, each at the price per user per year it was sold at
    (``billing.pricing.AddOnPrice``: a quote's, else the list price)."""
    return subscription_addon_prices(subscription)


def has_past_due_invoice(*, account):
    return Invoice.objects.filter(account=account, state=InvoiceState.PAST_DUE).exists()


@dataclass(frozen=True)
class CatalogueTerms:
    """The catalogue's numbers that pages, messages and emails name ("at least 5 licenses",
    "Free: 3 users", "a 14-day grace period"): read from the plans staff edit, never written
    into a template (PRODUCT.md: the catalogue is data)."""

    min_licenses: int  # the smallest minimum of the paid plans on sale
    grace_period_days: int  # the shortest grace period of the paid plans on sale
    free_max_users: int | None
    free_data_history: str
    trial_days: int
    trial_plan_name: str
    # The product's fixed terms (billing.terms), named on pages and in emails from here too.
    net_days: int = NET_DAYS
    cancellation_notice_days: int = CANCELLATION_NOTICE_DAYS


def catalogue_terms():
    """One query for the plans; the trial's length is the sign-up rule's constant."""
    plans = list(Plan.objects.all())
    paid = [p for p in plans if p.is_paid and p.is_sold] or [p for p in plans if p.is_paid]
    free = next((p for p in plans if not p.is_paid), None)
    trial_plan = next((p for p in plans if p.code == TRIAL_PLAN_CODE), None)
    return CatalogueTerms(
        min_licenses=min((p.min_licenses for p in paid), default=1),
        grace_period_days=min((p.grace_period_days for p in paid), default=0),
        free_max_users=free.max_users if free else None,
        free_data_history=free.data_history_label if free else "",
        trial_days=TRIAL_DAYS,
        trial_plan_name=trial_plan.name if trial_plan else TRIAL_PLAN_CODE,
    )


# --- what a subscription entitles the account to (issue 12, item 6) ----------------------------

SCREEN_DETAILS_CODE = "screen_details"
ACTIVCONNECT_CODE = "activconnect"
DATA_HISTORY_CODE = "data_history"


class Entitlements:
    """What the account's subscription gives it now. Licensing, support, staff (and the API
    apps) ask this instead of testing subscription states and add-on codes themselves. The
    add-on answers read the subscription's add-ons only when asked (one query, or none when
    they were prefetched or joined)."""

    def __init__(self, *, has_subscription, state="", plan_is_paid=False, term_end=None, codes=None):
        self.has_subscription = has_subscription
        self.trial = state == SubscriptionState.TRIALING  # on its trial
        self.ended = state == SubscriptionState.ENDED
        # On a paid plan, past its trial (merging users, co-termed purchases).
        self.paid = bool(plan_is_paid) and not self.trial and not self.ended
        self.on_term = self.paid and term_end is not None  # a paid annual term is running
        self._codes = codes

    @cached_property
    def addon_codes(self) -> list:
        return list(self._codes() if callable(self._codes) else (self._codes or []))

    @property
    def screen_details(self) -> bool:
        return SCREEN_DETAILS_CODE in self.addon_codes

    @property
    def activconnect(self) -> bool:
        return ACTIVCONNECT_CODE in self.addon_codes

    @property
    def data_history_units(self) -> int:
        return self.addon_codes.count(DATA_HISTORY_CODE)

    @property
    def paid_or_trial(self) -> bool:
        """Support's Digital plan, and the grace period, come with these (PRODUCT.md)."""
        return (self.paid or self.trial) and not self.ended

    def _key(self):
        return (self.has_subscription, self.trial, self.ended, self.paid, self.on_term, sorted(self.addon_codes))

    def __eq__(self, other):
        return isinstance(other, Entitlements) and self._key() == other._key()

    __hash__ = None


NO_ENTITLEMENTS = Entitlements(has_subscription=False)


def entitlements(*, subscription) -> Entitlements:
    """From a subscription with its plan loaded (its add-ons read when asked)."""
    if subscription is None:
        return NO_ENTITLEMENTS
    return Entitlements(
        has_subscription=True, state=subscription.state, plan_is_paid=subscription.plan.is_paid,
        term_end=subscription.term_end,
        codes=lambda: [row.addon.code for row in subscription.addons.all()] if subscription.pk else [],
    )


def entitlements_for(*, account) -> Entitlements:
    """The account's entitlements in one query (a row per add-on, joined): the check-in's
    privacy rule asks it for every batch that carries activity."""
    rows = list(
        Subscription.objects.filter(account=account)
        .values_list("state", "plan__is_paid", "term_end", "addons__addon__code")
    )
    if not rows:
        return NO_ENTITLEMENTS
    state, plan_is_paid, term_end, _ = rows[0]
    return Entitlements(has_subscription=True, state=state, plan_is_paid=plan_is_paid, term_end=term_end,
                        codes=[code for *_, code in rows if code])
