"""Every write of licensing: agent keys, check-ins, tracked-user actions, the used counter."""

import hashlib
import secrets
import weakref
from datetime import timedelta
from typing import NamedTuple

from django.db import ProgrammingError, connection, transaction
from django.db.models import F
from django.utils import timezone

from accounts.actors import Actor
from accounts.models import Account
from accounts.services import ServiceError, audit_record
from billing.models import Plan, Subscription
from billing.selectors import entitlements_for, subscription_for
from config.db import TransactionConflict, begin_with, retry_on_conflict
from licensing import activity, agent_cache
from licensing.compliance import compliance_evaluate, licensing_row
from licensing.hooks import users_tracked
from licensing.identity import identity_of
from licensing.models import (
    AccountLicensing,
    ActivityDay,
    AgentKey,
    CheckinEvent,
    IdentityKind,
    Machine,
    TrackedUser,
    TrackedUserMachine,
    TrackedUserState,
)
from licensing.reports import account_keeps_screen_details

# "wa_" + 10-character prefix + "_" + 43 characters of secret (256 bits).
AGENT_KEY_PREFIX = "wa_"
# last_used_at of a key and last log record of a user are kept to the minute: writing them on
# every check-in would cost a row update per request for no one's benefit.
TOUCH_RESOLUTION = timedelta(minutes=1)

ACCEPTED = "accepted"
DUPLICATE = "duplicate"
NOT_TRACKED = "not_tracked"
REJECTED = "rejected"

COUNTED_STATES = [TrackedUserState.ACTIVE]


def _hash(secret):
    return hashlib.sha256(secret.encode()).hexdigest()


# --- Agent keys -------------------------------------------------------------------------------


def agent_key_create(*, account, name="", actor):
    """A new agent key; returns (key, secret). The secret is shown once and only its hash kept.
    Refused (ServiceError) when the account has ``Account.agent_key_limit`` active keys already."""
    prefix = secrets.token_hex(5)
    secret = f"{AGENT_KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    with transaction.atomic():
        # The account row is locked so that two creations at once cannot both pass the cap.
        limit = Account.objects.select_for_update().values_list("agent_key_limit", flat=True).get(pk=account.pk)
        active = AgentKey.objects.filter(account=account, revoked_at__isnull=True).count()
        if active >= limit:
            raise ServiceError(
                f"This account has {active} active agent keys, its limit: revoke one you no longer "
                "use, or ask support to raise the limit."
            )
        key = AgentKey.objects.create(
            account=account, name=name[:80], prefix=prefix, key_hash=_hash(secret),
            created_by=actor.user,
        )
        audit_record(
            account=account, actor=actor, kind="agent_key.created",
            summary=f"Agent key {prefix} created" + (f" ({name})" if name else ""),
            after={"prefix": prefix, "name": name},
        )
    return key, secret


def agent_key_revoke(*, key, actor):
    with transaction.atomic():
        key = AgentKey.objects.select_for_update().get(pk=key.pk)
        if key.revoked_at is not None:
            return key
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        audit_record(
            account=key.account, actor=actor, kind="agent_key.revoked",
            summary=f"Agent key {key.prefix} revoked", before={"prefix": key.prefix},
        )
    return key


def agent_key_hash(secret):
    """The stored hash of a well-formed agent key, or None for anything that cannot be one."""
    if not secret or not secret.startswith(AGENT_KEY_PREFIX) or len(secret) > 100:
        return None
    return _hash(secret)


def agent_key_authenticate(*, secret, stamps=None):
    """The active key for ``secret``, or None. Touches last_used_at at most once a minute.
    ``stamps``: the account's cache stamps, when the caller read them (``agent_cache.gate``)."""
    key_hash = agent_key_hash(secret)
    if key_hash is None:
        return None
    key = agent_cache.agent_key_cached(key_hash=key_hash, load=lambda: _agent_key_read(key_hash), stamps=stamps)
    if key is None:
        return None
    now = timezone.now()
    if key.last_used_at is None or key.last_used_at < now - TOUCH_RESOLUTION:
        AgentKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


