from datetime import timedelta
from decimal import Decimal

from django.db.models import F, Prefetch, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import Account
from billing import pricing
from billing.models import SubscriptionAddOn, SubscriptionState
from licensing.compliance import compliance_state_expression
from support.selectors import support_included, support_plan_annotations

# States in which a subscription earns its yearly price (a cancelled one still does until the
# anniversary).
EARNING_STATES = [SubscriptionState.ACTIVE, SubscriptionState.PAST_DUE, SubscriptionState.CANCELLED]


def accounts_with_metrics(queryset=None):
    """Accounts annotated with what the staff changelist and dashboard show, in a constant number
    of queries: no count over tracked users (``used`` is licensing's maintained counter), the
    subscriptions' add-ons prefetched for their ARR."""
    queryset = queryset if queryset is not None else Account.objects.all()
    return (
        queryset.select_related("subscription__plan", "licensing", "billing_profile")
        .prefetch_related(Prefetch("subscription__addons",
                                   queryset=SubscriptionAddOn.objects.select_related("addon")))
        .annotate(
            used_count=Coalesce(F("licensing__used"), Value(0)),
            # As it is now, not as the hourly job last wrote it (licensing.compliance).
            compliance_now=compliance_state_expression(prefix="licensing__"),
            **support_plan_annotations(),
        )
    )


def _yearly_price_cents(subscription, discount_percent):
    """What the subscription's renewal would bill, by billing's one line builder (each line
    rounded once): licenses x the plan, plus each add-on at the price it was sold at."""
    return pricing.yearly_price_cents(
        plan=subscription.plan, licenses=subscription.licenses, discount_percent=discount_percent,
        addons=[pricing.addon_price(row.addon, quoted_unit_cents=row.unit_price_cents)
                for row in subscription.addons.all()],
    )


def annual_recurring_revenue_cents(account):
    """The yearly price the account pays now (its renewal's total, discount included); 0 for
    Free, trials and ended subscriptions."""
    subscription = getattr(account, "subscription", None)
    if subscription is None or not subscription.plan.is_paid or subscription.state not in EARNING_STATES:
        return 0
    profile = getattr(account, "billing_profile", None)
    return _yearly_price_cents(subscription, profile.discount_percent if profile else Decimal(0))


def trials_ending_within(days=7):
    now = timezone.now()
    return dict(
        subscription__state=SubscriptionState.TRIALING,
        subscription__trial_ends_at__gte=now,
        subscription__trial_ends_at__lt=now + timedelta(days=days),
    )


def arr_by_plan_cents():
    """ARR per plan name: the sum of each earning subscription's yearly price as its renewal
    would bill it (``billing.pricing``), read in chunks (the daily metrics job calls it)."""
    from billing.models import Subscription

    totals = {}
    subscriptions = (
        Subscription.objects.filter(plan__is_paid=True, state__in=EARNING_STATES)
        .select_related("plan", "account__billing_profile")
        .prefetch_related(Prefetch("addons", queryset=SubscriptionAddOn.objects.select_related("addon")))
        .order_by("pk")
    )
    for subscription in subscriptions.iterator(chunk_size=2000):
        profile = getattr(subscription.account, "billing_profile", None)
        cents = _yearly_price_cents(subscription, profile.discount_percent if profile else Decimal(0))
        totals[subscription.plan.name] = totals.get(subscription.plan.name, 0) + cents
    return dict(sorted(totals.items()))


def accounts_by_state():
    """How many accounts are in good standing, in grace, blocked; and how many trials."""
    from django.db.models import Count

    from billing.models import Subscription
    from licensing.models import AccountLicensing

    counts = dict(
        AccountLicensing.objects.annotate(now_state=compliance_state_expression())
        .values_list("now_state").annotate(n=Count("pk")).values_list("now_state", "n")
    )
    total = Account.objects.count()
    grace, blocked = counts.get("grace", 0), counts.get("blocked", 0)
    return {
        "ok": total - grace - blocked,
        "grace": grace,
        "blocked": blocked,
        "trialing": Subscription.objects.filter(state=SubscriptionState.TRIALING).count(),
        "past_due": Subscription.objects.filter(state=SubscriptionState.PAST_DUE).count(),
    }


def support_plan_label(account):
    """The support plan column: the sold plan in effect, else Digital when the subscription
    includes it (support's one rule), else none."""
    if getattr(account, "sold_support_plan", None):
        return account.sold_support_plan
    subscription = getattr(account, "subscription", None)
    return "Digital" if support_included(subscription=subscription) else "-"
