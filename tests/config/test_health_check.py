"""Issue 13: a persistent connection's health check at the start of a request costs no round
trip while the connection is sound (config/postgresql: the socket is looked at, not queried),
and a connection the server cut is still found out and replaced before the request uses it."""

import time

import psycopg
import pytest
from django.db import connection

from tests.helpers import queries_sent, requires_postgres

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]


def _request_starts():
    """What Django does for each request with a persistent connection (``request_started``)."""
    connection.close_if_unusable_or_obsolete()


def _one_query():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 42")
        return cursor.fetchone()[0]


def test_a_sound_connection_is_checked_without_a_round_trip():
    assert connection.settings_dict["CONN_HEALTH_CHECKS"] is True
    connection.ensure_connection()
    _request_starts()
    sent = queries_sent(_one_query)
    assert sent == ["SELECT 42"], sent  # no "SELECT 1" before it


def test_a_connection_the_server_cut_is_replaced_before_the_request_uses_it():
    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    with psycopg.connect(connection.connection.info.dsn, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
    time.sleep(0.2)  # the server's notice and the close reach the socket
    _request_starts()
    assert _one_query() == 42  # a new connection, not an error
    assert connection.connection.info.backend_pid != pid
