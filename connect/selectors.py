"""The reads behind the ActivConnect API (docs/connect.md), one function per resource.

Every resource is walked by keyset: rows ordered by a unique key that only grows for new rows
(the primary key, or (day, tracked user) for the daily totals), the cursor being the last key
read. A row inserted while a client pages through lands after the cursor or before it, never
between two pages twice, so a walk returns every row that existed when it started exactly once
(an offset would skip or repeat rows as others are inserted ahead of it).
"""

import base64
import binascii
import datetime as dt
import json

from django.db.models import Case, CharField, Count, F, Q, Sum, Value, When

from accounts.models import ActorKind, AuditEntry
from billing.models import Invoice, Subscription
from billing.selectors import entitlements_for, subscription_addons
from licensing.models import ActivityDay, Machine, TrackedUser, TrackedUserMachine, UsageSnapshot
from licensing.reports import account_keeps_screen_details, data_history_window
from licensing.selectors import data_access_blocked

ACTIVCONNECT = "activconnect"


class BadCursor(ValueError):
    pass


def cursor_encode(key) -> str:
    return base64.urlsafe_b64encode(json.dumps(key, default=str).encode()).decode().rstrip("=")


def cursor_decode(cursor: str | None):
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeError):
        raise BadCursor("The cursor is not one this API gave out: start again without it.") from None


def _id_after(cursor):
    key = cursor_decode(cursor)
    if key is None:
        return 0
    if not isinstance(key, int) or isinstance(key, bool) or not 0 <= key < 2**63:
        raise BadCursor("The cursor is not one this API gave out: start again without it.")
    return key


# --- entitlement and privacy -----------------------------------------------------------------

def account_has_activconnect(*, account) -> bool:
    """The read API is sold as the ActivConnect add-on (PRODUCT.md, add-ons): billing's
    entitlements answer it."""
    return entitlements_for(account=account).activconnect


def account_data_blocked(*, account) -> bool:
    """PRODUCT.md: while blocked, data access (reports, exports, the read API) is closed."""
    return data_access_blocked(account=account)


def account_shows_screen_details(*, account) -> bool:
    """Titles and URL paths are served only while the account keeps Screen Details (or is on
    its trial): the reports' own rule (``licensing.reports.account_keeps_screen_details``)."""
    return account_keeps_screen_details(account=account)


def history_window(*, account):
    return data_history_window(account=account)


# --- resources -------------------------------------------------------------------------------

def _with_machines(users):
    machines = {}
    for user_id, machine_id in TrackedUserMachine.objects.filter(
        tracked_user_id__in=[u.pk for u in users]
    ).order_by("machine_id").values_list("tracked_user_id", "machine_id"):
        machines.setdefault(user_id, []).append(machine_id)
    for user in users:
        user.machine_ids = machines.get(user.pk, [])
    return users


def tracked_users_page(*, account, cursor=None, limit=100, updated_since=None):
    """Tracked users after the cursor, by id, each with ``machine_ids``. ``updated_since``: users
    first seen, last seen or deleted since then."""
    qs = TrackedUser.objects.filter(account=account, pk__gt=_id_after(cursor)).order_by("pk")
    if updated_since is not None:
        qs = qs.filter(
            Q(first_seen_at__gte=updated_since) | Q(last_log_record_at__gte=updated_since)
            | Q(deleted_at__gte=updated_since)
        )
    return _with_machines(list(qs[:limit]))


def tracked_user_get(*, account, user_id):
    return next(iter(_with_machines(list(TrackedUser.objects.filter(account=account, pk=user_id)))), None)


def machines_page(*, account, cursor=None, limit=100, updated_since=None):
    qs = Machine.objects.filter(account=account, pk__gt=_id_after(cursor)).order_by("pk")
    if updated_since is not None:
        qs = qs.filter(Q(first_seen_at__gte=updated_since) | Q(last_seen_at__gte=updated_since))
    return list(qs[:limit])


ACTIVITY_FIELDS = ("id", "day", "tracked_user_id", "app", "site", "url_path", "title", "seconds")


def _day_id_after(cursor):
    """(day, id) of a cursor: a [ISO day, id] pair, the id within the database's integers."""
    key = cursor_decode(cursor)
    if key is None:
        return None
    try:
        day, row_id = key
        if not isinstance(row_id, int) or isinstance(row_id, bool) or not 0 <= row_id < 2**63:
            raise ValueError(row_id)
        return dt.date.fromisoformat(day), row_id
    except (TypeError, ValueError):
        raise BadCursor("The cursor is not one this API gave out: start again without it.") from None


def activity_key(row):
    """The keyset of /activity: (day, id). By day first, so that a page walks the account's own
    rows through the (account, day, ...) index; by id within a day (ids only grow: a row added to
    a day while it is read comes after the cursor)."""
    return [row[1].isoformat(), row[0]]


