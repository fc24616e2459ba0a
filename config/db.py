"""Transactions that lost a race the database settled: run them again, then say "busy".

PostgreSQL breaks a deadlock by aborting one of the transactions in it (SQLSTATE 40P01), and
refuses a serializable transaction that cannot be ordered (40001). Neither means the database is
unreachable: the transaction is safe to run again from the start, and almost always succeeds
the second time. ``retry_on_conflict`` does that a few times; if the race is still lost the
error reaches the middleware, which answers 503 "busy, retry" with Retry-After
(``config.middleware``), not "unreachable". docs/security.md, "Lock order".
"""

import functools
import logging
import random
import time

from django.db import OperationalError, connection
from psycopg.pq import TransactionStatus

logger = logging.getLogger("config.db")

# SQLSTATEs of a transaction that lost to another one and may simply be run again.
CONFLICT_SQLSTATES = {"40P01": "deadlock", "40001": "serialization failure", "55P03": "lock not available"}
ATTEMPTS = 4
# Backoff between attempts: a few milliseconds, random, so two losers do not meet again.
BACKOFF_SECONDS = 0.02


class TransactionConflict(Exception):
    """Raised by code that finds, inside its transaction, that a row it read changed under it
    (a tracked user deleted between the insert and the re-read): the transaction is run again."""


def conflict_reason(exc):
    """What race ``exc`` lost ("deadlock", ...), or None when it is not a lost race."""
    if isinstance(exc, TransactionConflict):
        return "changed under the transaction"
    if isinstance(exc, OperationalError):
        return CONFLICT_SQLSTATES.get(getattr(exc.__cause__, "sqlstate", None))
    return None


def retry_on_conflict(func=None, *, attempts=ATTEMPTS):
    """Runs ``func`` again (up to ``attempts`` times in all) when it lost a deadlock, a
    serialization failure or raised TransactionConflict. ``func`` must open its own
    transaction: inside a caller's transaction nothing can be retried (the caller's work is
    aborted too), so the error is passed up for the outermost one to retry."""
    if func is None:
        return functools.partial(retry_on_conflict, attempts=attempts)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        for attempt in range(1, attempts + 1):
            try:
                return func(*args, **kwargs)
            except (OperationalError, TransactionConflict) as exc:
                reason = conflict_reason(exc)
                if reason is None or connection.in_atomic_block or attempt == attempts:
                    raise
                logger.warning("%s lost a race (%s), attempt %s of %s", func.__qualname__, reason, attempt, attempts)
                time.sleep(random.uniform(0, BACKOFF_SECONDS * attempt))  # noqa: S311 - jitter, not a secret
        raise AssertionError("unreachable")

    return wrapper


def begin_with(sql):
    """``sql`` preceded by the transaction's BEGIN when it is the first statement of an
    outermost atomic block on PostgreSQL, so that the BEGIN goes in its round trip instead of
    one of its own (issue 13: the check-in's read phase; 0.13 ms less a check-in). Otherwise
    ``sql`` as it is.

    psycopg sends a BEGIN of its own before the first statement of a transaction unless the
    connection is in autocommit: it is put in autocommit for the rest of the block, while the
    server is in the transaction this BEGIN opens. Django still ends the block as always: its
    commit (or rollback) sends COMMIT (or ROLLBACK) whenever the server is in a transaction,
    whatever the autocommit flag, and it turns autocommit back on after. Not with an isolation
    level set (psycopg's BEGIN would carry it), nor inside a transaction already begun."""
    if connection.vendor != "postgresql" or not connection.in_atomic_block:
        return sql
    raw = connection.connection
    if raw is None or raw.info.transaction_status != TransactionStatus.IDLE or raw.isolation_level is not None:
        return sql
    raw.autocommit = True
    return "BEGIN; " + sql
