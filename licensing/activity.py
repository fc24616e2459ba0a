"""Activity: ingestion (rolled up per user per day), storage, data-history purge, usage snapshots.

Rules (docs/activity.md):
- Strictest privacy by default: without Screen Details (a trial included) the URL path and
  the window title are dropped here, before anything is stored; only the app and the site's
  domain are kept (``licensing.reports.account_keeps_screen_details``).
- One row per (tracked user, day in UTC, app, site, url_path, title): ingestion adds seconds
  to it with ``INSERT .. ON CONFLICT DO UPDATE SET seconds = seconds + EXCLUDED.seconds``,
  atomic on PostgreSQL and SQLite alike, so concurrent check-ins never lose seconds.
- ``AccountLicensing.storage_bytes`` grows by the bytes of each row ingestion creates, and is
  recomputed from the rows by ``storage_recompute`` (daily, after the purge).
"""

import datetime as dt
import hashlib
import json
import logging
from functools import lru_cache
from urllib.parse import urlsplit

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Sum

from billing.models import Subscription
from licensing.models import AccountLicensing, ActivityDay, UsageSnapshot
from licensing.reports import (
    account_keeps_screen_details,
    activity_row_bytes,
    activity_row_bytes_expression,
    history_extra_months,
    history_start,
    today_utc,
)

logger = logging.getLogger(__name__)

APP_MAX = ActivityDay._meta.get_field("app").max_length
SITE_MAX = ActivityDay._meta.get_field("site").max_length
URL_PATH_MAX = ActivityDay._meta.get_field("url_path").max_length
TITLE_MAX = ActivityDay._meta.get_field("title").max_length
# A day has 86,400 seconds: one item cannot claim more (keeps the sum far from integer limits).
ITEM_SECONDS_MAX = 86_400
COLUMNS = ["account_id", "tracked_user_id", "day", "app", "site", "url_path", "title", "rollup_key", "seconds"]


def _qn(name):
    return connection.ops.quote_name(name)


def clean_text(text, limit):
    """What PostgreSQL's text can hold: no NUL, no lone surrogate (JSON allows both), cut to
    the column's length. A bad character must not fail a whole check-in."""
    if not text:
        return ""
    if text.isascii() and "\x00" not in text:  # the usual case: nothing to clean (issue 13)
        return text[:limit]
    text = text.replace("\x00", "")
    return text.encode("utf-8", "replace").decode("utf-8")[:limit]


@lru_cache(maxsize=8192)  # agents report the same addresses again and again
def split_url(url):
    """(site, path): the hostname alone (no scheme, port, user info) and the path with its
    query. A URL without a scheme ("example.com/a") is read as a host and a path."""
    if not url:
        return "", ""
    url = clean_text(url, 10_000).strip()
    try:
        parts = urlsplit(url if "//" in url else "//" + url)
        site = parts.hostname or ""
    except ValueError:
        return "", ""
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return site[:SITE_MAX], path[:URL_PATH_MAX]


@lru_cache(maxsize=8192)
def rollup_key(app, site, url_path, title):
    joined = "\x1f".join((app, site, url_path, title))
    return hashlib.sha256(joined.encode()).hexdigest()[:32]


def _rows_for(*, account_id, entries, keep_details):
    """Rolls the items up in memory first: one upsert may not touch a row twice (PostgreSQL)."""
    rolled = {}
    for tracked_user, observed_at, items in entries:
        day = observed_at.astimezone(dt.UTC).date()
        tracked_user_id = getattr(tracked_user, "pk", tracked_user)
        if getattr(tracked_user, "account_id", account_id) != account_id:
            # Another tenant's user would show in this account's reports.
            raise ValueError("activity of a tracked user of another account")
        for item in items:
            seconds = min(int(item.get("seconds") or 0), ITEM_SECONDS_MAX)
            if seconds <= 0:
                # No time, nothing to roll up; it also keeps every stored row at >= 1 second,
                # which is how the upsert tells a new row from an existing one.
                continue
            app = clean_text(item.get("app"), APP_MAX)
            site, url_path = split_url(item.get("url"))
            title = clean_text(item.get("title"), TITLE_MAX) if keep_details else ""
            if not keep_details:
                url_path = ""
            key = (tracked_user_id, day, rollup_key(app, site, url_path, title))
            if key in rolled:
                rolled[key]["seconds"] += seconds
            else:
                rolled[key] = {"app": app, "site": site, "url_path": url_path, "title": title, "seconds": seconds}
    # A stable order: concurrent upserts take their row locks in the same order (no deadlock).
    return [
        (account_id, user_id, day, v["app"], v["site"], v["url_path"], v["title"], key, v["seconds"])
        for (user_id, day, key), v in sorted(rolled.items(), key=lambda kv: (kv[0][1], kv[0][0], kv[0][2]))
    ]


