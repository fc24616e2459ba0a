"""Changes scheduled for the renewal: fewer licenses, a lower plan, cancellation to Free (asked
at least 30 days before the anniversary: ``cancellation_last_day``), and withdrawing them."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from accounts.services import ServiceError, audit_record
from billing.emails import format_day
from billing.models import (
    LicenseEvent,
    Plan,
    ScheduledChange,
    Subscription,
)
from billing.subscriptions import (
    license_ledger_record,
    notify_subscription_changed,
    subscription_schedule_change,
    subscription_withdraw_change,
)
from billing.terms import CANCELLATION_NOTICE_DAYS, RENEWING_STATES
from billing.trials import move_to_free_refusal


def cancellation_last_day(*, subscription):
    """The last day a cancellation to Free is accepted: 30 days before the anniversary.

    Example: a term ending 15 March 2027 may be cancelled up to and including 13 February 2027
    (30 days before); from 14 February on it renews.
    """
    return subscription.term_end - timedelta(days=CANCELLATION_NOTICE_DAYS)


def lower_plans_for(*, subscription, plans=None):
    """Plans a renewal may move to: paid, not above the current plan, and not a legacy plan
    unless it is the current one (a legacy plan may renew as it is). Among ``plans`` (a page
    passes the cached catalogue, ``billing.selectors.catalogue_plans``), else read now."""
    current = subscription.plan
    if plans is None:
        plans = Plan.objects.all()
    return [p for p in plans if p.is_paid and p.rank <= current.rank and (p.is_sold or p.pk == current.pk)]


def _renewing_subscription(subscription_id):
    subscription = (
        Subscription.objects.select_for_update().select_related("plan", "account")
        .get(pk=subscription_id)
    )
    if (
        subscription.state not in RENEWING_STATES or not subscription.plan.is_paid
        or subscription.term_end is None
    ):
        raise ServiceError(
            "Only a paid subscription with an annual term has a renewal to change."
        )
    return subscription


def scheduled_change_set(*, subscription, actor, plan=None, licenses=None, cancel_to_free=False,
                         today=None):
    """Schedules, for the renewal, fewer licenses and/or a lower plan, or cancellation to Free.
    Replaces any change scheduled before. Nothing changes before the renewal; no refunds."""
    today = today or timezone.localdate()
    with transaction.atomic():
        subscription = _renewing_subscription(subscription.pk)
        before_state = subscription.state
        if cancel_to_free:
            last_day = cancellation_last_day(subscription=subscription)
            if today > last_day:
                raise ServiceError(
                    f"Too late to cancel at this renewal: a cancellation must be asked for at "
                    f"least {CANCELLATION_NOTICE_DAYS} days before the renewal on "
                    f"{format_day(subscription.term_end)}, so the last day was "
                    f"{format_day(last_day)}. Your subscription renews on "
                    f"{format_day(subscription.term_end)}; you can cancel for the following renewal."
                )
            refusal = move_to_free_refusal(account=subscription.account)
            if refusal:
                raise ServiceError(refusal)
            fields = dict(plan=None, licenses=None, cancel_to_free=True)
            summary = f"Cancellation to Free scheduled for {format_day(subscription.term_end)}"
        else:
            target = plan or subscription.plan
            if target.pk != subscription.plan.pk and target not in lower_plans_for(subscription=subscription):
                if target.is_legacy:
                    raise ServiceError(f"{target.name} is a legacy plan and can no longer be chosen.")
                if not target.is_paid:
                    raise ServiceError("To move to Free, cancel at renewal instead.")
                raise ServiceError(
                    f"{target.name} is not a lower plan than {subscription.plan.name}; "
                    "upgrades are bought in the cart and start at once."
                )
            new_licenses = subscription.licenses if licenses is None else licenses
            if new_licenses > subscription.licenses:
                raise ServiceError(
                    "Extra licenses are bought in the cart and start at once; only fewer "
                    "licenses can be scheduled for the renewal."
                )
            if new_licenses < target.min_licenses:
                raise ServiceError(
                    f"{target.name} needs at least {target.min_licenses} licenses "
                    f"(asked for {new_licenses})."
                )
            if target.pk == subscription.plan.pk and new_licenses == subscription.licenses:
                raise ServiceError("That is what renews already: choose fewer licenses or a lower plan.")
            fields = dict(
                plan=None if target.pk == subscription.plan.pk else target,
                licenses=None if new_licenses == subscription.licenses else new_licenses,
                cancel_to_free=False,
            )
            summary = (
                f"Renewal on {format_day(subscription.term_end)} scheduled as "
                f"{target.name} x {new_licenses}"
            )
        # "Cancelled at term end" is how the subscription reads until the renewal moves it.
        change, previous = subscription_schedule_change(subscription=subscription, fields=fields, actor=actor)
        audit_record(
            account=subscription.account, actor=actor, kind="subscription.change_scheduled",
            summary=summary, before=_change_snapshot(previous) | {"state": before_state},
            after=_change_snapshot(change) | {"state": subscription.state},
        )
        license_ledger_record(
            subscription=subscription, event=LicenseEvent.SCHEDULED_CHANGE, actor=actor, change=change
        )
        if subscription.state != before_state:
            notify_subscription_changed(subscription, actor)
    return change


def _change_snapshot(change):
    if change is None:
        return {"scheduled_change": None}
    return {"scheduled_change": {
        "plan": change.plan.code if change.plan else None,
        "licenses": change.licenses,
        "cancel_to_free": change.cancel_to_free,
    }}


def scheduled_change_withdraw(*, subscription, actor):
    """Withdraws the scheduled change: the subscription renews as it is."""
    with transaction.atomic():
        subscription = (
            Subscription.objects.select_for_update().select_related("account").get(pk=subscription.pk)
        )
        change = ScheduledChange.objects.filter(subscription=subscription).select_related("plan").first()
        if change is None:
            raise ServiceError("There is no scheduled change to withdraw.")
        before_state = subscription.state
        before = _change_snapshot(change) | {"state": before_state}
        subscription_withdraw_change(subscription=subscription, change=change)
        audit_record(
            account=subscription.account, actor=actor, kind="subscription.change_withdrawn",
            summary="Scheduled change withdrawn: the subscription renews as it is",
            before=before, after={"scheduled_change": None, "state": subscription.state},
        )
        license_ledger_record(subscription=subscription, event=LicenseEvent.CHANGE_WITHDRAWN, actor=actor)
        if subscription.state != before_state:
            notify_subscription_changed(subscription, actor)


# --- 4. past due ------------------------------------------------------------------------------------
