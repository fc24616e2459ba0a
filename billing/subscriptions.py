"""The subscription's payment state, its license ledger, and the one way its change is announced.

``license_ledger_record`` appends to the license ledger after every change of licenses or of
licenses at the next renewal; every writer of the subscription calls it (a test walks them).

``subscription_refresh_payment_state`` keeps the state in step with the invoices (past due while
an invoice is past due; active, or cancelled at term end, once none is). The invoice service and
the lifecycle both call it; living here, below both, it leaves no import cycle in billing.
"""

from datetime import date, timedelta

from django.db import IntegrityError, transaction

from accounts.services import audit_record
from billing.hooks import subscription_changed
from billing.models import (
    AddOn,
    LicenseEvent,
    LicenseLedger,
    Plan,
    ScheduledChange,
    Subscription,
    SubscriptionAddOn,
    SubscriptionState,
)
from billing.selectors import has_past_due_invoice, subscription_for
from billing.terms import FREE_PLAN_CODE


def subscription_snapshot(subscription):
    """The fields an audit row records before and after a subscription change."""
    return {
        "plan": subscription.plan.code,
        "licenses": subscription.licenses,
        "state": subscription.state,
        "term_start": subscription.term_start.isoformat() if subscription.term_start else None,
        "term_end": subscription.term_end.isoformat() if subscription.term_end else None,
    }


def notify_subscription_changed(subscription, actor):
    # Re-read so that receivers (licensing, support) see the subscription as it now is.
    account = Subscription.objects.select_related("account").get(pk=subscription.pk).account
    subscription_changed.send(sender=Subscription, account=account, actor=actor)


def subscription_refresh_payment_state(*, subscription, actor):
    """Puts the subscription's state in step with its invoices: past due while an invoice is past
    due; back to active (or "cancelled at term end" when a cancellation is scheduled) once none
    is. The invoice service calls it after an invoice is paid or voided."""
    with transaction.atomic():
        subscription = (
            Subscription.objects.select_for_update().select_related("account").get(pk=subscription.pk)
        )
        owes = has_past_due_invoice(account=subscription.account)
        before = subscription.state
        if owes and before in (SubscriptionState.ACTIVE, SubscriptionState.CANCELLED):
            subscription.state = SubscriptionState.PAST_DUE
        elif not owes and before == SubscriptionState.PAST_DUE:
            cancelling = ScheduledChange.objects.filter(
                subscription=subscription, cancel_to_free=True
            ).exists()
            subscription.state = (
                SubscriptionState.CANCELLED if cancelling else SubscriptionState.ACTIVE
            )
        else:
            return subscription
        subscription.save(update_fields=["state", "updated_at"])
        audit_record(
            account=subscription.account, actor=actor, kind="subscription.payment_state",
            summary=f"Subscription {before} -> {subscription.state} (invoices "
                    f"{'past due' if owes else 'settled'})",
            before={"state": before}, after={"state": subscription.state},
        )
        notify_subscription_changed(subscription, actor)
    return subscription


def licenses_at_next_renewal(subscription, change=None):
    """What the renewal will bill: the scheduled change's licenses, Free's cap after a
    cancellation, else today's licenses; None when nothing renews (trial, Free)."""
    if subscription.state in (SubscriptionState.TRIALING, SubscriptionState.ENDED) or (
        not subscription.plan.is_paid or subscription.term_end is None
    ):
        return None
    if change is None:
        change = ScheduledChange.objects.filter(subscription=subscription).first()
    if change is not None and change.cancel_to_free:
        return None
    if change is not None and change.licenses:
        return change.licenses
    return subscription.licenses


