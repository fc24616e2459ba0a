import threading
from datetime import date

import pytest
import time_machine
from django.db import connection

from accounts.actors import Actor
from accounts.models import AuditEntry
from accounts.services import ServiceError
from support.models import EntitlementUse
from support.selectors import entitlement_period, entitlements_remaining
from support.services import entitlement_use_record
from tests.factories import UserFactory, make_account, staff_today
from tests.helpers import requires_postgres
from tests.support.conftest import accept_quote, active_plan

pytestmark = pytest.mark.django_db

START = "2026-03-10 15:00Z"


@pytest.fixture
def premier(db):
    with time_machine.travel(START, tick=False):
        account, admin = make_account(plan="professional", licenses=10)
        accept_quote(account, "premier")
    return active_plan(account, "premier")


def _left(support_plan, kind):
    return {e.kind: e.left for e in entitlements_remaining(support_plan=support_plan)}[kind]


def test_periods_count_12_months_from_the_plans_start():
    start = date(2026, 3, 10)
    assert entitlement_period(starts_on=start, on=start) == (start, date(2027, 3, 10))
    assert entitlement_period(starts_on=start, on=date(2027, 3, 9)) == (start, date(2027, 3, 10))
    assert entitlement_period(starts_on=start, on=date(2027, 3, 10)) == (
        date(2027, 3, 10), date(2028, 3, 10))
    leap = date(2028, 2, 29)
    # A plan started on 29 February renews on 28 February in common years.
    assert entitlement_period(starts_on=leap, on=date(2029, 2, 27)) == (leap, date(2029, 2, 28))
    assert entitlement_period(starts_on=leap, on=date(2029, 2, 28)) == (
        date(2029, 2, 28), date(2030, 2, 28))


def test_vouchers_are_counted_refused_when_used_up_and_start_again_next_period(premier, staff):
    actor = Actor.for_user(staff)
    with time_machine.travel("2026-05-01 15:00Z", tick=False):
        assert _left(premier, "training_voucher") == 2
        entitlement_use_record(support_plan=premier, kind="training_voucher",
                               voucher_kind="leadership", actor=actor)
        entitlement_use_record(support_plan=premier, kind="training_voucher",
                               voucher_kind="train_the_trainer", note="for Ana", actor=actor)
        assert _left(premier, "training_voucher") == 0
        with pytest.raises(ServiceError) as refused:
            entitlement_use_record(support_plan=premier, kind="training_voucher",
                                   voucher_kind="manager", actor=actor)
        assert str(refused.value) == (
            "Not enough training vouchers left: 0 of 2 remain for 10 Mar 2026 to 09 Mar 2027, "
            "and 1 was asked. The allowance starts again on 10 Mar 2027."
        )
        assert EntitlementUse.objects.filter(support_plan=premier).count() == 2
        assert AuditEntry.objects.filter(kind="support.entitlement_used").count() == 2
    with time_machine.travel("2027-03-09 15:00Z", tick=False):
        assert _left(premier, "training_voucher") == 0
    premier.ends_on = date(2028, 3, 10)  # renewed
    premier.save()
    with time_machine.travel("2027-03-10 15:00Z", tick=False):
        assert _left(premier, "training_voucher") == 2
        entitlement_use_record(support_plan=premier, kind="training_voucher",
                               voucher_kind="platform", actor=actor)
        assert _left(premier, "training_voucher") == 1


def test_integration_hours_count_hours(db, staff):
    account, _ = make_account(plan="professional", licenses=10)
    accept_quote(account, "signature")
    signature = active_plan(account, "signature")
    actor = Actor.for_user(staff)
    entitlement_use_record(support_plan=signature, kind="integration_hours", quantity=7, actor=actor)
    with pytest.raises(ServiceError, match="3 of 10 remain"):
        entitlement_use_record(support_plan=signature, kind="integration_hours", quantity=4,
                               actor=actor)
    entitlement_use_record(support_plan=signature, kind="integration_hours", quantity=3, actor=actor)
    assert _left(signature, "integration_hours") == 0


