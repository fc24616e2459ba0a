import pytest
from django.conf import settings

ON_POSTGRES = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")

requires_postgres = pytest.mark.skipif(
    not ON_POSTGRES,
    reason="row locks and concurrent writers only mean something on PostgreSQL (set DATABASE_URL)",
)
