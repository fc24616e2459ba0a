"""Issue 15 (fidelity to the seed): the email first-response targets are averages; the staff
dashboard reports each plan's monthly average and p90, in email support hours, against them."""

from datetime import UTC, datetime

import pytest

from support.coverage import WEEKDAYS, covered_hours_between
from support.models import SupportPlan
from support.selectors import first_response_report
from tests.factories import StaffFactory, SupportCaseFactory, make_account

pytestmark = pytest.mark.django_db


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def test_covered_hours_skip_nights_and_weekends():
    # Friday 6 Nov 2026 17:00 CST to Monday 9 Nov 10:00 CST: 1 hour Friday, 2 hours Monday.
    assert covered_hours_between(utc(2026, 11, 6, 23), utc(2026, 11, 9, 16), WEEKDAYS) == 3.0
    assert covered_hours_between(utc(2026, 11, 9, 16), utc(2026, 11, 6, 23), WEEKDAYS) == 0.0


def test_the_report_gives_each_plans_average_and_p90_against_its_target(client):
    account, _ = make_account(plan="professional", licenses=10)
    digital = SupportPlan.objects.get(code="digital")
    signature = SupportPlan.objects.get(code="signature")
    for opened, answered, plan in [
        (utc(2026, 11, 2, 15), utc(2026, 11, 2, 17), digital),      # 2 h
        (utc(2026, 11, 6, 23), utc(2026, 11, 9, 16), digital),      # 3 h over the weekend
        (utc(2026, 11, 10, 14), utc(2026, 11, 11, 14), digital),    # 10 h: the next morning 8:00
        (utc(2026, 11, 3, 15), utc(2026, 11, 3, 21), signature),    # 6 h: misses its 4 h
    ]:
        SupportCaseFactory(account=account, plan=plan, opened_at=opened, first_response_at=answered)
    SupportCaseFactory(account=account, plan=digital, opened_at=utc(2026, 11, 4, 15))  # not answered
    SupportCaseFactory(account=account, plan=digital, channel="chat", opened_at=utc(2026, 11, 4, 15),
                       first_response_at=utc(2026, 11, 4, 20))  # chat: not the email target

    rows = first_response_report(months=2, now=utc(2026, 12, 3, 12))
    assert rows == [
        {"month": "2026-11", "plan": "Digital", "cases": 3, "average_hours": 5.0, "p90_hours": 10.0,
         "target_hours": 12, "met": True},
        {"month": "2026-11", "plan": "Signature", "cases": 1, "average_hours": 6.0, "p90_hours": 6.0,
         "target_hours": 4, "met": False},
    ]
    client.force_login(StaffFactory(is_superuser=True))
    page = client.get("/admin/").content.decode()
    assert 'id="first-responses"' in page
