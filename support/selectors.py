from dataclasses import dataclass
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta
from django.db.models import Q, Sum
from django.utils import timezone

from billing.catalogue_signals import catalogue_cached
from billing.selectors import entitlements, subscription_for
from support.models import (
    AccountSupportPlan,
    EntitlementKind,
    EntitlementUse,
    SupportAllowance,
    SupportCase,
    SupportPlan,
    SupportPlanState,
)


def support_included(*, subscription):
    """PRODUCT.md: Digital comes with every paid subscription and the trial; nothing on Free.

    The one place that rule lives: the hook that gives and takes Digital and the selector that
    derives the plan in effect both ask it.
    """
    return entitlements(subscription=subscription).paid_or_trial


def support_catalogue():
    """The support plans, lowest first, each with its features (``plan.features.all()`` reads
    nothing more): from the cache until staff edit a support plan or a feature
    (billing/catalogue_signals.py, connected in support/apps.py), else two queries."""
    return catalogue_cached(
        "support_plans", lambda: list(SupportPlan.objects.order_by("sort_order").prefetch_related("features"))
    )


def digital_plan():
    return SupportPlan.objects.filter(included_with_paid=True).order_by("sort_order").first()


def _in_effect(rows, today):
    return rows.filter(state=SupportPlanState.ACTIVE, starts_on__lte=today).filter(
        Q(ends_on__isnull=True) | Q(ends_on__gt=today)
    )


def support_plan_annotations(*, account_ref="pk", today=None):
    """For a queryset of accounts (staff lists): the name of the sold support plan in effect
    (Premier or Signature; None means Digital or none, by ``support_included``) and its customer
    success manager's email, as subqueries: no query per row."""
    from django.db.models import OuterRef, Subquery

    today = today or timezone.localdate()
    rows = _in_effect(
        AccountSupportPlan.objects.filter(account=OuterRef(account_ref), plan__included_with_paid=False),
        today,
    ).order_by("-plan__sort_order", "-starts_on")
    return {
        "sold_support_plan": Subquery(rows.values("plan__name")[:1]),
        "success_manager": Subquery(rows.values("csm__email")[:1]),
    }


def cases_due_soon(*, hours=24, now=None, limit=10):
    """Open cases still waiting for their first staff reply, due within ``hours`` or already
    past due, the soonest first (the staff dashboard)."""
    now = now or timezone.now()
    return (
        SupportCase.objects.filter(
            state="open", first_response_at__isnull=True,
            first_response_due_at__lte=now + timedelta(hours=hours),
        )
        .select_related("account", "plan")
        .order_by("first_response_due_at")[:limit]
    )


def support_plan_current(*, account, today=None, subscription=None):
    """The support plan in effect for ``account``: its Premier or Signature term if one runs
    today, else Digital; None when the account is on Free (support plans need a paid plan).

    Accounts made before support followed the subscription hook have no Digital row: they get an
    unsaved one, so the rule still holds for them.
    """
    today = today or timezone.localdate()
    subscription = subscription or subscription_for(account=account)
    if not support_included(subscription=subscription):
        return None
    rows = (
        _in_effect(AccountSupportPlan.objects.filter(account=account), today)
        .select_related("plan", "csm", "tam")
        .order_by("-plan__sort_order", "-starts_on")
    )
    row = rows.first()
    if row is not None:
        return row
    plan = digital_plan()
    if plan is None:
        return None
    return AccountSupportPlan(account=account, plan=plan, starts_on=today)


