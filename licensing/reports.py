"""Reads over the account's activity: privacy, data history, storage, the report and the export.

The rules of docs/activity.md live here, one function each:
- ``account_keeps_screen_details``: whether URL paths and window titles are kept at ingestion;
- ``account_shows_screen_details``: whether they are shown (reports, export), whenever kept;
- ``history_start`` / ``data_history_start``: the first day an account can see;
- ``activity_row_bytes`` / ``ROW_OVERHEAD_BYTES``: what a stored row counts towards storage.
"""

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass

from dateutil.relativedelta import relativedelta
from django.db.models import (
    BigIntegerField,
    Case,
    CharField,
    Count,
    ExpressionWrapper,
    F,
    Func,
    IntegerField,
    Max,
    OuterRef,
    Prefetch,
    Q,
    Subquery,
    Sum,
    Value,
    When,
    Window,
    prefetch_related_objects,
)
from django.db.models.functions import Cast, Coalesce, Concat
from django.utils import timezone

from billing.models import Subscription, SubscriptionAddOn
from billing.selectors import Entitlements, entitlements_for
from licensing.models import ActivityDay, IdentityKind, UsageSnapshot

SCREEN_DETAILS = "screen_details"

# Storage of one rolled-up row: a fixed part (ids, day, seconds, rollup key, row header) plus
# the UTF-8 bytes of its texts. An estimate of what the customer stored, the same on every
# database engine, not of disk pages (indexes and bloat vary by engine and by vacuum).
ROW_OVERHEAD_BYTES = 64


def today_utc():
    return timezone.now().astimezone(dt.UTC).date()


# --- privacy -----------------------------------------------------------------------------------

def account_keeps_screen_details(*, account, entitlements: Entitlements | None = None):
    """URL paths and window titles are kept only with Screen Details; otherwise ingestion keeps
    the app and the site's domain alone (strictest privacy). PRODUCT.md: every plan, the trial
    included (issue 15): a trial collects no titles or URLs unless Screen Details is bought.
    From the account's ``entitlements`` when the caller has them, else one query."""
    return (entitlements or entitlements_for(account=account)).screen_details


def account_shows_screen_details(*, account, entitlements: Entitlements | None = None):
    """Whether reports and exports show URL paths and window titles: only while the account
    has Screen Details, whenever they were collected. Details kept while the add-on was held
    (or, before issue 15, during a trial) stay stored but hidden once it is gone, and show
    again when it is bought again (PRODUCT.md, Screen Details; issue 11, item 5). The same
    entitlement as ``account_keeps_screen_details``, applied when reading."""
    return account_keeps_screen_details(account=account, entitlements=entitlements)


# --- data history ------------------------------------------------------------------------------

def history_start(*, today, months, days, extra_months=0):
    """The first visible day of a window of ``months`` calendar months (or ``days`` days when
    months is empty) back from ``today``, extended by ``extra_months`` (Data History add-on).

    PRODUCT.md: a 30-day account on 15 October sees back to 15 September, inclusive.
    """
    start = today - relativedelta(months=months) if months else today - dt.timedelta(days=days or 0)
    return start - relativedelta(months=extra_months or 0)


def history_extra_months():
    """Per subscription (as an annotation): months the Data History add-on adds, one add-on
    row being one unit. A join and a sum: the purge groups 100,000 subscriptions with it."""
    return Coalesce(Sum("addons__addon__extends_history_months"), 0)


# Issue 15, our reading of "purchases the data history add-on" (PRODUCT.md, storage): each month
# of history the add-on adds brings 3 GB, Free's allowance for its 30 days; one Data History unit
# (12 months) adds 36 GB. Only to a plan that has a storage limit: no limit stays no limit.
DATA_HISTORY_STORAGE_BYTES_PER_MONTH = 3 * 1024**3