def _agent_key_read(key_hash):
    # One hand-written query on the hottest path (the ORM spends more time compiling a
    # four-table select_related than the database spends answering it). The account's licensing
    # row, subscription and plan come along: the API's answer carries used / licenses / state
    # without another query. Set on the key as ``licensing_row`` and ``subscription``.
    qn = connection.ops.quote_name
    key_t, account_t, row_t, sub_t, plan_t = (
        qn(m._meta.db_table) for m in (AgentKey, Account, AccountLicensing, Subscription, Plan)
    )
    sql = (
        f"SELECT k.id, k.prefix, k.last_used_at, a.id, a.name, a.slug, "
        f"l.id, l.used, l.state, l.blocked_reason, l.grace_period_ends_at, "
        f"s.id, s.licenses, s.state, p.id, p.max_users, p.is_paid, p.storage_limit_bytes "
        f"FROM {key_t} k JOIN {account_t} a ON a.id = k.account_id "
        f"LEFT JOIN {row_t} l ON l.account_id = a.id LEFT JOIN {sub_t} s ON s.account_id = a.id "
        f"LEFT JOIN {plan_t} p ON p.id = s.plan_id "
        f"WHERE k.key_hash = %s AND k.revoked_at IS NULL"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [key_hash])
        found = cursor.fetchone()
    if found is None:
        return None
    (key_id, prefix, last_used_at, account_id, name, slug, row_id, used, state, reason,
     grace_ends, sub_id, licenses, sub_state, plan_id, max_users, is_paid, storage_limit) = found
    dt = AgentKey._meta.get_field("last_used_at")
    converters = connection.ops.get_db_converters(dt.cached_col)

    def as_datetime(value):
        for converter in converters:
            value = converter(value, dt, connection) if value is not None else None
        return value

    account = Account(id=account_id, name=name, slug=slug)
    key = AgentKey(id=key_id, account=account, prefix=prefix, last_used_at=as_datetime(last_used_at))
    key.licensing_row = row_id and AccountLicensing(
        id=row_id, account=account, used=used, state=state, blocked_reason=reason,
        grace_period_ends_at=as_datetime(grace_ends),
    ) or None
    key.subscription = sub_id and Subscription(
        id=sub_id, account=account, licenses=licenses, state=sub_state,
        plan=Plan(id=plan_id, max_users=max_users, is_paid=is_paid, storage_limit_bytes=storage_limit),
    ) or None
    # The privacy rule's answer for this account, kept with the key (agent_cache): an add-on or
    # a trial that changes bumps the account's stamp like any subscription change.
    key.keeps_screen_details = account_keeps_screen_details(account=account) if agent_cache.seconds() else None
    return key


# --- Check-ins --------------------------------------------------------------------------------

# The account's users lock (PostgreSQL advisory lock, transaction-scoped; class, account id):
# check-ins take it shared, so they run side by side; a Users-page action (delete, merge, Do Not
# Track, track again, alias) takes it exclusive, so it waits for the check-ins in flight and new
# ones queue behind it (PostgreSQL's lock manager is fair: an Admin is not starved the way a
# FOR UPDATE waiting behind ever-renewed row share locks is). A check-in and a Users-page action
# of one account therefore never hold row locks at the same time, and cannot deadlock. Issue 11,
# item 3; docs/security.md, "Lock order".
USERS_LOCK_CLASS = 0x5553  # "US": names this lock among the database's advisory locks


def _users_lock_key(account_id):
    return [USERS_LOCK_CLASS, account_id % 2**31]  # two int4 keys


def users_lock(*, account, exclusive):
    """Takes the account's users lock until the end of the transaction (a no-op off
    PostgreSQL: SQLite runs one writing transaction at a time)."""
    if connection.vendor != "postgresql":
        return
    function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(%s, %s)", _users_lock_key(account.pk))



def _insert_ignore_returning(model, columns, rows, returning):
    """INSERT ... ON CONFLICT DO NOTHING RETURNING: the rows this statement created.

    A row another transaction created first (a lost race on a unique constraint) is skipped
    here instead of raising IntegrityError; the caller re-reads it. PostgreSQL and SQLite 3.35+.
    """
    if not rows:
        return []
    qn = connection.ops.quote_name
    fields = {f.column: f for f in model._meta.concrete_fields}
    names = ", ".join(qn(c) for c in columns)
    tail = f"ON CONFLICT DO NOTHING RETURNING {', '.join(qn(c) for c in returning)}"
    if connection.vendor == "postgresql":
        # One array per column: the statement text is the same for any batch size, so
        # PostgreSQL and psycopg do not re-parse a new statement of 1,000 parameters each time.
        arrays = [
            [fields[c].get_db_prep_save(row[i], connection) for row in rows] for i, c in enumerate(columns)
        ]
        casts = ", ".join(f"%s::{fields[c].db_type(connection)}[]" for c in columns)
        sql = f"INSERT INTO {qn(model._meta.db_table)} ({names}) SELECT * FROM UNNEST({casts}) {tail}"
        params = arrays
    else:
        params = []
        for row in rows:
            for column, value in zip(columns, row, strict=True):
                params.append(fields[column].get_db_prep_save(value, connection))
        one = "(" + ", ".join(["%s"] * len(columns)) + ")"
        sql = f"INSERT INTO {qn(model._meta.db_table)} ({names}) VALUES {', '.join([one] * len(rows))} {tail}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _used_add(*, account, delta):
    """The maintained counter of users used, changed in the caller's transaction."""
    if delta:
        updated = AccountLicensing.objects.filter(account=account).update(used=F("used") + delta)
        if not updated:
            licensing_row(account=account)
            AccountLicensing.objects.filter(account=account).update(used=F("used") + delta)
        agent_cache.account_changed(account.pk)  # the agents' answers carry used


def _stale(stored, seen):
    return stored is None or seen >= stored + TOUCH_RESOLUTION


def _touch(model, column, values, into):
    """One UPDATE for many rows: ``column`` = the given time where it is later than the stored
    one ({pk: time}), appended to ``into`` to be run in the activity upsert's round trip. Django's bulk_update
    builds a CASE per row in Python, too slow here."""
    if not values:
        return
    qn = connection.ops.quote_name
    field = model._meta.get_field(column)
    table, col = qn(model._meta.db_table), qn(field.column)
    items = sorted(values.items())
    if connection.vendor == "postgresql":
        source = f"SELECT * FROM UNNEST(%s::bigint[], %s::{field.db_type(connection)}[]) AS v(pk, seen)"
        params = [[pk for pk, _ in items], [field.get_db_prep_save(w, connection) for _, w in items]]
    else:
        source = " UNION ALL ".join(["SELECT %s AS pk, %s AS seen"] * len(items))
        params = [p for pk, w in items for p in (pk, field.get_db_prep_save(w, connection))]
    sql = (
        f"UPDATE {table} SET {col} = v.seen FROM ({source}) AS v "
        f"WHERE {table}.{qn('id')} = v.pk AND ({table}.{col} IS NULL OR {table}.{col} < v.seen)"
    )
    into.append((sql, params))


