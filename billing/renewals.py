"""The renewal and overdue invoices: the next term starts on the anniversary with the scheduled
change applied once and one open invoice per term (``subscription_renew``, collected from the
card on file by billing.collection); open invoices past their due date become past due, and
their subscriptions with them (``invoices_mark_past_due``)."""


from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.selectors import billing_emails_by_account
from accounts.services import ServiceError, audit_record
from billing import pricing
from billing.changes import _change_snapshot
from billing.collection import invoice_collection_start
from billing.discounts import discount_rules_for
from billing.emails import format_day
from billing.invoices import invoice_issue_for_order
from billing.models import (
    Invoice,
    InvoiceState,
    LicenseEvent,
    NoticeKind,
    Order,
    OrderKind,
    OrderLine,
    OrderState,
    Plan,
    ScheduledChange,
    Subscription,
    SubscriptionState,
)
from billing.notices import _notice_send_once
from billing.services import subscription_snapshot
from billing.subscriptions import (
    license_ledger_record,
    notify_subscription_changed,
    subscription_cancel_to_free,
    subscription_start_next_term,
    subscriptions_mark_past_due,
)
from billing.terms import FREE_PLAN_CODE, INVOICE_DUE_DAYS, RENEWING_STATES, TERM
from billing.trials import move_to_free_refusal


def invoice_issue(*, order, actor):
    """The lifecycle's invoices (renewals, quotes): open, payable net 30, numbered by the invoice
    service (gapless per series). A renewal order's invoice carries (subscription, term start):
    one per term, by the database."""
    return invoice_issue_for_order(order=order, actor=actor, paid=False, due_days=INVOICE_DUE_DAYS)


def invoices_mark_past_due(*, actor, now=None):
    """Open invoices whose due date passed become past due, and so do their subscriptions; the
    account's Admins get one "payment overdue" email per invoice. Set-based and state-based:
    a second run finds nothing new. Returns how many invoices it marked."""
    now = now or timezone.now()
    with transaction.atomic():
        overdue = list(
            Invoice.objects.select_for_update().select_related("account", "series")
            .filter(state=InvoiceState.OPEN, due_at__lt=now)
        )
        Invoice.objects.filter(pk__in=[i.pk for i in overdue], state=InvoiceState.OPEN).update(
            state=InvoiceState.PAST_DUE
        )
        for invoice in overdue:
            audit_record(
                account=invoice.account, actor=actor, kind="invoice.past_due",
                summary=f"Invoice {invoice.display_number} is past due (due {invoice.due_at:%Y-%m-%d})",
                before={"state": InvoiceState.OPEN}, after={"state": InvoiceState.PAST_DUE},
            )
        owing = list(
            Subscription.objects.select_for_update().select_related("account")
            .filter(
                state__in=[SubscriptionState.ACTIVE, SubscriptionState.CANCELLED],
                account_id__in=Invoice.objects.filter(state=InvoiceState.PAST_DUE).values("account_id"),
            )
        )
        subscriptions_mark_past_due(subscriptions=owing, now=now)
        for subscription in owing:
            audit_record(
                account=subscription.account, actor=actor, kind="subscription.past_due",
                summary="Subscription past due: an invoice is overdue",
                before={"state": subscription.state}, after={"state": SubscriptionState.PAST_DUE},
            )
            notify_subscription_changed(subscription, actor)
        unnoticed = (
            Invoice.objects.select_related("account__subscription", "series")
            .filter(state=InvoiceState.PAST_DUE)
            .exclude(notices__kind=NoticeKind.PAYMENT_OVERDUE)
        )
        unnoticed = list(unnoticed)
        emails = billing_emails_by_account(account_ids={invoice.account_id for invoice in unnoticed})
        for invoice in unnoticed:
            _notice_send_once(
                recipients=emails.get(invoice.account_id, []),
                subscription=invoice.account.subscription, kind=NoticeKind.PAYMENT_OVERDUE,
                about=timezone.localdate(invoice.due_at), invoice=invoice,
                subject=f"Payment overdue: invoice {invoice.display_number}",
                template="billing/emails/payment_overdue.txt",
                context={"invoice": invoice, "account": invoice.account,
                         "due_on": format_day(timezone.localdate(invoice.due_at))},
            )
    return len(overdue)


# --- 6. renewals --------------------------------------------------------------------------------------


