"""A BRIN index on the received time of check-in event ids (issue 13): the ids arrive in time
order, so a few kilobytes of block ranges let the daily purge find the old rows without reading
the table. PostgreSQL only; nothing on SQLite (a small database, the purge's scan is cheap)."""

from django.db import migrations

INDEX = "licensing_checkinevent_received_at_brin"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON licensing_checkinevent USING brin (received_at)"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("licensing", "0005_blocked_reason_choices")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
