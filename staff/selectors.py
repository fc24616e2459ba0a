from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import F, IntegerField, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import Account
from billing.models import SubscriptionAddOn, SubscriptionState
from licensing.compliance import compliance_state_expression
from support.selectors import support_included, support_plan_annotations

# States in which a subscription earns its yearly price (a cancelled one still does until the
# anniversary).
EARNING_STATES = [SubscriptionState.ACTIVE, SubscriptionState.PAST_DUE, SubscriptionState.CANCELLED]


def addon_yearly_cents_per_user(**subscription_filter):
    """A subquery: the per-user yearly price of a subscription's add-ons, each at the price it
    was sold at (a quote's), else its list price x 12, as ``billing.pricing`` prices them."""
    return Coalesce(
        Subquery(
            SubscriptionAddOn.objects.filter(**subscription_filter)
            .values("subscription")
            .annotate(total=Sum(Coalesce(
                "unit_price_cents", F("addon__price_per_user_month_cents") * 12, Value(0)
            )))
            .values("total"),
            output_field=IntegerField(),
        ),
        Value(0),
    )


def accounts_with_metrics(queryset=None):
    """Accounts annotated with what the staff changelist and dashboard show, in one query:
    no count over tracked users (``used`` is licensing's maintained counter)."""
    queryset = queryset if queryset is not None else Account.objects.all()
    return queryset.select_related("subscription__plan", "licensing", "billing_profile").annotate(
        addon_cents_per_user_year=addon_yearly_cents_per_user(subscription__account=OuterRef("pk")),
        used_count=Coalesce(F("licensing__used"), Value(0)),
        # As it is now, not as the hourly job last wrote it (licensing.compliance).
        compliance_now=compliance_state_expression(prefix="licensing__"),
        **support_plan_annotations(),
    )


def annual_recurring_revenue_cents(account):
    """The yearly price the account pays now: licenses x (plan x 12 + its per-user add-ons'
    yearly prices), less its discount; 0 for Free, trials and ended subscriptions."""
    subscription = getattr(account, "subscription", None)
    if subscription is None or not subscription.plan.is_paid or subscription.state not in EARNING_STATES:
        return 0
    per_user = subscription.plan.price_per_user_month_cents * 12 + getattr(account, "addon_cents_per_user_year", 0)
    gross = Decimal(subscription.licenses) * per_user
    profile = getattr(account, "billing_profile", None)
    discount = profile.discount_percent if profile else Decimal(0)
    return int((gross * (100 - discount) / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def trials_ending_within(days=7):
    now = timezone.now()
    return dict(
        subscription__state=SubscriptionState.TRIALING,
        subscription__trial_ends_at__gte=now,
        subscription__trial_ends_at__lt=now + timedelta(days=days),
    )


def arr_by_plan_cents():
    """ARR per plan name, summed in the database. Discounts are applied per account; the sum is
    rounded to cents once per plan."""
    from django.db.models import DecimalField, ExpressionWrapper

    from billing.models import Subscription

    yearly = ExpressionWrapper(
        F("licenses")
        * (F("plan__price_per_user_month_cents") * 12 + addon_yearly_cents_per_user(subscription=OuterRef("pk")))
        * (Value(100) - Coalesce(F("account__billing_profile__discount_percent"), Value(Decimal(0))))
        / Value(100),
        output_field=DecimalField(max_digits=20, decimal_places=4),
    )
    rows = (
        Subscription.objects.filter(plan__is_paid=True, state__in=EARNING_STATES)
        .values("plan__name")
        .annotate(arr=Sum(yearly))
        .order_by("plan__name")
    )
    return {
        row["plan__name"]: int(Decimal(row["arr"] or 0).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        for row in rows
    }


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
