"""Issue 15: the Agents page lists the machines with their last check-in and the users seen on
each, and flags machines silent for 7 days or more."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from licensing.machines import MACHINES_PER_PAGE
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


def test_more_machines_than_a_page_are_listed_page_by_page_silent_first(admin_client, agent,
                                                                        django_assert_max_num_queries):
    """Every machine is on exactly one page, in the order of the one list (the silent ones first,
    then by last check-in), each with its own users' count; Next and Previous lead there."""
    count = MACHINES_PER_PAGE + 5
    start = timezone.now() - timedelta(days=10)
    events = [event(f"u{n}", machine=f"PC-{n:03d}", observed_at=start + timedelta(hours=2 * n))
              for n in range(count)]
    last = f"PC-{count - 1:03d}"
    events.append(event("second", machine=last, observed_at=start + timedelta(hours=2 * (count - 1))))
    agent.checkin(*events)
    retired = Machine.objects.get(machine_id="PC-000")
    admin_client.post(f"/agents/machines/{retired.pk}/retire/")

    def machine_rows(page):
        table = page.split('id="machines"')[1].split("</table>")[0]
        return re.findall(r'<tr id="machine-\d+"[^>]*>\s*<td>([^<]+)</td>', table)

    first = admin_client.get("/agents/").content.decode()
    assert machine_rows(first) == [f"pc-{n:03d}" for n in range(1, MACHINES_PER_PAGE + 1)]
    assert "silent 9 days" in first  # pc-001, seen 10 days ago less 2 hours
    assert "Previous" not in first and f'id="retired-machine-{retired.pk}"' in first
    next_link = re.search(r'<a href="(\?page=2)#machines">Next</a>', first).group(1)

    with django_assert_max_num_queries(6):
        second = admin_client.get(f"/agents/{next_link}").content.decode()
    assert machine_rows(second) == [f"pc-{n:03d}" for n in range(MACHINES_PER_PAGE + 1, count)]
    row = second[second.index(f'id="machine-{Machine.objects.get(machine_id=last).pk}"'):].split("</tr>")[0]
    assert '<td class="num">2</td>' in row and "checking in" in row
    assert '<a href="?page=1#machines">Previous</a>' in second and "Next" not in second
    assert f'id="retired-machine-{retired.pk}"' in second  # the retired machines under every page

    beyond = admin_client.get("/agents/?page=3").content.decode()
    assert machine_rows(beyond) == [] and "No machine on this page" in beyond
    assert "No machine has checked in yet" not in beyond
    assert machine_rows(admin_client.get("/agents/?page=x").content.decode()) == machine_rows(first)
