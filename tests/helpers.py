import pytest
from django.conf import settings

ON_POSTGRES = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")

requires_postgres = pytest.mark.skipif(
    not ON_POSTGRES,
    reason="row locks and concurrent writers only mean something on PostgreSQL (set DATABASE_URL)",
)


def queries_sent(run):
    """The simple-protocol queries ``run()`` sent to PostgreSQL on the default connection, read
    off libpq's own trace of the wire (not Django's log, which names a BEGIN psycopg may never
    send, and never sees the health check's SELECT 1)."""
    import os
    import re
    import tempfile

    from django.db import connection
    from psycopg import pq

    connection.ensure_connection()
    pgconn = connection.connection.pgconn
    with tempfile.NamedTemporaryFile("w+", suffix=".trace") as trace:
        pgconn.trace(trace.fileno())
        pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        try:
            run()
        finally:
            pgconn.untrace()
        trace.flush()
        os.fsync(trace.fileno())
        text = open(trace.name).read()
    return re.findall(r'^F\t\d+\tQuery\t "(.*)"$', text, re.MULTILINE)