# PostgreSQL types of COLUMNS, for the json_to_recordset() form of the upsert.
PG_COLUMN_TYPES = ["bigint", "bigint", "date", "text", "text", "text", "text", "text", "integer"]


def _upsert_statement(table, columns, part):
    """(sql, params) inserting ``part``. PostgreSQL gets the rows as one JSON parameter: a
    short, constant statement instead of 4,500 placeholders the driver would parse and quote
    one by one (about 2x faster a batch, measured); other engines get VALUES rows."""
    if connection.vendor == "postgresql":
        record = ", ".join(f"{_qn(c)} {kind}" for c, kind in zip(COLUMNS, PG_COLUMN_TYPES, strict=True))
        payload = json.dumps([dict(zip(COLUMNS, row, strict=True)) for row in part], default=str)
        return f"INSERT INTO {table} ({columns}) SELECT {columns} FROM json_to_recordset(%s::json) AS r({record})", [payload]
    values = ", ".join(["(" + ", ".join(["%s"] * len(COLUMNS)) + ")"] * len(part))
    return f"INSERT INTO {table} ({columns}) VALUES {values}", [value for row in part for value in row]


def _upsert(rows, before=()):
    """Adds the rows' seconds; returns the bytes of the rows it created.

    A row is new when RETURNING gives back exactly the seconds sent: an existing row already
    held at least one second, so an addition always returns more. ``before``: statements
    ((sql, params), ...) to run first; on PostgreSQL they go in the same round trip as the
    first upsert (a check-in's touches of its users, machines and links).
    """
    if not rows:
        _run_statements(before)
        return 0
    table = _qn(ActivityDay._meta.db_table)
    columns = ", ".join(_qn(c) for c in COLUMNS)
    if connection.vendor == "postgresql":
        chunk = 5000
    else:
        max_params = connection.features.max_query_params or 999
        chunk = max(1, min(500, max_params // len(COLUMNS)))
    added = 0
    with connection.cursor() as cursor:
        for i in range(0, len(rows), chunk):
            part = [
                (*row[:2], connection.ops.adapt_datefield_value(row[2]), *row[3:]) for row in rows[i : i + chunk]
            ]
            sent = {(row[1], str(row[2]), row[7]): row for row in part}
            insert, params = _upsert_statement(table, columns, part)
            sql = (
                f"{insert} ON CONFLICT (account_id, day, tracked_user_id, rollup_key) "
                f"DO UPDATE SET seconds = {table}.seconds + EXCLUDED.seconds "
                f"RETURNING tracked_user_id, day, rollup_key, seconds"
            )
            if i == 0 and before and connection.vendor == "postgresql":
                cursor.execute(*_joined([*before, (sql, params)]))
                while cursor.description is None and cursor.nextset():
                    pass
            else:
                if i == 0:
                    _run_statements(before)
                cursor.execute(sql, params)
            for user_id, day, key, seconds in cursor.fetchall():
                row = sent.get((user_id, str(day), key))
                if row is not None and seconds == row[8]:
                    added += activity_row_bytes(app=row[3], site=row[4], url_path=row[5], title=row[6])
    return added


def _joined(statements):
    """(sql, params) of several statements sent as one query (psycopg's client-side binding)."""
    return "; ".join(sql for sql, _ in statements), [p for _, params in statements for p in params]


def _run_statements(statements):
    """Runs (sql, params) statements: in one round trip on PostgreSQL, one by one elsewhere."""
    if not statements:
        return
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(*_joined(statements))
        else:
            for sql, params in statements:
                cursor.execute(sql, params)


def storage_add(*, account_id, added_bytes):
    """Grows the maintained counter of the account's storage (row created when missing)."""
    if not added_bytes:
        return
    if AccountLicensing.objects.filter(account_id=account_id).update(
        storage_bytes=F("storage_bytes") + added_bytes
    ):
        return
    try:
        with transaction.atomic():
            AccountLicensing.objects.create(account_id=account_id, storage_bytes=added_bytes)
    except IntegrityError:
        # Another check-in created it first: add to theirs.
        AccountLicensing.objects.filter(account_id=account_id).update(
            storage_bytes=F("storage_bytes") + added_bytes
        )


def activity_ingest_batch(*, account, entries, keep_details=None, before=()):
    """Stores the activity of a check-in request in one upsert.

    ``entries``: ``[(tracked_user, observed_at, items), ...]``, ``tracked_user`` an instance or
    a pk of this account, ``observed_at`` an aware datetime, ``items`` validated dicts
    ``{"app": str, "url": str | None, "title": str | None, "seconds": int}``.
    Queries: one for the privacy rule, one upsert per 500 rolled-up rows, one for storage.
    ``keep_details``: the privacy rule's answer when the caller has it already (the agent
    cache keeps it with the key); None asks the rule.
    ``before``: statements ((sql, params), ...) to run first, in the same round trip as the
    upsert on PostgreSQL (they run even when there is no activity).
    Returns the bytes of storage it added.
    """
    entries = [entry for entry in entries if entry[2]]
    if not entries:
        _run_statements(before)
        return 0
    if keep_details is None:
        keep_details = account_keeps_screen_details(account=account)
    rows = _rows_for(account_id=account.pk, entries=entries, keep_details=keep_details)
    # No savepoint inside a check-in's transaction: two round trips saved, and an error here
    # rolls the whole check-in back anyway.
    with transaction.atomic(savepoint=False):
        added = _upsert(rows, before)
        storage_add(account_id=account.pk, added_bytes=added)
    return added


def activity_ingest(*, account, tracked_user, observed_at, items):
    """One event's activity; prefer ``activity_ingest_batch`` once per request."""
    return activity_ingest_batch(account=account, entries=[(tracked_user, observed_at, items)])


def activity_move(*, source, destination):
    """A merge: the source's activity joins the destination's (seconds add up where both have
    a row for the same day and key), then the source keeps none. Set-based."""
    if source.account_id != destination.account_id:
        raise ValueError("a merge stays inside one account")
    table = _qn(ActivityDay._meta.db_table)
    columns = ", ".join(_qn(c) for c in COLUMNS)
    select = ", ".join("%s" if c == "tracked_user_id" else _qn(c) for c in COLUMNS)
    with transaction.atomic(), connection.cursor() as cursor:
        # "WHERE" before ON CONFLICT also keeps SQLite's parser from reading it as a join.
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT {select} FROM {table} WHERE tracked_user_id = %s "
            f"ORDER BY day, rollup_key "
            f"ON CONFLICT (account_id, day, tracked_user_id, rollup_key) "
            f"DO UPDATE SET seconds = {table}.seconds + EXCLUDED.seconds",
            [destination.pk, source.pk],
        )
        ActivityDay.objects.filter(tracked_user=source).delete()
        storage_recompute(account_ids=[source.account_id])


def storage_recompute(*, account_ids=None):
    """Sets ``storage_bytes`` from the stored rows (all accounts when ``account_ids`` is None),
    set-based, writing only the counters that are off. Call it after deleting activity (a
    deleted tracked user) to lower the counter at once; the daily purge runs it for all."""
    licensing = _qn(AccountLicensing._meta.db_table)
    activity = ActivityDay.objects.order_by().values("account_id")
    if account_ids is not None:
        activity = activity.filter(account_id__in=list(account_ids))
    sums_sql, sums_params = (
        activity.annotate(bytes=Sum(activity_row_bytes_expression())).values("account_id", "bytes").query.sql_with_params()
    )
    only = ""
    only_params = []
    if account_ids is not None:
        only = f" AND {licensing}.account_id IN ({', '.join(['%s'] * len(account_ids))})" if account_ids else " AND 1 = 0"
        only_params = list(account_ids)
    table = _qn(ActivityDay._meta.db_table)
    with transaction.atomic(), connection.cursor() as cursor:
        # UPDATE .. FROM: PostgreSQL, and SQLite since 3.33.
        cursor.execute(
            f"UPDATE {licensing} SET storage_bytes = sums.bytes FROM ({sums_sql}) AS sums "
            f"WHERE {licensing}.account_id = sums.account_id AND {licensing}.storage_bytes <> sums.bytes",
            [*sums_params],
        )
        changed = cursor.rowcount
        cursor.execute(
            f"UPDATE {licensing} SET storage_bytes = 0 WHERE storage_bytes <> 0{only} AND NOT EXISTS "
            f"(SELECT 1 FROM {table} a WHERE a.account_id = {licensing}.account_id)",
            only_params,
        )
        changed += cursor.rowcount
    return changed


def purge_data_history(*, today=None):
    """Deletes activity older than each account's window; state-based, safe to run twice.

    Accounts are grouped by window (plan months or days, Data History months): one DELETE per
    distinct window, whatever the number of accounts. Only ``ActivityDay`` rows are purged:
    configuration and audit data are kept for ever (PRODUCT.md). Then storage is recomputed.
    """
    today = today or today_utc()
    subscriptions = Subscription.objects.annotate(extra_months=history_extra_months())
    windows = (
        subscriptions.order_by()
        .values_list("plan__data_history_months", "plan__data_history_days", "extra_months")
        .distinct()
    )
    deleted = 0
    for months, days, extra in list(windows):
        cutoff = history_start(today=today, months=months, days=days, extra_months=extra)
        accounts = subscriptions.filter(
            extra_months=extra,
            **(
                {"plan__data_history_months": months}
                if months is not None
                else {"plan__data_history_months__isnull": True, "plan__data_history_days": days}
            ),
        ).values("account_id")
        count, _ = ActivityDay.objects.filter(day__lt=cutoff, account_id__in=accounts).delete()
        deleted += count
    storage_recompute()
    logger.info("purge_data_history: %s activity rows deleted", deleted)
    return deleted


# --- usage snapshots ---------------------------------------------------------------------------

def _snapshot_upsert_sql(select_sql):
    table = _qn(UsageSnapshot._meta.db_table)
    return (
        f"INSERT INTO {table} (account_id, day, used, licenses) {select_sql} "
        f"ON CONFLICT (account_id, day) DO UPDATE SET "
        f"used = CASE WHEN EXCLUDED.used > {table}.used THEN EXCLUDED.used ELSE {table}.used END, "
        f"licenses = EXCLUDED.licenses "
        # Unchanged snapshots are not rewritten: a second run the same day writes nothing.
        f"WHERE EXCLUDED.used > {table}.used OR EXCLUDED.licenses <> {table}.licenses"
    )


def snapshot_license_usage(*, today=None):
    """Today's snapshot of every account with a subscription, in one INSERT .. SELECT: keeps
    the day's high water of ``used`` (running it again keeps the max) and the latest licenses.
    Returns the number of snapshots it wrote (new, or raised)."""
    today = today or today_utc()
    subscription = _qn(Subscription._meta.db_table)
    licensing = _qn(AccountLicensing._meta.db_table)
    select_sql = (
        f"SELECT s.account_id, %s, COALESCE(l.used, 0), s.licenses FROM {subscription} s "
        f"LEFT JOIN {licensing} l ON l.account_id = s.account_id WHERE 1 = 1"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_snapshot_upsert_sql(select_sql), [connection.ops.adapt_datefield_value(today)])
        count = cursor.rowcount
    logger.info("snapshot_license_usage: %s snapshots written", count)
    return count


def usage_snapshot_bump(*, account, used, licenses, today=None):
    """Raises today's high water when ``used`` grows between two daily runs. Call it after
    changing the counter (inside or outside the caller's transaction: one statement)."""
    today = today or today_utc()
    with connection.cursor() as cursor:
        cursor.execute(
            _snapshot_upsert_sql("VALUES (%s, %s, %s, %s)"),
            [account.pk, connection.ops.adapt_datefield_value(today), used, licenses],
        )