def test_refusals_say_why(premier, paid_account, staff):
    actor = Actor.for_user(staff)
    with pytest.raises(ServiceError, match="does not include integration"):
        entitlement_use_record(support_plan=premier, kind="integration_hours", quantity=1,
                               actor=actor)
    with pytest.raises(ServiceError, match="which training"):
        entitlement_use_record(support_plan=premier, kind="training_voucher", actor=actor)
    with pytest.raises(ServiceError, match="one at a time"):
        entitlement_use_record(support_plan=premier, kind="live_training", quantity=2, actor=actor)
    digital = active_plan(paid_account[0], "digital")
    with pytest.raises(ServiceError, match="Digital does not include"):
        entitlement_use_record(support_plan=digital, kind="live_training", actor=actor)


def test_admin_records_a_use_and_shows_a_refusal_as_a_form_error(client, premier):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    today = staff_today().isoformat()
    form = {"support_plan": premier.pk, "kind": "business_review", "quantity": 1,
            "voucher_kind": "", "used_on": today, "note": "Q1 review"}
    assert client.post("/admin/support/entitlementuse/add/", form).status_code == 302
    use = EntitlementUse.objects.get()
    assert use.recorded_by is not None and use.note == "Q1 review"
    again = client.post("/admin/support/entitlementuse/add/", form)
    assert again.status_code == 200
    assert "Not enough business reviews left: 0 of 1" in again.content.decode()
    assert EntitlementUse.objects.count() == 1


def test_customer_page_shows_what_is_left(client, premier, staff):
    entitlement_use_record(support_plan=premier, kind="live_training", actor=Actor.for_user(staff))
    admin = premier.account.memberships.get().user
    client.force_login(admin)
    page = client.get("/support/").content.decode()
    assert 'data-kind="live_training"' in page
    row = page.split('data-kind="live_training"')[1].split("</tr>")[0]
    assert "<strong>1</strong>" in row


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_staff_recording_the_last_voucher_at_once_one_is_refused():
    account, _ = make_account(plan="professional", licenses=10)
    accept_quote(account, "premier")
    premier = active_plan(account, "premier")
    staff_a, staff_b = UserFactory(is_staff=True), UserFactory(is_staff=True)
    entitlement_use_record(support_plan=premier, kind="training_voucher", voucher_kind="platform",
                           actor=Actor.for_user(staff_a))
    barrier = threading.Barrier(2)
    outcomes = []

    def record(user):
        try:
            barrier.wait()
            entitlement_use_record(support_plan=premier, kind="training_voucher",
                                   voucher_kind="manager", actor=Actor.for_user(user))
            outcomes.append("recorded")
        except ServiceError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=record, args=(u,)) for u in (staff_a, staff_b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["recorded", "refused"]
    assert EntitlementUse.objects.filter(support_plan=premier).count() == 2


def test_a_plan_bought_in_the_central_evening_takes_a_use_the_same_evening(db, staff):
    """At 21:00 in Chicago it is already tomorrow in UTC: a support plan bought then starts on
    the UTC day, and staff recording a use of it that evening (the admin's zone) are not told
    the plan was not in effect, nor that the use is in advance."""
    from zoneinfo import ZoneInfo

    from django.utils import timezone

    with time_machine.travel("2026-06-02T02:00Z", tick=False):
        account, _ = make_account(plan="professional", licenses=10)
        accept_quote(account, "premier")
        plan = active_plan(account, "premier")
        with timezone.override(ZoneInfo("America/Chicago")):
            use = entitlement_use_record(support_plan=plan, kind="business_review", actor=Actor.for_user(staff))
    assert plan.starts_on.isoformat() == "2026-06-02" and use.used_on.isoformat() == "2026-06-02"
