"""An account has a cap of active agent keys (issue 11, item 8); staff raise it in the admin."""



import pytest
from django.core.cache import cache

from accounts.actors import Actor
from accounts.models import Account, AuditEntry
from licensing.models import AgentKey
from licensing.services import agent_key_create, agent_key_revoke
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"
ATTACKER, OFFICE = "203.0.113.9", "198.51.100.4"


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


def _keys(account):
    return AgentKey.objects.filter(account=account, revoked_at__isnull=True).count()


def test_the_21st_active_key_is_refused_on_the_agents_page(admin_client):
    account = admin_client.account
    for n in range(20):
        agent_key_create(account=account, name=f"k{n}", actor=Actor.system("t"))
    response = admin_client.post("/agents/", {"name": "one too many"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "20 active agent keys, its limit" in page and 'role="alert"' in page
    assert "agent-key-secret" not in page
    assert _keys(account) == 20


def test_a_revoked_key_frees_its_place(admin_client):
    account = admin_client.account
    keys = [agent_key_create(account=account, actor=Actor.system("t"))[0] for _ in range(20)]
    agent_key_revoke(key=keys[0], actor=Actor.system("t"))
    assert "agent-key-secret" in admin_client.post("/agents/", {"name": "replacement"}).content.decode()
    assert _keys(account) == 20


def test_staff_raise_the_limit_in_the_admin_and_the_key_can_be_made(client, paid_account):
    account, admin = paid_account
    for _ in range(20):
        agent_key_create(account=account, actor=Actor.system("t"))
    staff = StaffFactory(is_superuser=True)
    client.force_login(staff)
    url = f"/admin/staff/staffaccount/{account.pk}/change/"
    page = client.get(url)
    assert 'name="agent_key_limit"' in page.content.decode()
    data = {"agent_key_limit": "25", "_save": "Save"}
    for formset in page.context["inline_admin_formsets"]:
        management = formset.formset.management_form
        data.update({management.add_prefix(k): v for k, v in management.initial.items()})
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert Account.objects.get(pk=account.pk).agent_key_limit == 25
    entry = AuditEntry.objects.get(account=account, kind="account.agent_key_limit_changed")
    assert (entry.before, entry.after, entry.actor_user) == ({"agent_key_limit": 20}, {"agent_key_limit": 25}, staff)

    client.force_login(admin)
    assert "agent-key-secret" in client.post("/agents/", {"name": "the 21st"}).content.decode()
    assert _keys(account) == 21