def storage_limit_bytes_for(*, plan, extra_history_months):
    """The storage an account may keep: its plan's limit (None: no limit), plus what its Data
    History add-on rows add (``extra_history_months``: their months summed)."""
    if plan is None or plan.storage_limit_bytes is None:
        return None
    return plan.storage_limit_bytes + max(extra_history_months or 0, 0) * DATA_HISTORY_STORAGE_BYTES_PER_MONTH


def history_extra_months_of(subscription):
    """Months of history the subscription's add-ons add (0 without a subscription): no query when
    they are annotated (``data_history_window``) or its add-ons loaded (``subscription_with_addons``),
    else one."""
    if subscription is None or subscription.pk is None:
        return 0
    if hasattr(subscription, "extra_months"):
        return subscription.extra_months
    loaded = getattr(subscription, "_prefetched_objects_cache", {}).get("addons")
    if loaded is not None:
        # ``history_extra_months`` over the rows already read: one add-on row is one unit.
        return sum(row.addon.extends_history_months or 0 for row in loaded)
    return SubscriptionAddOn.objects.filter(subscription_id=subscription.pk).aggregate(
        months=Sum("addon__extends_history_months")
    )["months"] or 0


def storage_limit_expression():
    """``storage_limit_bytes_for`` as an SQL expression over AccountLicensing rows, for
    set-based jobs: the plan's limit plus the add-ons' months (NULL: no limit)."""
    months = (
        SubscriptionAddOn.objects.filter(subscription__account_id=OuterRef("account_id"))
        .order_by().values("subscription_id").annotate(months=Sum("addon__extends_history_months"))
        .values("months")
    )
    return ExpressionWrapper(
        F("account__subscription__plan__storage_limit_bytes")
        + Coalesce(Subquery(months), 0) * DATA_HISTORY_STORAGE_BYTES_PER_MONTH,
        output_field=BigIntegerField(),
    )


@dataclass(frozen=True)
class DataHistory:
    first_day: dt.date
    today: dt.date
    label: str  # "12 months", "30 days", "6 months + 12 months of Data History"
    subscription: Subscription | None


def subscription_with_addons(subscription):
    """The subscription with its add-on rows (and their add-ons) loaded in one query, so that its
    entitlements (``billing.selectors.entitlements``), its data history and its storage limit
    read them without another."""
    if subscription is not None and subscription.pk is not None:
        prefetch_related_objects(
            [subscription], Prefetch("addons", queryset=SubscriptionAddOn.objects.select_related("addon"))
        )
    return subscription


def data_history_window(*, account, today=None):
    """The account's window (one query): from its first visible day to today, inclusive."""
    subscription = (
        Subscription.objects.select_related("plan")
        .annotate(extra_months=history_extra_months())
        .filter(account=account)
        .first()
    )
    return data_history_window_of(subscription=subscription, today=today)


def data_history_window_of(*, subscription, today=None):
    """``data_history_window`` from the subscription already read, with its plan and its add-ons'
    months (annotated, or its add-ons loaded: ``history_extra_months_of``)."""
    today = today or today_utc()
    if subscription is None:
        return DataHistory(first_day=today, today=today, label="no", subscription=None)
    plan = subscription.plan
    extra_months = history_extra_months_of(subscription)
    label = plan.data_history_label
    if extra_months:
        label += f" + {extra_months} months of Data History"
    first_day = history_start(
        today=today,
        months=plan.data_history_months,
        days=plan.data_history_days,
        extra_months=extra_months,
    )
    return DataHistory(first_day=first_day, today=today, label=label, subscription=subscription)


def data_history_start(*, account, today=None):
    """The first day the account can see (and keeps); ``today`` when it has no subscription."""
    return data_history_window(account=account, today=today).first_day


# --- storage -----------------------------------------------------------------------------------

def activity_row_bytes(*, app, site, url_path, title):
    return ROW_OVERHEAD_BYTES + sum(len(text.encode()) for text in (app, site, url_path, title))


