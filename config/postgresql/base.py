"""Django's PostgreSQL backend, whose per-request health check of a persistent connection
looks at the connection's socket before it asks the server (issue 13).

With ``CONN_HEALTH_CHECKS``, Django checks a reused connection at the first query of each
request with ``SELECT 1``: one round trip per request, about 0.13 ms of a check-in's 3. Here,
a connection the server ended (a restart, ``pg_terminate_backend``, an idle timeout) has data
waiting on its socket (the server's last message, or the end of the stream) while Django is not
expecting any: only then is the ``SELECT 1`` run, and it fails and the connection is replaced
as before. A sound, idle connection has nothing to read and costs no round trip. What neither
check sees in time is a peer that vanished without a word (a network cut): the query then fails
as ``SELECT 1`` itself would have, after the same TCP timeout; nor a last message libpq had
already read into its buffer with the previous answer (a race of microseconds): that request's
first query fails, the middleware answers 503 "retry", and Django replaces the connection at the
request's end, as it does after any error. The settings choose this backend
for every PostgreSQL ``DATABASE_URL`` (config/settings.py); docs/performance.md has the figures.
"""

import select

from django.db.backends.postgresql.base import DatabaseWrapper as PostgreSQLDatabaseWrapper
from psycopg.pq import TransactionStatus


class DatabaseWrapper(PostgreSQLDatabaseWrapper):
    def close_if_health_check_failed(self):
        if (
            not self.pool and self.connection is not None and self.health_check_enabled
            and not self.health_check_done and self._quiet()
        ):
            self.health_check_done = True
            return
        super().close_if_health_check_failed()

    def _quiet(self):
        """True when the connection is open, idle and nothing waits on its socket."""
        raw = self.connection
        try:
            if raw.closed or raw.info.transaction_status != TransactionStatus.IDLE:
                return False
            readable, _, _ = select.select([raw.fileno()], [], [], 0)
        except Exception:  # any doubt: the real check decides
            return False
        return not readable