def _machines_and_links_record(account, machines, links, preloaded, touches):
    """Machines of a batch ({machine_id: SeenMachine}) and who was seen on them ({(user pk,
    machine_id): seen}). One query reads both; new rows are inserted, known ones touched only
    when their last-seen time is a minute old: most check-ins of a busy fleet write nothing."""
    mids = sorted(machines)
    if preloaded is not None:
        known_machines, known_links = preloaded
    else:
        known_machines, known_links = _read_machines_and_links(account, mids, sorted({u for u, _ in links}))
    new = [mid for mid in mids if mid not in known_machines]
    if new:
        _insert_ignore_returning(
            Machine, ["account_id", "machine_id", "hostname", "domain", "first_seen_at", "last_seen_at"],
            [(account.id, mid, machines[mid].hostname, machines[mid].domain,
              machines[mid].first_seen_at, machines[mid].last_seen_at) for mid in new],
            ["id"],
        )
        # Read back, with those a concurrent batch inserted first.
        known_machines.update({
            mid: (pk, None)
            for pk, mid in Machine.objects.filter(account=account, machine_id__in=new).values_list("id", "machine_id")
        })
    _touch(Machine, "last_seen_at", {
        known_machines[mid][0]: m.last_seen_at
        for mid, m in machines.items()
        if mid not in new and _stale(known_machines[mid][1], m.last_seen_at)
    }, touches)
    new_links = sorted(pair for pair in links if pair not in known_links)
    _insert_ignore_returning(
        TrackedUserMachine, ["tracked_user_id", "machine_id", "last_seen_at"],
        [(u, known_machines[mid][0], links[(u, mid)]) for u, mid in new_links], ["id"],
    )
    _touch(TrackedUserMachine, "last_seen_at", {
        known_links[pair][0]: seen
        for pair, seen in links.items()
        if pair in known_links and _stale(known_links[pair][1], seen)
    }, touches)