class OctetLength(Func):
    """Bytes of a text in UTF-8 (``Length`` counts characters)."""

    function = "OCTET_LENGTH"
    output_field = IntegerField()

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="LENGTH(CAST(%(expressions)s AS BLOB))")


def activity_row_bytes_expression():
    """``activity_row_bytes`` in SQL, for set-based recomputation."""
    return (
        Value(ROW_OVERHEAD_BYTES)
        + OctetLength("app") + OctetLength("site") + OctetLength("url_path") + OctetLength("title")
    )


def storage_used_bytes(*, account):
    """Computed from the rows (the maintained counter is ``AccountLicensing.storage_bytes``)."""
    total = ActivityDay.objects.filter(account=account).aggregate(
        bytes=Sum(activity_row_bytes_expression())
    )["bytes"]
    return total or 0


def activity_range_summary(*, account, start, end):
    """What deleting the days ``start`` to ``end`` would remove: ``{"rows", "people", "bytes"}``
    (people: tracked users with a row in the range), in one aggregate query."""
    summary = ActivityDay.objects.filter(account=account, day__gte=start, day__lte=end).aggregate(
        rows=Count("pk"), people=Count("tracked_user_id", distinct=True),
        bytes=Sum(activity_row_bytes_expression()),
    )
    return {**summary, "bytes": summary["bytes"] or 0}


# --- the report --------------------------------------------------------------------------------

def person_key_expression():
    """Who a report row is about: an alias joins every profile that carries it (PRODUCT.md),
    otherwise each tracked user stands alone."""
    return Case(
        When(~Q(tracked_user__alias=""), then=Concat(Value("a:"), F("tracked_user__alias"))),
        default=Concat(Value("u:"), Cast("tracked_user_id", CharField())),
        output_field=CharField(),
    )


def person_name_expression():
    """``TrackedUser.display_name`` in SQL."""
    username = F("tracked_user__username")
    return Case(
        When(~Q(tracked_user__alias=""), then=F("tracked_user__alias")),
        When(
            Q(tracked_user__identity_kind=IdentityKind.DOMAIN) & ~Q(tracked_user__domain=""),
            then=Concat(F("tracked_user__domain"), Value("\\"), username),
        ),
        When(
            Q(tracked_user__identity_kind=IdentityKind.MACHINE) & ~Q(tracked_user__machine_hostname=""),
            then=Concat(F("tracked_user__machine_hostname"), Value("\\"), username),
        ),
        default=username,
        output_field=CharField(),
    )


def activity_in_range(*, account, start, end):
    return ActivityDay.objects.filter(account=account, day__gte=start, day__lte=end)


def report_days(*, account, start, end):
    """One row per (person, day): ``{"day", "person", "name", "seconds"}``, newest day first."""
    return (
        activity_in_range(account=account, start=start, end=end)
        .annotate(person=person_key_expression())
        .values("day", "person")
        .annotate(name=Max(person_name_expression()), seconds=Sum("seconds"))
        .order_by("-day", "name", "person")
    )


def report_days_page(*, account, start, end, offset, limit):
    """A page of ``report_days``, ``limit`` rows from ``offset``, and the number of (person, day)
    rows in the whole range, in one query: the count is a window over the grouped rows the page
    is sorted from, so the range is grouped once (a separate ``COUNT(*)`` grouped it again).
    Returns ``(rows, total)``; ``total`` is None when the page is past the last row."""
    rows = list(report_days(account=account, start=start, end=end)
                .annotate(total=Window(Count("*")))[offset:offset + limit])
    total = rows[0]["total"] if rows else None
    for row in rows:
        del row["total"]
    return rows, total


TOP = 3
TOP_DETAILS = 5