def license_ledger_record(*, subscription, event, actor, order=None, change=None):
    """Appends the subscription's licenses now and at the next renewal, when either changed
    since the last row (an unchanged renewal or a plan-only upgrade writes nothing)."""
    next_renewal = licenses_at_next_renewal(subscription, change)
    last = LicenseLedger.objects.filter(subscription=subscription).order_by("-created_at", "-id").first()
    if last is not None and (last.licenses, last.licenses_at_next_renewal) == (
        subscription.licenses, next_renewal
    ) and event not in (LicenseEvent.RENEWAL, LicenseEvent.CANCELLED_TO_FREE, LicenseEvent.TRIAL_ENDED):
        return None
    return LicenseLedger.objects.create(
        subscription=subscription, event=event, licenses=subscription.licenses,
        licenses_at_next_renewal=next_renewal, plan_code=subscription.plan.code, order=order,
        actor_label=actor.label[:200],
    )


def subscription_purchase_apply(*, subscription, purchase, actor, order):
    """A paid (or invoiced) purchase takes effect: plan, licenses and add-ons together (the
    add-ons' quantity is the licenses, so they follow in the same transaction), a new term when
    it starts one. ``purchase`` is what the order recorded when it was placed (``Order.purchase``):
    the payment that succeeds later applies exactly what was priced and confirmed."""
    before = subscription_snapshot(subscription)
    plan = Plan.objects.get(code=purchase["plan"])
    addons = list(AddOn.objects.filter(code__in=purchase["addons"]))
    subscription.plan, subscription.licenses = plan, purchase["licenses"]
    fields = ["plan", "licenses", "updated_at"]
    if purchase["starts_new_term"]:
        subscription.term_start = date.fromisoformat(purchase["term_start"])
        subscription.term_end = date.fromisoformat(purchase["term_end"])
        subscription.state = SubscriptionState.ACTIVE
        fields += ["term_start", "term_end", "state"]
        SubscriptionAddOn.objects.filter(subscription=subscription).exclude(addon__in=addons).delete()
    for addon in addons:
        if addon.code in purchase["new_addons"]:
            SubscriptionAddOn.objects.get_or_create(subscription=subscription, addon=addon)
    subscription.save(update_fields=fields)
    after = subscription_snapshot(subscription)
    after["addons"] = sorted(purchase["addons"])
    audit_record(
        account=subscription.account, actor=actor, kind="subscription.purchased",
        summary=f"Order {order.pk}: {plan.name} x {subscription.licenses}", before=before, after=after,
    )
    license_ledger_record(
        subscription=subscription, event=LicenseEvent.PURCHASE, actor=actor, order=order
    )
    subscription_changed.send(sender=Subscription, account=subscription.account, actor=actor)
    return subscription


# --- the writers of a subscription's state (issue 12: one owner) ---------------------------------
#
# Each function below is one transition: it checks the state it starts from, writes the
# subscription (and its add-ons or scheduled change), its audit row and its license-ledger row,
# and sends ``subscription_changed`` with what changed. The caller holds the subscription's row
# lock, inside its transaction. A test (tests/test_architecture.py) finds no other module writing
# Subscription, SubscriptionAddOn or ScheduledChange. The table is in docs/billing.md too.
#
# | transition                     | from                               | to                          |
# | ------------------------------ | ---------------------------------- | --------------------------- |
# | subscription_start_trial       | (none)                             | trialing                    |
# | subscription_provision         | (none)                             | active                      |
# | subscription_purchase_apply    | any                                | active on a new term, or as before |
# | subscription_apply_quote       | trialing, active, cancelled, past_due | active (past_due stays)  |
# | subscription_schedule_change   | active, cancelled, past_due        | cancelled (cancel to Free), active, past_due |
# | subscription_withdraw_change   | active, cancelled, past_due        | active (from cancelled)     |
# | subscription_start_next_term   | active, cancelled, past_due        | active (from cancelled)     |
# | subscription_cancel_to_free    | active, cancelled, past_due        | active on Free, no term     |
# | subscription_set_trial_end     | trialing                           | trialing (ends now)         |
# | subscriptions_end_trials       | trialing                           | active on Free, no term     |
# | subscriptions_mark_past_due    | active, cancelled                  | past_due                    |
# | subscription_refresh_payment_state | past_due; active, cancelled    | active or cancelled; past_due |