def _read_machines_and_links(account, mids, uids):
    """{machine_id: (pk, last seen)}, {(user pk, machine_id): (pk, last seen)} in one query."""
    qn = connection.ops.quote_name
    m_table, l_table = qn(Machine._meta.db_table), qn(TrackedUserMachine._meta.db_table)
    sql = (
        f"SELECT m.id, m.machine_id, m.last_seen_at, l.id, l.tracked_user_id, l.last_seen_at "
        f"FROM {m_table} m LEFT JOIN {l_table} l ON l.machine_id = m.id "
        f"AND l.tracked_user_id IN ({', '.join(['%s'] * len(uids))}) "
        f"WHERE m.account_id = %s AND m.machine_id IN ({', '.join(['%s'] * len(mids))})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*uids, account.id, *mids])
        return _machines_and_links_from(cursor.fetchall())


def _machines_and_links_from(rows):
    field = Machine._meta.get_field("last_seen_at")
    converters = connection.ops.get_db_converters(field.cached_col)

    def convert(value):
        for converter in converters:
            value = converter(value, field, connection) if value is not None else None
        return value

    known_machines, known_links = {}, {}
    for m_id, mid, m_seen, l_id, l_uid, l_seen in rows:
        known_machines[mid] = (m_id, convert(m_seen))
        if l_id is not None:
            known_links[(l_uid, mid)] = (l_id, convert(l_seen))
    return known_machines, known_links


USER_COLUMNS = ["id", "identity_kind", "identity_scope", "identity_name", "state", "merged_into_id", "last_log_record_at"]


class UserRow(NamedTuple):
    """A tracked user as a batch needs it (model instances cost too much per event)."""

    id: int
    identity_kind: str
    identity_scope: str
    identity_name: str
    state: str
    merged_into_id: int | None
    last_log_record_at: object


class SeenMachine(NamedTuple):
    hostname: str
    domain: str
    first_seen_at: object
    last_seen_at: object


def _batch_users_sql():
    """The batch's tracked users and the users merged-away ones report to, in one query. Read
    after the account's users lock (``users_lock``), so no Users-page action is half done.

    The identities come as three aligned arrays joined as rows (``UNNEST``): each is one probe of
    the unique identity index, and the plan does not depend on how many there are, so the read
    phase can run it prepared (``_read_batch_postgresql``). Merged-away users' destinations come
    by the primary key. (Written as one WHERE with OR, the planner read every user of the
    account: a sequential scan, 0.45 ms at 2,000 users, growing with the account.)"""
    qn = connection.ops.quote_name
    tu = qn(TrackedUser._meta.db_table)
    columns = ", ".join(USER_COLUMNS)
    return (
        f"WITH found AS (SELECT {', '.join('tu.' + c for c in USER_COLUMNS)} "
        f"FROM UNNEST(%s::varchar[], %s::varchar[], %s::varchar[]) AS i(kind, scope, name) "
        f"JOIN {tu} tu ON tu.account_id = %s::bigint AND NOT (tu.state = 'deleted') "
        f"AND tu.identity_kind = i.kind AND tu.identity_scope = i.scope AND tu.identity_name = i.name) "
        f"SELECT {columns} FROM found UNION ALL "
        f"SELECT {columns} FROM {tu} WHERE account_id = %s::bigint AND NOT (state = 'deleted') "
        f"AND id IN (SELECT merged_into_id FROM found WHERE state = 'merged')"
    )


def _identity_arrays(identities):
    """(kinds, scopes, names): the identities as three aligned arrays, in a stable order."""
    ordered = sorted(tuple(i) for i in identities)
    return [i[0] for i in ordered], [i[1] for i in ordered], [i[2] for i in ordered]


def _batch_users_params(account, identities):
    return [*_identity_arrays(identities), account.id, account.id]


def _read_phase_statements():
    """{name: (parameter types, statement)}: the read phase's statements, prepared once per
    database connection. The names carry the tables they touch (the fault tests find them)."""
    qn = connection.ops.quote_name
    tu, m, link, ev = (qn(model._meta.db_table) for model in (TrackedUser, Machine, TrackedUserMachine, CheckinEvent))
    return {
        # Lock order, first: the account's users lock, shared (see users_lock).
        "licensing_users_lock_shared": ("integer, integer", "SELECT pg_advisory_xact_lock_shared(%s, %s)"),
        "licensing_checkinevent_insert": (
            "bigint, timestamptz, varchar[]",
            f"INSERT INTO {ev} (account_id, event_id, received_at) "
            f"SELECT %s, e, %s FROM UNNEST(%s::varchar[]) AS e ON CONFLICT DO NOTHING RETURNING event_id",
        ),
        "licensing_trackeduser_batch": ("varchar[], varchar[], varchar[], bigint, bigint", _batch_users_sql()),
        # Only the links of the batch's users (or of those they were merged into): a terminal
        # server seen with thousands of users must not send them all back at each check-in.
        "licensing_machine_batch": (
            "varchar[], bigint, varchar[], varchar[], varchar[], bigint",
            f"SELECT mm.id, mm.machine_id, mm.last_seen_at, l.id, l.tracked_user_id, l.last_seen_at "
            f"FROM UNNEST(%s::varchar[]) AS b(machine_id) "
            f"JOIN {m} mm ON mm.account_id = %s::bigint AND mm.machine_id = b.machine_id "
            f"LEFT JOIN {link} l ON l.machine_id = mm.id AND l.tracked_user_id IN ("
            f"SELECT COALESCE(t.merged_into_id, t.id) FROM UNNEST(%s::varchar[], %s::varchar[], %s::varchar[]) "
            f"AS i(kind, scope, name) JOIN {tu} t ON t.account_id = %s::bigint AND NOT (t.state = 'deleted') "
            f"AND t.identity_kind = i.kind AND t.identity_scope = i.scope AND t.identity_name = i.name)",
        ),
    }


def _positional(sql):
    """%s placeholders as PREPARE's $1, $2, ..."""
    parts = sql.split("%s")
    return "".join(part + (f"${n}" if n < len(parts) else "") for n, part in enumerate(parts, start=1))


_prepared_on = weakref.WeakSet()  # the psycopg connections the read phase is prepared on


def _prepare_read_phase(cursor):
    """PREPARE the read phase on this connection, once: prepared statements live as long as the
    database session (a rollback keeps them). Parsed and planned once, not at every check-in:
    0.45 ms less of PostgreSQL's time for one event's read phase, 0.6 ms for a batch of 100
    (docs/performance.md). SQL-level PREPARE, so the read phase stays one simple-protocol round
    trip; a transaction-pooling PgBouncer would not keep them (docs/licensing.md, "Durability")."""
    raw = connection.connection
    if raw in _prepared_on:
        return
    statements = _read_phase_statements()
    cursor.execute("SELECT name FROM pg_prepared_statements WHERE name = ANY(%s)", [list(statements)])
    for (name,) in cursor.fetchall():  # some left after a partial DEALLOCATE: all made anew
        cursor.execute(f"DEALLOCATE {name}")
    for name, (types, sql) in statements.items():
        cursor.execute(f"PREPARE {name}({types}) AS {_positional(sql)}")
    _prepared_on.add(raw)


def _text_array(values):
    """``values`` (strings) as one PostgreSQL array literal, for a ``%s::varchar[]``
    parameter: psycopg then quotes one string, not each element through its array dumper (in
    Python: about a tenth of a batch's CPU in the Django process, issue 13). Every element is
    double-quoted with its backslashes and double quotes escaped, so any text is itself (NUL,
    which PostgreSQL cannot hold, is refused at validation)."""
    return "{" + ",".join(['"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values]) + "}"


def _read_batch_postgresql(account, event_ids, identities, machine_ids, now):
    """The whole read phase of a batch in one round trip to PostgreSQL, as prepared statements
    run with their generic plans (they do not depend on the arrays' contents, and PostgreSQL
    would otherwise plan each anew): asynchronous commit for this transaction, the INSERT of the
    event ids (the ones it returns are new), the batch's tracked users, and its machines with
    their users' links."""
    kinds, scopes, names = (_text_array(a) for a in _identity_arrays(identities))
    sql = "; ".join([
        # Check-ins are acknowledged without waiting for the WAL flush (the commit is still
        # atomic; a database crash may lose the last fraction of a second of check-ins, which
        # agents report again at their next check-in). docs/licensing.md, "Durability".
        "SET LOCAL synchronous_commit TO OFF",
        "SET LOCAL plan_cache_mode TO force_generic_plan",
        "EXECUTE licensing_users_lock_shared(%s, %s)",
        "EXECUTE licensing_checkinevent_insert(%s, %s, %s)",
        "EXECUTE licensing_trackeduser_batch(%s, %s, %s, %s, %s)",
        "EXECUTE licensing_machine_batch(%s, %s, %s, %s, %s, %s)",
    ])
    params = [
        *_users_lock_key(account.id),
        account.id, now, _text_array(event_ids),
        kinds, scopes, names, account.id, account.id,
        _text_array(machine_ids), account.id, kinds, scopes, names, account.id,
    ]
    with connection.cursor() as cursor:
        _prepare_read_phase(cursor)
        try:
            # The transaction's BEGIN in the same round trip, when nothing ran in it before.
            cursor.execute(begin_with(sql), params)
        except ProgrammingError as error:
            if getattr(error.__cause__, "sqlstate", None) == "26000":  # deallocated under us
                _prepared_on.discard(connection.connection)
                raise TransactionConflict("the read phase's prepared statements were gone") from error
            raise
        results = []
        while True:
            if cursor.description is not None:
                results.append(cursor.fetchall())
            if not cursor.nextset():
                break
    created_ids = {r[0] for r in results[1]}
    users = [UserRow(*row) for row in results[2]]
    return created_ids, users, _machines_and_links_from(results[3])


@retry_on_conflict
def checkins_record(*, key, events, now=None):
    """Records a batch of validated check-in events of one agent key, set-based.

    ``events`` is a list of objects with event_id, machine_id, hostname, domain, username,
    observed_at and activity (list of {app, url, title, seconds}). Returns one result string
    per event, in order: accepted, duplicate or not_tracked, and the number of tracked users
    the batch created.

    Locks are taken in the order of docs/security.md ("Lock order"): the account's users lock
    (shared), event ids, new tracked users, machines, links, activity rows, and the account's
    licensing row last (used, storage, compliance). A transaction that lost a deadlock anyway
    is run again (``retry_on_conflict``).
    """
    account = key.account
    now = now or timezone.now()
    results = [None] * len(events)
    with transaction.atomic():
        # Duplicates: an event id already seen for the account (or twice in this batch).
        first_of = {}
        for i, event in enumerate(events):
            if event.event_id in first_of:
                results[i] = DUPLICATE
            else:
                first_of[event.event_id] = i
        identities = {}
        for i in first_of.values():
            e = events[i]
            ident = identity_of(domain=e.domain, machine_id=e.machine_id, username=e.username)
            identities.setdefault(ident, []).append(i)
        preloaded = None
        if connection.vendor == "postgresql":
            created_ids, found, preloaded = _read_batch_postgresql(
                account, sorted(first_of), identities, sorted({events[i].machine_id for i in first_of.values()}), now
            )
        else:
            created_ids = {
                r[0]
                for r in _insert_ignore_returning(
                    CheckinEvent, ["account_id", "event_id", "received_at"],
                    [(account.id, eid, now) for eid in sorted(first_of)], ["event_id"],
                )
            }
            found = None
        fresh = set()
        for eid, i in first_of.items():
            if eid in created_ids:
                fresh.add(i)
            else:
                results[i] = DUPLICATE
        if not fresh:
            return results, 0
        identities = {
            ident: [i for i in indexes if i in fresh]
            for ident, indexes in identities.items()
            if any(i in fresh for i in indexes)
        }

        def read_users(found=None):
            if found is None and connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute(_batch_users_sql(), _batch_users_params(account, identities))
                    found = [UserRow(*row) for row in cursor.fetchall()]
            if found is not None:
                # The query also brings the destinations of merged-away users (by id, below).
                by_id.update({u.id: u for u in found})
                return {(u.identity_kind, u.identity_scope, u.identity_name): u for u in found}
            # All three parts of the identity, so the unique index answers the lookup.
            found = TrackedUser.objects.filter(
                account=account,
                identity_kind__in={ident.kind for ident in identities},
                identity_scope__in={ident.scope for ident in identities},
                identity_name__in={ident.name for ident in identities},
            ).exclude(state=TrackedUserState.DELETED).values_list(*USER_COLUMNS)
            return {(u.identity_kind, u.identity_scope, u.identity_name): u for u in map(UserRow._make, found)}

        by_id = {}
        users = read_users(found)
        missing = sorted(ident for ident in identities if tuple(ident) not in users)
        created = 0
        if missing:
            rows = []
            for ident in missing:
                e = max((events[i] for i in identities[ident]), key=lambda ev: ev.observed_at)
                first = min(events[i].observed_at for i in identities[ident])
                rows.append((
                    account.id, ident.kind, ident.scope, ident.name,
                    e.domain or "" if ident.kind == IdentityKind.DOMAIN else "",
                    e.username, "" if ident.kind == IdentityKind.DOMAIN else e.hostname,
                    "", TrackedUserState.ACTIVE, min(first, now), e.observed_at,
                ))
            new_users = _insert_ignore_returning(
                TrackedUser,
                ["account_id", "identity_kind", "identity_scope", "identity_name", "domain",
                 "username", "machine_hostname", "alias", "state", "first_seen_at",
                 "last_log_record_at"],
                rows, ["id"],
            )
            created = len(new_users)
            if created:
                users_tracked.send(sender=TrackedUser, account=account, user_ids=[r[0] for r in new_users])
            # Rows created by a concurrent batch that won the race are read back here.
            users = read_users()
            if any(tuple(ident) not in users for ident in identities):
                # Another batch created the row first and an Admin deleted it before this
                # re-read (issue 11, item 3: it was a KeyError): run the batch again, it will
                # make the user anew.
                raise TransactionConflict("a tracked user vanished between insert and re-read")

        # A merged-away identity counts toward (and its history goes to) its destination.
        merged_ids = {u.merged_into_id for u in users.values() if u.state == TrackedUserState.MERGED}
        destinations = {pk: by_id[pk] for pk in merged_ids if pk in by_id}
        if merged_ids - set(destinations):
            destinations.update({
                u.id: u
                for u in map(UserRow._make, TrackedUser.objects.filter(pk__in=merged_ids - set(destinations),
                                                                       account=account)
                             .values_list(*USER_COLUMNS))
            })

        machines = {}
        touched = {}  # user id -> (user, latest observed_at)
        links = {}
        tracked_events = []
        for ident, indexes in identities.items():
            user = users[tuple(ident)]
            if user.state == TrackedUserState.MERGED:
                user = destinations.get(user.merged_into_id)
            if user is None or user.state != TrackedUserState.ACTIVE:
                for i in indexes:
                    results[i] = NOT_TRACKED
                continue
            for i in indexes:
                e = events[i]
                results[i] = ACCEPTED
                tracked_events.append((user, e))
                if e.machine_id not in machines or machines[e.machine_id].last_seen_at < e.observed_at:
                    machines[e.machine_id] = SeenMachine(e.hostname, e.domain or "", e.observed_at, e.observed_at)
                latest = touched.get(user.id, (user, None))[1]
                if latest is None or e.observed_at > latest:
                    touched[user.id] = (user, e.observed_at)
                link_key = (user.id, e.machine_id)
                if link_key not in links or links[link_key] < e.observed_at:
                    links[link_key] = e.observed_at

        touches = []
        if machines:
            _machines_and_links_record(account, machines, links, preloaded, touches)
        _touch(TrackedUser, "last_log_record_at", {
            user.id: latest for user, latest in touched.values() if _stale(user.last_log_record_at, latest)
        }, touches)
        # The touches go in the activity upsert's round trip (they run first: lock order).
        added_bytes = activity.activity_ingest_batch(account=account, entries=[
            (user.id, e.observed_at, [dict(item) for item in e.activity])
            for user, e in tracked_events if e.activity
        ], keep_details=getattr(key, "keeps_screen_details", None), before=touches)
        # The licensing row last (lock order): after every user and activity row.
        if created:
            _used_add(account=account, delta=created)
        # agent_key_authenticate loads the subscription with the key; a key made otherwise has none.
        subscription = getattr(key, "subscription", None) or subscription_for(account=account)
        plan = subscription.plan if subscription else None
        storage_limited = plan is not None and plan.storage_limit_bytes is not None
        if created or (added_bytes and storage_limited):
            row = compliance_evaluate(account=account, actor=Actor.agent(key.prefix), now=now)
            if created and subscription:
                # The dashboard's chart keeps the day's high water of used, not only the nightly value.
                activity.usage_snapshot_bump(account=account, used=row.used, licenses=subscription.licenses)
    return results, created


# --- Tracked users: the Users page's actions ----------------------------------------------------


def _user_snapshot(user):
    return {"id": user.pk, "name": user.display_name, "state": user.state, "alias": user.alias}


def _locked_user(*, account, user_id):
    users_lock(account=account, exclusive=True)
    user = TrackedUser.objects.select_for_update().filter(account=account, pk=user_id).first()
    if user is None:
        raise ServiceError("That user does not exist in this account.")
    return user


@retry_on_conflict
def tracked_user_set_alias(*, account, user_id, alias, actor):
    """A display name (50 characters at most). It joins profiles in reports, never the count."""
    alias = alias.strip()
    if len(alias) > 50:
        raise ServiceError("An alias has 50 characters at most.")
    with transaction.atomic():
        user = _locked_user(account=account, user_id=user_id)
        if user.state == TrackedUserState.DELETED:
            raise ServiceError("A deleted user cannot be renamed.")
        before = _user_snapshot(user)
        user.alias = alias
        user.save(update_fields=["alias"])
        audit_record(
            account=account, actor=actor, kind="tracked_user.alias_set",
            summary=f"Alias of {before['name']} set to {alias!r}" if alias else f"Alias of {before['name']} removed",
            before=before, after=_user_snapshot(user),
        )
    return user


@retry_on_conflict
def tracked_user_do_not_track(*, account, user_id, actor):
    """Puts an active user on the Do Not Track list: no longer logged nor counted."""
    with transaction.atomic():
        user = _locked_user(account=account, user_id=user_id)
        if user.state != TrackedUserState.ACTIVE:
            raise ServiceError("Only an active user can be put on the Do Not Track list.")
        before = _user_snapshot(user)
        user.state = TrackedUserState.DO_NOT_TRACK
        user.save(update_fields=["state"])
        _used_add(account=account, delta=-1)
        audit_record(
            account=account, actor=actor, kind="tracked_user.do_not_track_added",
            summary=f"{user.display_name} put on the Do Not Track list (license reclaimed)",
            before=before, after=_user_snapshot(user),
        )
        compliance_evaluate(account=account, actor=actor)
    return user


@retry_on_conflict
def tracked_user_track_again(*, account, user_id, actor):
    """Takes a user off the Do Not Track list: logged and counted again."""
    with transaction.atomic():
        user = _locked_user(account=account, user_id=user_id)
        if user.state != TrackedUserState.DO_NOT_TRACK:
            raise ServiceError("That user is not on the Do Not Track list.")
        before = _user_snapshot(user)
        user.state = TrackedUserState.ACTIVE
        user.save(update_fields=["state"])
        _used_add(account=account, delta=1)
        audit_record(
            account=account, actor=actor, kind="tracked_user.do_not_track_removed",
            summary=f"{user.display_name} taken off the Do Not Track list (uses a license)",
            before=before, after=_user_snapshot(user),
        )
        compliance_evaluate(account=account, actor=actor)
    return user


@retry_on_conflict
def tracked_user_delete(*, account, user_id, actor):
    """Deletes a user and its activity data; its license is reclaimed. Users merged into it go
    with it. If its agent still reports, it comes back as a new user."""
    with transaction.atomic():
        user = _locked_user(account=account, user_id=user_id)
        if user.state in (TrackedUserState.DELETED, TrackedUserState.MERGED):
            raise ServiceError("That user is already deleted or merged into another.")
        if user.state == TrackedUserState.DO_NOT_TRACK:
            # Deleting would free the identity: its agent's next check-in would make a new,
            # tracked and counted user, and the Do Not Track entry would be silently gone.
            raise ServiceError(
                "This user is on the Do Not Track list and uses no license. Take it off the list "
                "first if you mean to delete it; deleted users whose agents still report come back."
            )
        before = _user_snapshot(user)
        family = [user.pk, *TrackedUser.objects.filter(account=account, merged_into=user).values_list("pk", flat=True)]
        ActivityDay.objects.filter(account=account, tracked_user_id__in=family).delete()
        activity.storage_recompute(account_ids=[account.pk])
        TrackedUserMachine.objects.filter(tracked_user_id__in=family).delete()
        now = timezone.now()
        TrackedUser.objects.filter(pk__in=family).update(
            state=TrackedUserState.DELETED, deleted_at=now, merged_into=None
        )
        if before["state"] == TrackedUserState.ACTIVE:
            _used_add(account=account, delta=-1)
        audit_record(
            account=account, actor=actor, kind="tracked_user.deleted",
            summary=f"{before['name']} deleted with its activity data",
            before=before, after={"state": TrackedUserState.DELETED, "merged_users_deleted": len(family) - 1},
        )
        compliance_evaluate(account=account, actor=actor)
    user.refresh_from_db()
    return user


@retry_on_conflict
def activity_delete_range(*, account, start, end, actor):
    """Deletes the account's activity of the days ``start`` to ``end`` (inclusive, UTC days),
    set-based; storage is recomputed and compliance read again, so a storage block lifts once
    the account is under its plan's limit (PRODUCT.md: "until data is deleted").

    The users lock (exclusive) first: a check-in adding to a row of the range waits instead of
    racing the delete (docs/security.md, lock order 1, 5, 6, 7). Returns the rows deleted.
    """
    if start > end:
        raise ServiceError("The start date is after the end date.")
    with transaction.atomic():
        users_lock(account=account, exclusive=True)
        before = licensing_row(account=account).storage_bytes
        deleted, _ = ActivityDay.objects.filter(account=account, day__gte=start, day__lte=end).delete()
        activity.storage_recompute(account_ids=[account.pk])
        after = licensing_row(account=account).storage_bytes
        audit_record(
            account=account, actor=actor, kind="activity.deleted",
            summary=f"Activity from {start:%Y-%m-%d} to {end:%Y-%m-%d} deleted ({deleted} rows)",
            before={"storage_bytes": before},
            after={"storage_bytes": after, "rows_deleted": deleted,
                   "start": start.isoformat(), "end": end.isoformat()},
        )
        compliance_evaluate(account=account, actor=actor)
    return deleted


def machine_retire(*, account, machine_id, actor):
    """Retires a machine of the account (issue 15): it leaves the Agents page's active list.
    Its users keep their licenses (they may log in elsewhere; an Admin reclaims one by deleting
    or merging the user on the Users page), its links and activity stay. A check-in after the
    retirement lists it as active again (licensing.machines.retired_q)."""
    with transaction.atomic():
        # Lock order 4 (machines): a check-in touching it waits; nothing else is locked.
        machine = Machine.objects.select_for_update().filter(account=account, pk=machine_id).first()
        if machine is None:
            raise ServiceError("That machine does not exist in this account.")
        if machine.retired_at is not None and machine.last_seen_at <= machine.retired_at:
            raise ServiceError(f"{machine.hostname} is already retired.")
        machine.retired_at = timezone.now()
        machine.save(update_fields=["retired_at"])
        audit_record(
            account=account, actor=actor, kind="machine.retired",
            summary=f"Machine {machine.hostname} retired",
            before={"hostname": machine.hostname, "machine_id": machine.machine_id,
                    "last_seen_at": machine.last_seen_at.isoformat()},
            after={"retired_at": machine.retired_at.isoformat()},
        )
    return machine


def _namesakes(*, account, identity_name):
    """The active stand-alone users of one (folded) username, the most recently active first."""
    users = list(
        TrackedUser.objects.filter(
            account=account, identity_kind=IdentityKind.MACHINE, state=TrackedUserState.ACTIVE,
            identity_name=identity_name,
        ).order_by(F("last_log_record_at").desc(nulls_last=True), "-pk").values_list("pk", flat=True)
    )
    if len(users) < 2:
        raise ServiceError("No user of that name is seen on several stand-alone machines.")
    return users


@retry_on_conflict
def namesakes_merge(*, account, identity_name, actor):
    """The Eva and Bob case (issue 15): the stand-alone users of one username merge into the
    most recently active of them, in one transaction, through ``tracked_user_merge`` (paid plans
    only; its users lock and row locks, lock order 1 then 3). Returns the destination."""
    if not merge_allowed(account=account):
        raise ServiceError("Merging users is available on paid plans only.")
    with transaction.atomic():
        users_lock(account=account, exclusive=True)
        destination_id, *sources = _namesakes(account=account, identity_name=identity_name)
        for source_id in sources:
            destination = tracked_user_merge(
                account=account, source_id=source_id, destination_id=destination_id, actor=actor
            )
    return destination


@retry_on_conflict
def namesakes_alias(*, account, identity_name, alias, actor):
    """Gives the stand-alone users of one username one alias (one person in the reports; the
    license count does not change), through ``tracked_user_set_alias``, in one transaction."""
    if not alias.strip():
        raise ServiceError("Type the alias to give them.")
    if len(alias.strip()) > 50:
        raise ServiceError("An alias has 50 characters at most.")
    with transaction.atomic():
        users_lock(account=account, exclusive=True)
        user_ids = sorted(_namesakes(account=account, identity_name=identity_name))
        for user_id in user_ids:
            tracked_user_set_alias(account=account, user_id=user_id, alias=alias, actor=actor)
    return len(user_ids)


def merge_allowed(*, account):
    """Merging is for Admins of paid accounts (help pages): not Free, not a trial."""
    return entitlements_for(account=account).paid


@retry_on_conflict
def tracked_user_merge(*, account, source_id, destination_id, actor):
    """Folds ``source`` into ``destination`` for ever: its machines and activity follow the
    destination, its identity reports to the destination, and it stops counting."""
    if not merge_allowed(account=account):
        raise ServiceError("Merging users is available on paid plans only.")
    if source_id == destination_id:
        raise ServiceError("A user cannot be merged into itself.")
    with transaction.atomic():
        # Both rows locked in id order, so two crossing merges cannot deadlock.
        users_lock(account=account, exclusive=True)
        locked = {
            u.pk: u
            for u in TrackedUser.objects.select_for_update()
            .filter(account=account, pk__in=[source_id, destination_id]).order_by("pk")
        }
        source, destination = locked.get(source_id), locked.get(destination_id)
        if source is None or destination is None:
            raise ServiceError("That user does not exist in this account.")
        if source.state != TrackedUserState.ACTIVE or destination.state != TrackedUserState.ACTIVE:
            raise ServiceError("Only two active users can be merged.")
        before = {"source": _user_snapshot(source), "destination": _user_snapshot(destination)}
        # Machine links: keep the destination's where both have one, re-point the rest.
        dest_machines = TrackedUserMachine.objects.filter(tracked_user=destination).values("machine_id")
        TrackedUserMachine.objects.filter(tracked_user=source, machine_id__in=dest_machines).delete()
        TrackedUserMachine.objects.filter(tracked_user=source).update(tracked_user=destination)
        activity.activity_move(source=source, destination=destination)
        TrackedUser.objects.filter(account=account, merged_into=source).update(merged_into=destination)
        if source.last_log_record_at and (
            destination.last_log_record_at is None or source.last_log_record_at > destination.last_log_record_at
        ):
            destination.last_log_record_at = source.last_log_record_at
        destination.first_seen_at = min(destination.first_seen_at, source.first_seen_at)
        destination.save(update_fields=["last_log_record_at", "first_seen_at"])
        source.state = TrackedUserState.MERGED
        source.merged_into = destination
        source.save(update_fields=["state", "merged_into"])
        _used_add(account=account, delta=-1)
        audit_record(
            account=account, actor=actor, kind="tracked_user.merged",
            summary=f"{source.display_name} merged into {destination.display_name} (license reclaimed)",
            before=before, after={"source": _user_snapshot(source), "destination": _user_snapshot(destination)},
        )
        compliance_evaluate(account=account, actor=actor)
    return destination


def licensing_recount(*, account, actor=None):
    """Safety net: recounts users used from the tracked users and fixes the counter if it
    drifted (it should not: every change updates it in its own transaction)."""
    actor = actor or Actor.system("licensing_recount")
    with transaction.atomic():
        row = licensing_row(account=account, lock=True)
        used = TrackedUser.objects.filter(account=account, state__in=COUNTED_STATES).count()
        if used != row.used:
            before = row.used
            AccountLicensing.objects.filter(pk=row.pk).update(used=used)
            agent_cache.account_changed(account.pk)
            audit_record(
                account=account, actor=actor, kind="licensing.recounted",
                summary=f"Users used recounted: {before} -> {used}",
                before={"used": before}, after={"used": used},
            )
            compliance_evaluate(account=account, actor=actor)
    return used