def entitlement_period(*, starts_on, on, months=12):
    """The counting period holding ``on``: period n is [start + n*months, start + (n+1)*months).

    Counted from the support plan's start, so a plan that starts on 10 March resets its
    allowances every 10 March, whatever the calendar year does.
    """
    if on < starts_on:
        raise ValueError("the day is before the support plan started")
    elapsed = (on.year - starts_on.year) * 12 + (on.month - starts_on.month)
    n = max(elapsed // months, 0)
    # relativedelta clamps 29 February and month ends; step to the right period around them.
    while starts_on + relativedelta(months=months * (n + 1)) <= on:
        n += 1
    while n > 0 and starts_on + relativedelta(months=months * n) > on:
        n -= 1
    return (
        starts_on + relativedelta(months=months * n),
        starts_on + relativedelta(months=months * (n + 1)),
    )


@dataclass(frozen=True)
class Entitlement:
    kind: str
    label: str
    allowance: int
    used: int
    period_start: date
    period_end: date  # exclusive

    @property
    def left(self):
        return max(self.allowance - self.used, 0)

    @property
    def period_last_day(self):
        return self.period_end - timedelta(days=1)

    @property
    def unit(self):
        return "hours" if self.kind == EntitlementKind.INTEGRATION_HOURS else ""


def entitlements_remaining(*, support_plan, today=None):
    """Each counted entitlement of the plan with what is used and left in the current period.

    Two queries whatever the number of kinds: the allowances, and the ledger summed by kind.
    """
    if support_plan is None or support_plan.pk is None:
        return []
    today = today or timezone.localdate()
    allowances = list(SupportAllowance.objects.filter(plan_id=support_plan.plan_id).order_by("id"))
    if not allowances or today < support_plan.starts_on:
        return []
    periods = {
        a.kind: entitlement_period(starts_on=support_plan.starts_on, on=today, months=a.period_months)
        for a in allowances
    }
    # One sum per kind, each over its own period (all the same 12 months as seeded).
    filters = Q()
    for kind, (start, end) in periods.items():
        filters |= Q(kind=kind, used_on__gte=start, used_on__lt=end)
    used = dict(
        EntitlementUse.objects.filter(support_plan=support_plan)
        .filter(filters)
        .values_list("kind")
        .annotate(total=Sum("quantity"))
        .values_list("kind", "total")
    )
    labels = dict(EntitlementKind.choices)
    return [
        Entitlement(
            kind=a.kind, label=labels.get(a.kind, a.kind), allowance=a.quantity,
            used=used.get(a.kind) or 0, period_start=periods[a.kind][0],
            period_end=periods[a.kind][1],
        )
        for a in allowances
    ]


def cases_for(*, account):
    """The account's cases, newest first, with their plan: one query."""
    return SupportCase.objects.filter(account=account).select_related("plan")


def first_response_report(*, months=3, now=None):
    """The staff dashboard's check of the plans' promises (PRODUCT.md: the email first-response
    targets, < 4 / < 8 / < 12 hours, are averages): for each month (Central time) and support plan,
    the email cases answered, their average and p90 first-response time in email support hours
    (weekdays 8-18 CT), and the plan's target. One query; the hours are counted in Python."""
    import math

    from support.coverage import COVERAGE_TIMEZONE, WEEKDAYS, covered_hours_between

    now = now or timezone.now()
    local = now.astimezone(COVERAGE_TIMEZONE)
    first = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    for _ in range(months - 1):
        first = (first - timedelta(days=1)).replace(day=1)
    cases = (
        SupportCase.objects.filter(channel="email", opened_at__gte=first, first_response_at__isnull=False)
        .values_list("opened_at", "first_response_at", "plan__name", "plan__email_response_hours",
                     "plan__sort_order")
    )
    groups = {}
    for opened_at, answered_at, plan, target, order in cases:
        month = opened_at.astimezone(COVERAGE_TIMEZONE).strftime("%Y-%m")
        groups.setdefault((month, order, plan, target), []).append(
            covered_hours_between(opened_at, answered_at, WEEKDAYS)
        )
    rows = []
    for (month, _order, plan, target), hours in sorted(groups.items(), key=lambda kv: kv[0][:2]):
        hours.sort()
        average = sum(hours) / len(hours)
        p90 = hours[max(0, math.ceil(0.9 * len(hours)) - 1)]
        rows.append({"month": month, "plan": plan, "cases": len(hours), "average_hours": round(average, 1),
                     "p90_hours": round(p90, 1), "target_hours": target, "met": average < target})
    return sorted(rows, key=lambda r: r["month"], reverse=True)
