"""The trial's end: an unpaid trial becomes Free when it ends (``trials_expire``), or at once when
staff end it (``trial_end_now``); no move to Free while an invoice is past due
(``move_to_free_refusal``)."""


from django.db import transaction
from django.utils import timezone

from accounts.services import ServiceError, audit_record
from billing.hooks import subscription_changed
from billing.models import (
    LicenseEvent,
    Plan,
    Subscription,
    SubscriptionState,
)
from billing.notices import trial_became_free_notify
from billing.selectors import has_past_due_invoice
from billing.services import subscription_snapshot
from billing.subscriptions import (
    license_ledger_record,
    subscription_set_trial_end,
    subscriptions_end_trials,
)
from billing.terms import FREE_PLAN_CODE


def move_to_free_refusal(*, account):
    """PRODUCT.md: no move to Free while a payment is past due. The reason, or None."""
    if has_past_due_invoice(account=account):
        return (
            "You cannot move to Free while an invoice is past due. Pay the overdue invoice "
            "first (Billing page), then ask again."
        )
    return None


# --- 1. trial expiry --------------------------------------------------------------------------------


def trials_expire(*, actor, now=None, account=None):
    """Every trial that ended without a purchase becomes Free: 3 licenses, no term, no add-ons.

    Set-based; a trial that bought a plan is no longer ``trialing``, so it is not touched, and a
    second run finds nothing left to expire. Returns how many trials became Free. ``account``
    limits it to one account (staff ending a trial early).
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    free = Plan.objects.get(code=FREE_PLAN_CODE)
    due = Subscription.objects.filter(state=SubscriptionState.TRIALING, trial_ends_at__lte=now)
    if account is not None:
        due = due.filter(account=account)
    with transaction.atomic():
        expiring = list(due.select_for_update().select_related("plan", "account"))
        if not expiring:
            return 0
        after = subscriptions_end_trials(subscriptions=expiring, free_plan=free, today=today, now=now)
        for before in expiring:
            audit_record(
                account=before.account, actor=actor, kind="subscription.trial_expired",
                summary=f"Trial ended without a purchase: moved to {free.name} ({free.max_users} users)",
                before=subscription_snapshot(before), after=subscription_snapshot(after[before.pk]),
            )
            license_ledger_record(
                subscription=after[before.pk], event=LicenseEvent.TRIAL_ENDED, actor=actor
            )
            subscription_changed.send(sender=Subscription, account=after[before.pk].account, actor=actor,
                                      changed={"plan": [before.plan.code, free.code], "state": [before.state, "active"]})
        trial_became_free_notify(subscriptions=expiring)
    return len(expiring)


def trial_end_now(*, account, actor, reason):
    """Staff end a trial early: it ends now and the account moves to Free like any ended trial."""
    if not (reason or "").strip():
        raise ServiceError("Say why the trial ends early.")
    now = timezone.now()
    with transaction.atomic():
        subscription = Subscription.objects.select_for_update().filter(account=account).first()
        if subscription is None or subscription.state != SubscriptionState.TRIALING:
            raise ServiceError("This account is not on a trial.")
        audit_record(
            account=account, actor=actor, kind="subscription.trial_ended_early",
            summary="Trial ended early by staff",
            before={"trial_ends_at": subscription.trial_ends_at.isoformat()},
            after={"trial_ends_at": now.isoformat()}, reason=reason,
        )
        subscription_set_trial_end(subscription=subscription, ends_at=now)
        trials_expire(actor=actor, now=now, account=account)
    return subscription


# --- 2. notices -------------------------------------------------------------------------------------
