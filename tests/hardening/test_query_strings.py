"""A NUL (or another control character) in a query string is a 400 that says why, never a 500
(issue 11, item 6): customer pages, the staff admin (changelist search and filters, the
autocomplete) and the API. It matters on PostgreSQL, which refuses NUL in text."""

import json

import pytest

from licensing.models import TrackedUser
from tests.factories import StaffFactory
from tests.licensing.conftest import agent, event, make_agent  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db


@pytest.fixture
def eva(agent):  # noqa: F811 (the imported fixture)
    agent.checkin(event("eva", machine="PC-1", domain="ACME"), event("bob", machine="PC-2", domain="ACME"))
    return TrackedUser.objects.get(account=agent.account, username="eva")


@pytest.mark.parametrize("query", ["q=%00", "q=eva%00", "sort=%00", "%00=1", "q=%01"])
def test_customer_pages_answer_400_to_a_control_character(client, paid_account, eva, query):
    client.force_login(paid_account[1])
    for path in [f"/users/{eva.pk}/merge/", "/users/"]:
        response = client.get(f"{path}?{query}")
        assert response.status_code == 400, path
        assert "cannot be searched for" in response.content.decode()


def test_a_search_with_ordinary_text_still_works(client, paid_account, eva):
    client.force_login(paid_account[1])
    assert client.get(f"/users/{eva.pk}/merge/?q=bob").status_code == 200
    assert client.get("/users/?q=ev%09a").status_code == 200  # a tab is ordinary text


@pytest.mark.parametrize("path", [
    "/admin/staff/staffaccount/?q=%00",
    "/admin/staff/staffaccount/?subscription__plan__id__exact=%00",
    "/admin/billing/billingprofile/?q=%00",
    "/admin/autocomplete/?app_label=billing&model_name=billingprofile&field_name=account&term=%00",
])
def test_the_staff_admin_answers_400(client, path):
    client.force_login(StaffFactory(is_superuser=True))
    assert client.get(path).status_code == 400


def test_the_api_answers_problem_json(client, agent):  # noqa: F811
    response = client.post("/api/agent/v1/checkins?debug=%00", {"events": []},
                           content_type="application/json",
                           headers={"Authorization": f"Bearer {agent.secret}"})
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert "control character" in json.loads(response.content)["detail"]