def activity_rows(*, account, start, end, cursor=None, user_id=None, details: bool):
    """Daily activity rows (tuples of ACTIVITY_FIELDS) of the range, by (day, id), unevaluated.
    Without ``details`` the URL path and the title are blank whatever is stored."""
    qs = ActivityDay.objects.filter(account=account, day__gte=start, day__lte=end)
    after = _day_id_after(cursor)
    if after is not None:
        day, row_id = after
        # day >= the cursor's day on its own: the index's range starts there (the OR alone
        # would be a filter over every row from the window's first day).
        qs = qs.filter(day__gte=day).filter(Q(day__gt=day) | Q(day=day, pk__gt=row_id))
    if user_id is not None:
        qs = qs.filter(tracked_user_id=user_id)
    qs = qs.order_by("day", "pk")
    if details:
        return qs.values_list(*ACTIVITY_FIELDS)
    return qs.annotate(no_path=Value(""), no_title=Value("")).values_list(
        "id", "day", "tracked_user_id", "app", "site", "no_path", "no_title", "seconds"
    )


def _day_user_after(cursor):
    return _day_id_after(cursor)


def productivity_rows(*, account, start, end, cursor=None, user_id=None):
    """Per (day, tracked user): seconds tracked and the apps and sites used, ordered by that key
    (a user's day is one row, whichever rows it sums), unevaluated."""
    qs = ActivityDay.objects.filter(account=account, day__gte=start, day__lte=end)
    if user_id is not None:
        qs = qs.filter(tracked_user_id=user_id)
    after = _day_user_after(cursor)
    if after is not None:
        day, uid = after
        qs = qs.filter(day__gte=day).filter(Q(day__gt=day) | Q(day=day, tracked_user_id__gt=uid))
    return (
        qs.values("day", "tracked_user_id")
        .annotate(seconds=Sum("seconds"), apps=Count("app", distinct=True), sites=Count("site", distinct=True, filter=~Q(site="")))
        .order_by("day", "tracked_user_id")
        .values_list("day", "tracked_user_id", "seconds", "apps", "sites")
    )


def usage_rows(*, account, start, end, cursor=None):
    """The daily high-water snapshots of users used against licenses, by day (one per day per
    account: the key), unevaluated."""
    qs = UsageSnapshot.objects.filter(account=account, day__gte=start, day__lte=end)
    key = cursor_decode(cursor)
    if key is not None:
        try:
            qs = qs.filter(day__gt=dt.date.fromisoformat(key))
        except (TypeError, ValueError):
            raise BadCursor("The cursor is not one this API gave out: start again without it.") from None
    return qs.order_by("day").values_list("day", "day", "used", "licenses")


def subscription_of(*, account):
    subscription = Subscription.objects.select_related("plan").filter(account=account).first()
    if subscription is not None:
        subscription.addon_codes = [a.code for a in subscription_addons(subscription=subscription)]
    return subscription


def invoices_page(*, account, cursor=None, limit=100, updated_since=None):
    """Issued invoices (drafts are ours until finalised), by id."""
    qs = (
        Invoice.objects.filter(account=account, pk__gt=_id_after(cursor), number__isnull=False)
        .select_related("series").order_by("pk")
    )
    if updated_since is not None:
        qs = qs.filter(
            Q(created_at__gte=updated_since) | Q(issued_at__gte=updated_since)
            | Q(paid_at__gte=updated_since) | Q(voided_at__gte=updated_since)
        )
    return list(qs[:limit])


def invoice_get(*, account, invoice_id):
    return Invoice.objects.filter(account=account, pk=invoice_id, number__isnull=False).select_related("series").first()


# --- the customer's event log (issue 16, item 3) ----------------------------------------------

def event_kinds(*, account) -> list[str]:
    """The kinds of the account's own audit rows, for the filter (one query)."""
    return list(
        AuditEntry.objects.filter(account=account).order_by("kind").values_list("kind", flat=True).distinct()
    )


def account_events(*, account, kind="", who="", start=None, end=None):
    """The account's own audit rows, newest first, unevaluated, with what a customer may see of
    each (``EVENT_COLUMNS``): staff members are "our staff", and neither their address nor a
    row's reason or before/after values (staff's notes on a deal, internal amounts) is read."""
    qs = AuditEntry.objects.filter(account=account)
    if kind:
        qs = qs.filter(kind=kind)
    if who:
        qs = qs.filter(actor_label__icontains=who).exclude(actor_kind=ActorKind.STAFF)
    if start:
        qs = qs.filter(created_at__date__gte=start)
    if end:
        qs = qs.filter(created_at__date__lte=end)
    is_staff = Q(actor_kind=ActorKind.STAFF)
    return (
        qs.annotate(
            who=Case(When(is_staff, then=Value(STAFF_LABEL)), default=F("actor_label"), output_field=CharField()),
            shown_address=Case(When(is_staff, then=Value(None)), default=F("address"), output_field=CharField(null=True)),
        )
        .order_by("-created_at", "-id")
        .values_list(*EVENT_FIELDS)
    )


STAFF_LABEL = "our staff"
EVENT_FIELDS = ("id", "created_at", "who", "actor_kind", "kind", "summary", "shown_address")
EVENT_COLUMNS = ["id", "when", "who", "actor", "what", "summary", "address"]
