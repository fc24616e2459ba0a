"""The Integrations page: an Admin makes and revokes API tokens (docs/connect.md)."""

import pytest

from accounts.models import AuditEntry, Role
from connect.models import ApiToken
from tests.connect.helpers import Api, connect_account
from tests.factories import add_member

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(client):
    account, admin = connect_account()
    client.force_login(admin)
    return account, admin


def test_an_admin_makes_a_token_shown_once_and_stored_hashed(client, admin):
    account, _ = admin
    response = client.post("/integrations/", {"name": "Power BI", "scopes": ["read_activity", "read_users"]})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    secret = response.context["new_secret"]
    assert secret.startswith("ac_") and secret in response.content.decode()
    token = ApiToken.objects.get(account=account)
    assert token.scopes == ["read_activity", "read_users"]
    assert secret not in token.token_hash and token.prefix in secret
    assert AuditEntry.objects.filter(account=account, kind="api_token.created").exists()
    # Shown once: the page afterwards has only its prefix.
    page = client.get("/integrations/").content.decode()
    assert secret not in page and f"ac_{token.prefix}_" in page
    assert Api(client, secret).get("/users").status_code == 200


def test_a_token_needs_a_scope(client, admin):
    response = client.post("/integrations/", {"name": "x"})
    assert "Choose at least one scope." in response.content.decode()
    assert not ApiToken.objects.exists()


def test_an_admin_revokes_a_token(client, admin):
    client.post("/integrations/", {"name": "Tableau", "scopes": ["read_users"]})
    token = ApiToken.objects.get()
    secret_response = client.get(f"/integrations/tokens/{token.pk}/revoke/")
    assert secret_response.status_code == 200
    response = client.post(f"/integrations/tokens/{token.pk}/revoke/")
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert "revoked" in client.get("/integrations/").content.decode()


def test_an_account_without_the_addon_is_told_how_to_get_it(client):
    _account, admin = connect_account(addon=False)
    client.force_login(admin)
    assert "ActivConnect API" in client.get("/integrations/").content.decode()


@pytest.mark.parametrize("role", [Role.VIEWER, Role.BILLING])
def test_only_admins_reach_the_page(client, admin, role):
    client.force_login(add_member(admin[0], role))
    assert client.get("/integrations/").status_code == 403
    assert client.post("/integrations/", {"scopes": ["read_users"]}).status_code == 403
    assert not ApiToken.objects.exists()


def test_anonymous_visitors_go_to_login(client):
    client.logout()
    response = client.get("/integrations/")
    assert response.status_code == 302 and "/login/" in response["Location"]
