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
