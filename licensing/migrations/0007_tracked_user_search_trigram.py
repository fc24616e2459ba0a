"""Trigram indexes for the Users page's substring search (issue 13): ``/users/?q=`` matches
username, alias, domain and machine with ``icontains``, which PostgreSQL runs as
``UPPER(col::text) LIKE UPPER('%q%')``; a GIN index of pg_trgm on each of those expressions
answers it without reading the account's every user (docs/performance.md: 100,000 users).

PostgreSQL only (``CREATE EXTENSION IF NOT EXISTS pg_trgm`` needs a role allowed to create it;
the postgres role of compose.yaml is). Nothing on SQLite."""

from django.db import migrations

COLUMNS = ["username", "alias", "domain", "machine_hostname"]


def _name(column):
    return f"licensing_trackeduser_{column}_trgm"


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for column in COLUMNS:
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS {_name(column)} ON licensing_trackeduser '
            f'USING gin ((UPPER("{column}"::text)) gin_trgm_ops)'
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in COLUMNS:
        schema_editor.execute(f"DROP INDEX IF EXISTS {_name(column)}")


class Migration(migrations.Migration):
    dependencies = [("licensing", "0006_checkin_event_received_at_brin")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