SOURCES = {
    "apply_quote": {SubscriptionState.TRIALING, SubscriptionState.ACTIVE, SubscriptionState.CANCELLED,
                    SubscriptionState.PAST_DUE},
    "schedule_change": {SubscriptionState.ACTIVE, SubscriptionState.CANCELLED, SubscriptionState.PAST_DUE},
    "withdraw_change": {SubscriptionState.ACTIVE, SubscriptionState.CANCELLED, SubscriptionState.PAST_DUE},
    "start_next_term": {SubscriptionState.ACTIVE, SubscriptionState.CANCELLED, SubscriptionState.PAST_DUE},
    "cancel_to_free": {SubscriptionState.ACTIVE, SubscriptionState.CANCELLED, SubscriptionState.PAST_DUE},
    "end_trial": {SubscriptionState.TRIALING},
    "mark_past_due": {SubscriptionState.ACTIVE, SubscriptionState.CANCELLED},
}


class TransitionRefused(Exception):
    """A transition asked from a state it does not start from: a bug in the caller."""


def _from(subscription, transition):
    if subscription.state not in SOURCES[transition]:
        raise TransitionRefused(f"{transition} does not start from {subscription.state}")


def _changed(before, after):
    return {name: [before[name], after[name]] for name in after if before.get(name) != after[name]}


def _announce(subscription, actor, changed):
    account = Subscription.objects.select_related("account").get(pk=subscription.pk).account
    subscription_changed.send(sender=Subscription, account=account, actor=actor, changed=changed)


def _free_fields(free_plan, day):
    return dict(plan=free_plan, licenses=free_plan.max_users, state=SubscriptionState.ACTIVE,
                term_start=day, term_end=None)


def subscription_start_trial(*, account, plan, licenses, now, trial_days, actor):
    subscription = Subscription.objects.create(
        account=account, plan=plan, licenses=licenses, state=SubscriptionState.TRIALING,
        term_start=now.date(), trial_ends_at=now + timedelta(days=trial_days),
    )
    audit_record(account=account, actor=actor, kind="subscription.trial_started",
                 summary=f"{trial_days}-day {plan.name} trial started", after=subscription_snapshot(subscription))
    license_ledger_record(subscription=subscription, event=LicenseEvent.TRIAL_STARTED, actor=actor)
    _announce(subscription, actor, {"state": [None, subscription.state]})
    return subscription


def subscription_provision(*, account, plan, licenses, today, term, actor):
    if plan.is_paid:
        fields = dict(licenses=licenses, state=SubscriptionState.ACTIVE, term_start=today, term_end=today + term)
    else:
        fields = dict(licenses=plan.max_users, state=SubscriptionState.ACTIVE, term_start=today, term_end=None)
    subscription = Subscription.objects.create(account=account, plan=plan, **fields)
    audit_record(account=account, actor=actor, kind="subscription.provisioned",
                 summary=f"{plan.name} x {subscription.licenses} provisioned",
                 after=subscription_snapshot(subscription))
    license_ledger_record(subscription=subscription, event=LicenseEvent.PROVISIONED, actor=actor)
    _announce(subscription, actor, {"state": [None, subscription.state]})
    return subscription


def subscription_ensure(*, account, actor, today):
    """The account's subscription, made Free first if it has none (an account made outside
    sign-up and provisioning, by staff in a shell: every account has one, Free included). Two
    requests at once make one: the second reads the first's."""
    subscription = subscription_for(account=account)
    if subscription is not None:
        return subscription
    try:
        with transaction.atomic():
            return subscription_provision(account=account, plan=Plan.objects.get(code=FREE_PLAN_CODE),
                                          licenses=None, today=today, term=None, actor=actor)
    except IntegrityError:  # made meanwhile by a concurrent request
        return subscription_for(account=account)


def subscription_apply_quote(*, subscription, plan=None, licenses=None, new_term=None, addon=None,
                             addon_unit_price_cents=None):
    """The writes of an accepted quote (billing.quotes audits it with the order it made):
    a plan and licenses (a new term when not on one), or an add-on at its quoted price."""
    _from(subscription, "apply_quote")
    if plan is not None:
        if new_term is not None:
            subscription.term_start, subscription.term_end = new_term
        if subscription.state in (SubscriptionState.TRIALING, SubscriptionState.CANCELLED):
            subscription.state = SubscriptionState.ACTIVE
        subscription.plan, subscription.licenses = plan, licenses
        subscription.save()
    if addon is not None:
        SubscriptionAddOn.objects.create(subscription=subscription, addon=addon,
                                         unit_price_cents=addon_unit_price_cents)
    return subscription


