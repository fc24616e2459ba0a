"""Agent keys: created and revoked by an Admin on the Agents page, issued by staff."""

import io
import re

import pytest
from django.core.management import call_command

from licensing.models import AgentKey
from tests.factories import make_account
from tests.licensing.conftest import URL, event

pytestmark = pytest.mark.django_db


def test_key_is_shown_once_and_works(admin_client, client):
    response = admin_client.post("/agents/", {"name": "Office laptops"})
    secret = re.search(r'id="agent-key-secret">([^<]+)<', response.content.decode()).group(1)
    key = AgentKey.objects.get(account=admin_client.account)
    assert key.key_hash != secret and secret not in key.key_hash
    assert secret.startswith(f"wa_{key.prefix}_")
    listing = admin_client.get("/agents/").content.decode()
    assert secret not in listing
    assert key.prefix in listing and "Office laptops" in listing and "never" in listing
    response = client.post(URL, {"events": [event("eva")]}, content_type="application/json",
                           headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200


def test_revoke_is_confirmed_then_the_key_is_refused(admin_client, agent):
    assert agent.key.prefix in admin_client.get(f"/agents/{agent.key.pk}/revoke/").content.decode()
    assert AgentKey.objects.get(pk=agent.key.pk).revoked_at is None  # GET only asks
    admin_client.post(f"/agents/{agent.key.pk}/revoke/")
    assert AgentKey.objects.get(pk=agent.key.pk).revoked_at is not None
    assert agent.post([event("eva")]).status_code == 401


def test_another_accounts_key_cannot_be_revoked(admin_client, make_agent):
    other, _ = make_account(plan="professional", licenses=5)
    theirs = make_agent(other)
    assert admin_client.post(f"/agents/{theirs.key.pk}/revoke/").status_code == 404
    assert AgentKey.objects.get(pk=theirs.key.pk).revoked_at is None
    assert theirs.key.prefix not in admin_client.get("/agents/").content.decode()


def test_issue_agent_key_prints_the_key_alone_on_its_last_line(paid_account, client):
    out = io.StringIO()
    call_command("issue_agent_key", paid_account[0].slug, "--name", "staff", stdout=out)
    secret = out.getvalue().strip().splitlines()[-1]
    response = client.post(URL, {"events": [event("eva")]}, content_type="application/json",
                           headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200
    assert AgentKey.objects.get(account=paid_account[0]).name == "staff"