def _renewal_lines(*, subscription, term_start, term_end, rules):
    """The renewal's lines (``billing.pricing.price_lines``): the plan and each add-on for the
    whole new term at the yearly price, with the account's discount."""
    lines = pricing.price_lines(
        subscription=subscription, term=pricing.renewal_term(start=term_start, end=term_end),
        discount_percent=0, discounts=rules,
        change=pricing.Change(
            plan=subscription.plan, licenses=subscription.licenses,
            keep_addons=tuple(pricing.subscription_addon_prices(subscription)),
            reference=f"{term_start:%Y-%m-%d} to {term_end:%Y-%m-%d}",
        ),
    )
    return pricing.order_lines(lines)


def subscription_renew(*, subscription, actor, today=None):
    """Renews one subscription whose anniversary has come. Returns what happened: "renewed",
    "moved_to_free", "waiting" (a cancellation while an invoice is past due) or None (nothing due).

    Under the subscription's row lock the anniversary is re-read, so a second run (or a second
    worker) finds the next term already started and does nothing; the renewal order (one per
    subscription and term) and the invoice (one per subscription and term) are DB constraints
    behind that.
    """
    today = today or timezone.localdate()
    with transaction.atomic():
        subscription = (
            Subscription.objects.select_for_update().select_related("plan", "account")
            .get(pk=subscription.pk)
        )
        if (
            subscription.term_end is None or subscription.term_end > today
            or subscription.state not in RENEWING_STATES or not subscription.plan.is_paid
        ):
            return None
        before = subscription_snapshot(subscription)
        change = ScheduledChange.objects.filter(subscription=subscription).select_related("plan").first()
        if change and change.cancel_to_free:
            if move_to_free_refusal(account=subscription.account):
                # No move to Free while a payment is past due: the cancellation waits (nothing is
                # renewed nor charged) until the invoice is paid; the next daily run applies it.
                return "waiting"
            free = Plan.objects.get(code=FREE_PLAN_CODE)
            ended_on = subscription.term_end
            subscription_cancel_to_free(subscription=subscription, free_plan=free, ended_on=ended_on,
                                        change=change)
            audit_record(
                account=subscription.account, actor=actor, kind="subscription.cancelled_to_free",
                summary=f"Cancelled at renewal: moved to {free.name} on {format_day(ended_on)}",
                before=before, after=subscription_snapshot(subscription),
            )
            license_ledger_record(
                subscription=subscription, event=LicenseEvent.CANCELLED_TO_FREE, actor=actor
            )
            notify_subscription_changed(subscription, actor)
            return "moved_to_free"

        term_start = subscription.term_end
        term_end = term_start + TERM
        applied = _change_snapshot(change)
        subscription_start_next_term(subscription=subscription, change=change, term_start=term_start,
                                     term_end=term_end)

        lines = _renewal_lines(
            subscription=subscription, term_start=term_start, term_end=term_end,
            rules=discount_rules_for(account=subscription.account_id, day=term_start),
        )
        order = Order.objects.create(
            account=subscription.account, kind=OrderKind.RENEWAL, state=OrderState.INVOICED,
            renewal_of=subscription, renewal_term_start=term_start,
            total_cents=sum(line.amount_cents for line in lines),
        )
        for line in lines:
            line.order = order
        OrderLine.objects.bulk_create(lines)
        invoice = invoice_issue(order=order, actor=actor)
        invoice_collection_start(invoice=invoice)
        audit_record(
            account=subscription.account, actor=actor, kind="subscription.renewed",
            summary=(
                f"Renewed {subscription.plan.name} x {subscription.licenses} for "
                f"{term_start:%Y-%m-%d} to {term_end:%Y-%m-%d}; invoice {invoice.display_number}"
            ),
            before=before | applied,
            after=subscription_snapshot(subscription) | {"order": order.pk, "invoice": invoice.pk,
                                                         "total_cents": order.total_cents},
        )
        license_ledger_record(
            subscription=subscription, event=LicenseEvent.RENEWAL, actor=actor, order=order
        )
        notify_subscription_changed(subscription, actor)
    return "renewed"


def subscriptions_renew(*, actor, today=None):
    """Renews every subscription whose anniversary has come (a job that missed days catches up,
    one term at a time). Returns counts of what happened."""
    today = today or timezone.localdate()
    counts = {"renewed": 0, "moved_to_free": 0, "waiting": 0}
    due = Subscription.objects.filter(
        term_end__lte=today, state__in=RENEWING_STATES, plan__is_paid=True
    ).order_by("term_end", "pk")
    for subscription in due:
        while True:
            try:
                outcome = subscription_renew(subscription=subscription, actor=actor, today=today)
            except (IntegrityError, ServiceError):
                # Another worker renewed this term first: its order/invoice won the constraint.
                outcome = None
            if outcome is None:
                break
            counts[outcome] += 1
            if outcome != "renewed":
                break
    return counts


# --- 7. discounts ---------------------------------------------------------------------------------
