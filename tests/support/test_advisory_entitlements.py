"""Issue 15: the annual technical health check, the planning workshop and the insights-to-action
workshop are counted and recorded like the vouchers: per 12 months, per plan, with a reason."""

from datetime import date

import pytest
import time_machine

from accounts.actors import Actor
from accounts.models import AuditEntry
from accounts.services import ServiceError
from support.models import EntitlementUse
from support.selectors import entitlements_remaining
from support.services import entitlement_use_record
from tests.factories import UserFactory, make_account, staff_today
from tests.support.conftest import accept_quote, active_plan

pytestmark = pytest.mark.django_db

START = "2026-03-10 15:00Z"


def _plan(code):
    with time_machine.travel(START, tick=False):
        account, _ = make_account(plan="professional", licenses=10)
        accept_quote(account, code)
    return active_plan(account, code)


def _allowed(support_plan):
    return {e.kind: (e.used, e.allowance) for e in entitlements_remaining(support_plan=support_plan)}


def test_premier_and_signature_include_them_as_product_md_says():
    premier, signature = _plan("premier"), _plan("signature")
    with time_machine.travel("2026-04-01 15:00Z", tick=False):
        assert _allowed(premier)["health_check"] == (0, 1)
        assert _allowed(premier)["planning_workshop"] == (0, 1)
        assert "insights_workshop" not in _allowed(premier)  # Signature only
        assert {k: _allowed(signature)[k] for k in ("health_check", "planning_workshop",
                                                    "insights_workshop")} == {
            "health_check": (0, 1), "planning_workshop": (0, 1), "insights_workshop": (0, 1)}


def test_one_health_check_a_year_with_its_reason_then_refused_until_the_next_period(staff):
    premier = _plan("premier")
    actor = Actor.for_user(staff)
    with time_machine.travel("2026-06-01 15:00Z", tick=False):
        entitlement_use_record(support_plan=premier, kind="health_check", actor=actor,
                               note="Yearly check asked for by their IT lead")
        with pytest.raises(ServiceError, match="Not enough annual technical health checks left: 0 of 1"):
            entitlement_use_record(support_plan=premier, kind="health_check", actor=actor,
                                   note="again")
        assert _allowed(premier)["health_check"] == (1, 1)
    assert AuditEntry.objects.filter(kind="support.entitlement_used",
                                     after__note="Yearly check asked for by their IT lead").exists()
    with time_machine.travel("2027-03-10 15:00Z", tick=False):
        premier.ends_on = date(2028, 3, 10)  # renewed
        premier.save()
        assert _allowed(premier)["health_check"] == (0, 1)


@pytest.mark.parametrize("kind", ["health_check", "planning_workshop", "insights_workshop"])
def test_a_use_without_a_reason_is_refused(staff, kind):
    signature = _plan("signature")
    with time_machine.travel("2026-06-01 15:00Z", tick=False):
        with pytest.raises(ServiceError, match="Say why"):
            entitlement_use_record(support_plan=signature, kind=kind, actor=Actor.for_user(staff),
                                   note="  ")
    assert not EntitlementUse.objects.exists()


def test_premier_has_no_insights_workshop(staff):
    premier = _plan("premier")
    with time_machine.travel("2026-06-01 15:00Z", tick=False):
        with pytest.raises(ServiceError, match="Premier does not include insights-to-action"):
            entitlement_use_record(support_plan=premier, kind="insights_workshop",
                                   actor=Actor.for_user(staff), note="asked")


def test_staff_record_a_workshop_in_the_admin_and_the_customer_sees_used_of_allowed(client):
    signature = _plan("signature")
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    form = {"support_plan": signature.pk, "kind": "insights_workshop", "quantity": 1,
            "voucher_kind": "", "used_on": staff_today().isoformat(), "note": ""}
    refused = client.post("/admin/support/entitlementuse/add/", form)
    assert refused.status_code == 200 and "Say why" in refused.text
    form["note"] = "90-day roadmap with their leadership"
    assert client.post("/admin/support/entitlementuse/add/", form).status_code == 302
    client.force_login(signature.account.memberships.get().user)
    page = client.get("/support/").text
    row = page.split('data-kind="insights_workshop"')[1].split("</tr>")[0]
    assert "Insights-to-action workshops" in row and "<td>1 </td><td>1</td>" in row
    assert "<strong>0</strong>" in row
