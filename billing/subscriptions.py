"""The subscription's payment state, and the one way its change is announced.

``subscription_refresh_payment_state`` keeps the state in step with the invoices (past due while
an invoice is past due; active, or cancelled at term end, once none is). The invoice service and
the lifecycle both call it; living here, below both, it leaves no import cycle in billing.
"""

from django.db import transaction

from accounts.services import audit_record
from billing.hooks import subscription_changed
from billing.models import ScheduledChange, Subscription, SubscriptionState
from billing.selectors import has_past_due_invoice


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