def report_details(*, account, rows, details=True):
    """Top apps, sites and (when stored and ``details``: the account shows Screen Details)
    windows of the given (person, day) rows, in one query whatever the number of rows: their
    activity summed by app and site (and path and title with ``details``), the tops added up from
    it. Adds ``apps``, ``sites``, ``windows`` to each row."""
    rows = list(rows)
    if not rows:
        return rows
    days = {row["day"] for row in rows}
    people = {row["person"] for row in rows}
    wanted = {(row["day"], row["person"]) for row in rows}
    fields = ["app", "site", "url_path", "title"] if details else ["app", "site"]
    groups = (
        ActivityDay.objects.filter(account=account, day__in=days)
        .annotate(person=person_key_expression())
        .filter(person__in=people)
        .values("day", "person", *fields)
        .annotate(total=Sum("seconds"))
        .order_by()
    )
    apps, sites, windows = defaultdict(Counter), defaultdict(Counter), defaultdict(Counter)
    for group in groups:
        key = (group["day"], group["person"])
        if key not in wanted:
            continue
        total = group["total"]
        apps[key][(group["app"],)] += total
        if group["site"]:
            sites[key][(group["site"],)] += total
        if details and (group["url_path"] or group["title"]):
            windows[key][(group["site"], group["url_path"], group["title"])] += total

    def tops(totals, names, limit):
        # The largest first; equal totals in the order of their names, so a page reads the same
        # on every database.
        ranked = sorted(totals.items(), key=lambda item: (-item[1], item[0]))[:limit]
        return [{**dict(zip(names, name, strict=True)), "total": total} for name, total in ranked]

    for row in rows:
        key = (row["day"], row["person"])
        row["apps"] = tops(apps[key], ["app"], TOP)
        row["sites"] = tops(sites[key], ["site"], TOP)
        row["windows"] = tops(windows[key], ["site", "url_path", "title"], TOP_DETAILS) if details else []
    return rows


EXPORT_COLUMNS = ["date", "user", "app", "site", "url_path", "title", "seconds"]


def export_rows(*, account, start, end, details=True):
    """The export's rows, in the order of ``EXPORT_COLUMNS`` (a queryset of tuples): the
    rollup rows, profiles sharing an alias summed into one person as on the page. Without
    ``details`` (the account does not show Screen Details) the path and title columns are
    empty and the rows of one day, person, app and site add up into one."""
    rows = activity_in_range(account=account, start=start, end=end).annotate(person=person_key_expression())
    if not details:
        return (
            rows.values("day", "person", "app", "site")
            .annotate(user=Max(person_name_expression()), total=Sum("seconds"),
                      no_path=Value("", output_field=CharField()), no_title=Value("", output_field=CharField()))
            .order_by("day", "user", "person", "app", "site")
            .values_list("day", "user", "app", "site", "no_path", "no_title", "total")
        )
    return (
        rows.values("day", "person", "app", "site", "url_path", "title")
        .annotate(user=Max(person_name_expression()), total=Sum("seconds"))
        .order_by("day", "user", "person", "app", "site", "url_path", "title")
        .values_list("day", "user", "app", "site", "url_path", "title", "total")
    )


def export_is_capped(*, account, start, end, limit, details=True, report_rows=None):
    """Whether the range holds more export rows than the plan allows.

    Every (person, day) row of the report holds at least one export row, and every export row
    sums at least one activity row, so: more than ``limit`` report rows (``report_rows``, when
    the caller counted them) is capped; at most ``limit`` activity rows (one indexed read that
    stops at limit + 1) is not. Only between the two are the export rows counted (at most
    limit + 1 of them)."""
    if report_rows is not None and report_rows > limit:
        return True
    if activity_in_range(account=account, start=start, end=end)[: limit + 1].count() <= limit:
        return False
    return export_rows(account=account, start=start, end=end, details=details)[: limit + 1].count() > limit


# --- the dashboard's chart ---------------------------------------------------------------------

CHART_DAYS = 90


def usage_history(*, account, today=None, days=CHART_DAYS):
    """The snapshots of the last ``days`` days, oldest first (one query)."""
    today = today or today_utc()
    return list(
        UsageSnapshot.objects.filter(account=account, day__gt=today - dt.timedelta(days=days))
        .order_by("day")
        .values("day", "used", "licenses")
    )
