"""The load balancer's view: /healthz says 503 with Retry-After when the database is down."""

import pytest
from django.db import connection
from django.db.utils import OperationalError

pytestmark = pytest.mark.django_db


def test_healthz_503_when_database_unreachable(client, monkeypatch):
    def refused(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", refused)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response["Retry-After"] == "10"
    assert response.json()["database"] == "OperationalError"
    assert response["Cache-Control"].startswith("max-age=0")
