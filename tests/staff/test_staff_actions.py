"""Every staff action through the admin: who may do it, what it changes, its audit row."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from accounts.actors import Actor
from accounts.models import AuditEntry
from billing.models import BillingProfile, Invoice, InvoiceState, Order, SubscriptionAddOn
from billing.quotes import quote_accept, quote_request, quote_set_terms
from licensing.models import AccountLicensing, AgentKey, TrackedUser
from licensing.services import agent_key_create
from support.models import AccountSupportPlan
from tests.factories import StaffFactory, make_account

pytestmark = pytest.mark.django_db


def staff(*roles):
    user = StaffFactory()
    user.groups.set(Group.objects.filter(name__in=roles))
    return user


def act(client, account, action, data):
    return client.post(f"/admin/staff/staffaccount/{account.pk}/act/{action}/", data)


def audit(account, kind):
    return AuditEntry.objects.filter(account=account, kind=kind).first()


def in_grace(account, used=12):
    for n in range(used):
        TrackedUser.objects.create(
            account=account, identity_kind="domain", identity_scope="acme", identity_name=f"u{n}",
            domain="ACME", username=f"u{n}",
        )
    AccountLicensing.objects.filter(account=account).update(
        used=used, state="grace", over_since=timezone.now(),
        grace_period_ends_at=timezone.now() + timedelta(days=2),
    )


def test_support_extends_a_grace_period_with_a_reason(client):
    account, _ = make_account(plan="professional", licenses=10)
    in_grace(account)
    ends = AccountLicensing.objects.get(account=account).grace_period_ends_at
    member = staff("Support")
    client.force_login(member)
    page = client.get(f"/admin/staff/staffaccount/{account.pk}/change/").content.decode()
    assert "Extend the grace period" in page and "Set the discount" not in page
    assert client.get(f"/admin/staff/staffaccount/{account.pk}/act/extend-grace/").status_code == 200
    response = act(client, account, "extend-grace", {"days": 7, "reason": "PO 4711 on its way"})
    assert response.status_code == 302
    row = AccountLicensing.objects.get(account=account)
    assert row.grace_period_ends_at - ends == timedelta(days=7)
    entry = audit(account, "compliance.grace_extended")
    assert (entry.actor_user, entry.reason) == (member, "PO 4711 on its way")


def test_support_reevaluates_compliance_and_revokes_a_key(client):
    account, _ = make_account(plan="professional", licenses=10)
    in_grace(account)
    AccountLicensing.objects.filter(account=account).update(used=3, state="ok", over_since=None,
                                                            grace_period_ends_at=None)
    key, _ = agent_key_create(account=account, name="lab", actor=Actor.system("t"))
    client.force_login(staff("Support"))
    act(client, account, "reevaluate", {"confirm": "on"})
    row = AccountLicensing.objects.get(account=account)
    assert (row.used, row.state) == (12, "grace")
    assert audit(account, "licensing.recounted") and audit(account, "compliance.grace")
    act(client, account, "revoke-key", {"key": key.pk, "reason": "laptop stolen"})
    assert AgentKey.objects.get(pk=key.pk).revoked_at is not None


def test_sales_sets_a_discount_grants_an_addon_and_activates_support(client):
    account, admin = make_account(plan="professional", licenses=10)
    seller = staff("Sales")
    client.force_login(seller)
    act(client, account, "set-discount", {"percent": "20", "reason": "nonprofit"})
    assert BillingProfile.objects.get(account=account).discount_percent == 20
    assert audit(account, "billing.discount_set").reason == "nonprofit"

    act(client, account, "grant-addon", {"addon": "activconnect", "price_cents": 3600, "reason": "deal 17"})
    assert SubscriptionAddOn.objects.filter(subscription__account=account, addon__code="activconnect").exists()
    order = Order.objects.get(account=account, kind="quote")
    assert Invoice.objects.get(order=order).state == InvoiceState.OPEN
    assert order.lines.first().discount_percent == 20  # the account's discount, recorded

    quote = quote_request(account=account, topic="premier", message="", actor=Actor.for_user(admin))
    quote = quote_set_terms(quote=quote, actor=Actor.for_user(seller), price_cents=500000)
    quote_accept(quote=quote, actor=Actor.for_user(admin))
    response = act(client, account, "activate-support", {"quote": quote.pk})
    assert response.status_code == 302
    assert AccountSupportPlan.objects.filter(account=account, plan__code="premier", state="active").exists()
    quote.refresh_from_db()
    assert quote.state == "fulfilled"
    # Premier is billed too: an order at the quoted price (less the 20% discount) and its invoice.
    support_order = Order.objects.get(quote=quote)
    assert support_order.total_cents == 400000
    assert Invoice.objects.get(order=support_order).state == InvoiceState.OPEN


def test_billing_marks_invoice_eligible_and_ends_a_trial(client):
    paid, _ = make_account(plan="essentials", licenses=5)
    trial, _ = make_account()
    client.force_login(staff("Billing"))
    act(client, paid, "invoice-eligible", {"eligible": "on", "reason": "PO process"})
    assert BillingProfile.objects.get(account=paid).invoice_eligible
    assert audit(paid, "billing.invoice_eligible_set").reason == "PO process"
    act(client, trial, "end-trial", {"reason": "duplicate sign-up"})
    trial.subscription.refresh_from_db()
    assert trial.subscription.plan.code == "free"
    assert audit(trial, "subscription.trial_ended_early").reason == "duplicate sign-up"


@pytest.mark.parametrize("role,forbidden", [
    ("Read-only", ["extend-grace", "reevaluate", "set-discount", "grant-addon", "activate-support",
                   "invoice-eligible", "end-trial", "revoke-key"]),
    ("Support", ["set-discount", "grant-addon", "invoice-eligible", "end-trial"]),
    ("Sales", ["extend-grace", "reevaluate", "revoke-key", "invoice-eligible"]),
    ("Billing", ["extend-grace", "set-discount", "grant-addon", "activate-support"]),
])
def test_each_role_is_refused_the_actions_that_are_not_its_own(client, role, forbidden):
    account, _ = make_account()
    in_grace(account)
    before = AuditEntry.objects.count()
    client.force_login(staff(role))
    for action in forbidden:
        assert client.get(f"/admin/staff/staffaccount/{account.pk}/act/{action}/").status_code == 403
        assert act(client, account, action, {"reason": "x", "days": 3, "percent": 5, "confirm": "on"}).status_code == 403
    assert AuditEntry.objects.count() == before


def test_a_refused_action_says_why_and_changes_nothing(client):
    account, _ = make_account(plan="professional", licenses=10)  # in good standing
    client.force_login(staff("Support"))
    response = act(client, account, "extend-grace", {"days": 7, "reason": "x"})
    assert response.status_code == 200
    assert "Only a running or expired grace period can be extended." in response.content.decode()
    assert not audit(account, "compliance.grace_extended")


def test_nobody_edits_or_deletes_the_audit_log(client):
    account, _ = make_account()
    entry = AuditEntry.objects.filter(account=account).first()
    client.force_login(StaffFactory(is_superuser=True))
    assert client.get("/admin/accounts/auditentry/?q=" + account.slug).status_code == 200
    client.post(f"/admin/accounts/auditentry/{entry.pk}/change/", {"summary": "rewritten"})
    response = client.post(f"/admin/accounts/auditentry/{entry.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    entry.refresh_from_db()
    assert entry.summary != "rewritten"
    with pytest.raises(PermissionError):
        AuditEntry.objects.filter(pk=entry.pk).delete()


def test_only_sales_act_on_the_quote_queue(client):
    account, admin = make_account(plan="professional", licenses=10)
    seller = staff("Sales")
    quote = quote_request(account=account, topic="plan", message="", actor=Actor.for_user(admin))
    for role in ["Read-only", "Billing", "Support"]:
        client.force_login(staff(role))
        client.post("/admin/billing/quote/", {"action": "mark_declined", "_selected_action": [quote.pk]})
        quote.refresh_from_db()
        assert quote.state == "requested", role
    client.force_login(seller)
    client.post("/admin/billing/quote/", {"action": "mark_declined", "_selected_action": [quote.pk]})
    quote.refresh_from_db()
    assert quote.state == "declined"


def test_subscriptions_are_not_edited_in_the_admin(client):
    account, _ = make_account(plan="professional", licenses=10)
    client.force_login(StaffFactory(is_superuser=True))
    sub = account.subscription
    client.post(f"/admin/billing/subscription/{sub.pk}/change/", {"licenses": 30, "plan": sub.plan_id})
    sub.refresh_from_db()
    assert sub.licenses == 10