def subscription_schedule_change(*, subscription, fields, actor):
    """Records the change for the renewal (one per subscription); a cancellation to Free reads
    "cancelled at term end" until the renewal. Returns (change, the change it replaced)."""
    from django.utils import timezone

    _from(subscription, "schedule_change")
    previous = ScheduledChange.objects.filter(subscription=subscription).first()
    change, _ = ScheduledChange.objects.update_or_create(
        subscription=subscription,
        defaults={**fields, "requested_by": actor.user, "requested_at": timezone.now()},
    )
    before = subscription.state
    if fields.get("cancel_to_free") and subscription.state == SubscriptionState.ACTIVE:
        subscription.state = SubscriptionState.CANCELLED
    elif not fields.get("cancel_to_free") and subscription.state == SubscriptionState.CANCELLED:
        subscription.state = SubscriptionState.ACTIVE
    if subscription.state != before:
        subscription.save(update_fields=["state", "updated_at"])
    return change, previous


def subscription_withdraw_change(*, subscription, change):
    _from(subscription, "withdraw_change")
    change.delete()
    if subscription.state == SubscriptionState.CANCELLED:
        subscription.state = SubscriptionState.ACTIVE
        subscription.save(update_fields=["state", "updated_at"])
    return subscription


def subscription_start_next_term(*, subscription, change, term_start, term_end):
    """The renewal's writes: the scheduled change applied once (add-ons the new plan cannot carry
    end with the old term), the next term, "cancelled" back to active."""
    _from(subscription, "start_next_term")
    if change:
        if change.plan_id:
            subscription.plan = change.plan
        if change.licenses:
            subscription.licenses = change.licenses
        SubscriptionAddOn.objects.filter(subscription=subscription).exclude(
            addon__eligible_plans=subscription.plan
        ).delete()
        change.delete()
    subscription.term_start, subscription.term_end = term_start, term_end
    if subscription.state == SubscriptionState.CANCELLED:
        subscription.state = SubscriptionState.ACTIVE
    subscription.save()
    return subscription


def subscription_cancel_to_free(*, subscription, free_plan, ended_on, change):
    _from(subscription, "cancel_to_free")
    for name, value in _free_fields(free_plan, ended_on).items():
        setattr(subscription, name, value)
    subscription.save()
    SubscriptionAddOn.objects.filter(subscription=subscription).delete()
    if change is not None:
        change.delete()
    return subscription


def subscription_set_trial_end(*, subscription, ends_at):
    _from(subscription, "end_trial")
    subscription.trial_ends_at = ends_at
    subscription.save(update_fields=["trial_ends_at", "updated_at"])
    return subscription


def subscriptions_end_trials(*, subscriptions, free_plan, today, now):
    """Set-based: the locked trialing subscriptions become Free, their add-ons and scheduled
    changes gone. Returns the rows as they are after."""
    for subscription in subscriptions:
        _from(subscription, "end_trial")
    ids = [s.pk for s in subscriptions]
    Subscription.objects.filter(pk__in=ids, state=SubscriptionState.TRIALING).update(
        **_free_fields(free_plan, today), updated_at=now
    )
    SubscriptionAddOn.objects.filter(subscription_id__in=ids).delete()
    ScheduledChange.objects.filter(subscription_id__in=ids).delete()
    return {s.pk: s for s in Subscription.objects.select_related("plan", "account").filter(pk__in=ids)}


def subscriptions_mark_past_due(*, subscriptions, now):
    for subscription in subscriptions:
        _from(subscription, "mark_past_due")
    Subscription.objects.filter(pk__in=[s.pk for s in subscriptions]).update(
        state=SubscriptionState.PAST_DUE, updated_at=now
    )
