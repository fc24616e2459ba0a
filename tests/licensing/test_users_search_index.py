"""Issue 13: the Users page's substring search is answered by pg_trgm indexes on PostgreSQL
(licensing migration 0006; nothing on SQLite)."""

import pytest
from django.db import connection, transaction

from licensing.models import TrackedUser
from licensing.selectors import tracked_users_for_page
from tests.factories import make_account
from tests.helpers import requires_postgres
from tests.licensing.activity_helpers import tracked_user

pytestmark = [requires_postgres, pytest.mark.django_db]


def test_each_searched_column_is_answered_by_its_trigram_index():
    """The index expressions are the ones Django writes for ``icontains`` (UPPER(col::text)
    LIKE ...), so the planner can use them; bench/scale.py measures the page at 100,000 users."""
    account, _ = make_account(plan="professional", licenses=10)
    tracked_user(account)
    for column in ("username", "alias", "domain", "machine_hostname"):
        qs = TrackedUser.objects.filter(**{f"{column}__icontains": "r0999"})
        sql, params = qs.query.sql_with_params()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")  # a tiny table: show what it can use
            cursor.execute(f"EXPLAIN {sql}", params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        assert f"licensing_trackeduser_{column}_trgm" in plan, plan
    # The page's own query still finds the user.
    assert tracked_users_for_page(account=account, query=TrackedUser.objects.get().username[2:5]).exists()
