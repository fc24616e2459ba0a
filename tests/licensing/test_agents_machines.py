"""Issue 15: the Agents page lists the machines with their last check-in and the users seen on
each, and flags machines silent for 7 days or more."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from licensing.models import Machine
from tests.licensing.conftest import event

pytestmark = pytest.mark.django_db


def test_machines_with_last_checkin_users_and_the_silent_flag(admin_client, agent, django_assert_max_num_queries):
    long_ago = timezone.now() - timedelta(days=8)
    with time_machine.travel(long_ago, tick=False):
        agent.checkin(event("eva", machine="OLD-PC"))
    agent.checkin(event("bob", machine="NEW-PC"), event("ann", machine="NEW-PC"))
    page = admin_client.get("/agents/").content.decode()
    old = Machine.objects.get(machine_id="OLD-PC")
    new = Machine.objects.get(machine_id="NEW-PC")
    assert 'id="machines"' in page
    row_old = page[page.index(f'id="machine-{old.pk}"'):].split("</tr>")[0]
    row_new = page[page.index(f'id="machine-{new.pk}"'):].split("</tr>")[0]
    assert "silent 8 days" in row_old and long_ago.strftime("%Y-%m-%d") in row_old
    assert "silent" not in row_new and ">2<" in row_new
    assert page.index(f'id="machine-{old.pk}"') < page.index(f'id="machine-{new.pk}"')  # silent first

    for n in range(5):
        agent.checkin(event(f"u{n}", machine=f"PC-{n}"))
    def page_queries():
        with django_assert_max_num_queries(12) as captured:
            assert admin_client.get("/agents/").status_code == 200
        return len(captured.captured_queries)

    few = page_queries()
    for n in range(5, 15):
        agent.checkin(event(f"u{n}", machine=f"PC-{n}"))
    assert page_queries() == few
