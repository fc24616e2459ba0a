from datetime import date

import pytest
import time_machine
from dateutil.relativedelta import relativedelta

from accounts.models import AuditEntry
from accounts.services import ServiceError
from billing.models import Quote
from support import services
from support.models import AccountSupportPlan, SupportPlanState
from support.selectors import support_plan_current
from tests.factories import UserFactory, make_account
from tests.support.conftest import SYSTEM, accept_quote, active_plan, move_to_plan

pytestmark = pytest.mark.django_db


def test_trial_and_paid_accounts_get_digital(trial_account, paid_account):
    for account, _ in (trial_account, paid_account):
        assert support_plan_current(account=account).plan.code == "digital"
        assert active_plan(account, "digital").ends_on is None
        assert AuditEntry.objects.filter(account=account, kind="support.plan_started").exists()


def test_digital_follows_the_subscription_out_of_free_and_back(paid_account):
    account, _ = paid_account
    move_to_plan(account, "free")
    assert support_plan_current(account=account) is None
    assert not AccountSupportPlan.objects.filter(account=account, state="active").exists()
    assert AccountSupportPlan.objects.get(account=account).state == SupportPlanState.ENDED
    assert AuditEntry.objects.filter(account=account, kind="support.plan_ended").count() == 1

    move_to_plan(account, "free")  # the hook again changes nothing
    assert AuditEntry.objects.filter(account=account, kind="support.plan_ended").count() == 1

    move_to_plan(account, "essentials")
    assert support_plan_current(account=account).plan.code == "digital"
    assert active_plan(account, "digital").pk
    assert AccountSupportPlan.objects.filter(account=account).count() == 2


def test_account_made_before_support_followed_the_hook_still_has_digital(paid_account):
    account, _ = paid_account
    AccountSupportPlan.objects.filter(account=account).delete()
    current = support_plan_current(account=account)
    assert current.plan.code == "digital" and current.pk is None


def test_staff_activate_premier_from_an_accepted_quote(paid_account, staff):
    account, _ = paid_account
    with time_machine.travel("2026-03-10 15:00Z", tick=False):
        quote = accept_quote(account, "premier", staff=staff)
        row = active_plan(account, "premier")
    assert (row.starts_on, row.ends_on, row.quote) == (date(2026, 3, 10), date(2027, 3, 10), quote)
    entry = AuditEntry.objects.get(account=account, kind="support.plan_activated")
    assert entry.actor_user == staff and entry.after["plan"] == "premier"
    with time_machine.travel("2026-06-01 15:00Z", tick=False):
        assert support_plan_current(account=account).plan.code == "premier"
        # Activating the same quote again (the admin action after the hook) changes nothing.
        assert services.support_plan_activate_from_quote(quote=quote, actor=SYSTEM) == row
    assert AccountSupportPlan.objects.filter(account=account, plan__code="premier").count() == 1
    # After the term, without renewal, Digital (still underneath) is the plan in effect again.
    with time_machine.travel("2027-03-10 15:00Z", tick=False):
        assert support_plan_current(account=account).plan.code == "digital"


def test_only_an_accepted_support_quote_activates(paid_account):
    account, _ = paid_account
    requested = Quote.objects.create(account=account, topic="premier", state="requested")
    with pytest.raises(ServiceError, match="accepted"):
        services.support_plan_activate_from_quote(quote=requested, actor=SYSTEM)
    other = Quote.objects.create(account=account, topic="activconnect", state="accepted")
    with pytest.raises(ServiceError, match="not for a Premier or Signature"):
        services.support_plan_activate_from_quote(quote=other, actor=SYSTEM)
    assert support_plan_current(account=account).plan.code == "digital"


def test_free_account_cannot_have_premier_and_the_hook_does_not_break_billing(db):
    account, _ = make_account(plan="free")
    quote = accept_quote(account, "premier")  # the hook logs and leaves the quote accepted
    assert not AccountSupportPlan.objects.filter(account=account).exists()
    with pytest.raises(ServiceError, match="paid plan"):
        services.support_plan_activate_from_quote(quote=quote, actor=SYSTEM)


def test_signature_replaces_premier_and_keeps_the_csm(premier_account, staff):
    account, _ = premier_account
    premier = active_plan(account, "premier")
    services.support_plan_assign_managers(support_plan=premier, csm=staff, tam=None, actor=SYSTEM)
    accept_quote(account, "signature")
    premier.refresh_from_db()
    assert premier.state == SupportPlanState.REPLACED
    signature = support_plan_current(account=account)
    assert signature.plan.code == "signature" and signature.csm == staff and signature.tam is None


def test_renewal_extends_the_term_and_a_lapsed_one_starts_again(premier_account):
    account, _ = premier_account
    row = active_plan(account, "premier")
    first_end = row.ends_on
    renewed = services.support_plan_renew(support_plan=row, actor=SYSTEM)
    assert renewed.ends_on == first_end + relativedelta(months=12)
    assert renewed.starts_on == row.starts_on
    assert AuditEntry.objects.filter(account=account, kind="support.plan_renewed").count() == 1
    with time_machine.travel(renewed.ends_on + relativedelta(days=40), tick=False):
        again = services.support_plan_renew(support_plan=row, actor=SYSTEM)
        assert again.starts_on == renewed.ends_on + relativedelta(days=40)
        assert support_plan_current(account=account).plan.code == "premier"
    with pytest.raises(ServiceError, match="no term"):
        services.support_plan_renew(support_plan=active_plan(account, "digital"), actor=SYSTEM)


def test_managers_are_staff_and_only_where_the_plan_has_them(premier_account, staff):
    account, _ = premier_account
    premier = active_plan(account, "premier")
    with pytest.raises(ServiceError, match="technical account manager"):
        services.support_plan_assign_managers(support_plan=premier, csm=staff, tam=staff, actor=SYSTEM)
    with pytest.raises(ServiceError, match="must be one of our staff"):
        services.support_plan_assign_managers(
            support_plan=premier, csm=UserFactory(), tam=None, actor=SYSTEM
        )
    services.support_plan_assign_managers(support_plan=premier, csm=staff, tam=None, actor=SYSTEM)
    assert AuditEntry.objects.filter(account=account, kind="support.managers_assigned").exists()


def test_admin_assigns_managers_limited_to_staff(client, signature_account, staff):
    account, _ = signature_account
    superuser = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(superuser)
    row = active_plan(account, "signature")
    url = f"/admin/support/accountsupportplan/{row.pk}/change/"
    page = client.get(url)
    choices = {c[0].value for c in page.context["adminform"].form.fields["csm"].choices if c[0]}
    assert staff.pk in choices and all(u.is_staff for u in type(staff).objects.filter(pk__in=choices))
    response = client.post(url, {"csm": staff.pk, "tam": superuser.pk, "entitlement_uses-TOTAL_FORMS": 0,
                                 "entitlement_uses-INITIAL_FORMS": 0})
    assert response.status_code == 302
    row.refresh_from_db()
    assert (row.csm, row.tam) == (staff, superuser)
