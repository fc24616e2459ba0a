"""The subscription's payment state, its license ledger, and the one way its change is announced.

``license_ledger_record`` appends to the license ledger after every change of licenses or of
licenses at the next renewal; every writer of the subscription calls it (a test walks them).

``subscription_refresh_payment_state`` keeps the state in step with the invoices (past due while
an invoice is past due; active, or cancelled at term end, once none is). The invoice service and
the lifecycle both call it; living here, below both, it leaves no import cycle in billing.
"""

from datetime import date

from django.db import transaction

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
from billing.selectors import has_past_due_invoice


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
