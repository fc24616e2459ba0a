"""Issue 13: a persistent connection's health check at the start of a request costs no round
trip while the connection is sound (config/postgresql: the socket is looked at, not queried),
and a connection the server cut is still found out and replaced before the request uses it."""

import pytest
from django.db import connection

from tests.helpers import requires_postgres

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]


def _request_starts():
    """What Django does for each request with a persistent connection (``request_started``)."""
    connection.close_if_unusable_or_obsolete()


def _queries_sent(run):
    import os
    import re
    import tempfile

    from psycopg import pq

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


def _one_query():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 42")
        return cursor.fetchone()[0]


def test_a_sound_connection_is_checked_without_a_round_trip():
    assert connection.settings_dict["CONN_HEALTH_CHECKS"] is True
    connection.ensure_connection()
    _request_starts()
    sent = _queries_sent(_one_query)
    assert sent == ["SELECT 42"], sent  # no "SELECT 1" before it


def test_a_connection_the_server_cut_is_replaced_before_the_request_uses_it():
    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    import psycopg

    dsn = connection.connection.info.dsn
    with psycopg.connect(dsn, dbname=connection.settings_dict["NAME"], autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
    import time

    time.sleep(0.2)  # the server's notice and the close reach the socket
    _request_starts()
    assert _one_query() == 42  # a new connection, not an error
    assert connection.connection.info.backend_pid != pid
