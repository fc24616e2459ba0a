"""A subscription's life after the purchase: the trial's end, the billing notices, changes
scheduled for the renewal (fewer licenses, a lower plan, cancellation to Free), the renewal
itself, overdue invoices, and the account's discount.

The rules, each in one function:
- a trial that was not paid for becomes Free when it ends: ``trials_expire``
- notices go out once each (3 and 1 days before a trial ends, 30 days before a renewal, an
  overdue payment): ``notices_send``, ``invoices_mark_past_due`` and ``BillingNotice``
- a cancellation must be asked for at least 30 days before the anniversary:
  ``cancellation_last_day`` and ``scheduled_change_set``
- no move to Free while an invoice is past due: ``move_to_free_refusal``
- the renewal starts the next term, applies the scheduled change once and issues one invoice:
  ``subscription_renew``
"""

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.mail import email_queue
from accounts.selectors import admin_emails as account_admin_emails
from accounts.selectors import admin_emails_by_account, billing_emails_by_account
from accounts.services import ServiceError, audit_record
from billing import selectors
from billing.hooks import subscription_changed
from billing.invoices import invoice_issue_for_order
from billing.models import (
    BillingNotice,
    BillingProfile,
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
    SubscriptionAddOn,
    SubscriptionState,
)
from billing.payments import invoice_collection_start
from billing.pricing import addon_yearly_unit_cents, line_amount_cents, yearly_unit_cents
from billing.selectors import has_past_due_invoice
from billing.services import subscription_snapshot
from billing.subscriptions import (  # noqa: F401 (callers import them from here too)
    license_ledger_record,
    notify_subscription_changed,
    subscription_refresh_payment_state,
)
from billing.terms import NET_DAYS, TERM

FREE_PLAN_CODE = "free"
# PRODUCT.md, "Billing and the cart": a cancellation must arrive 30 days before the anniversary.
CANCELLATION_NOTICE_DAYS = 30
# Issue 4: trial ending 3 days and 1 day before; renewal coming 30 days before.
TRIAL_NOTICE_DAYS = 3
TRIAL_LAST_NOTICE_DAYS = 1
RENEWAL_NOTICE_DAYS = 30
# Issue 4: invoices (renewals, quotes) are payable net 30.
INVOICE_DUE_DAYS = NET_DAYS
RENEWING_STATES = [SubscriptionState.ACTIVE, SubscriptionState.PAST_DUE, SubscriptionState.CANCELLED]


# --- small shared pieces -------------------------------------------------------------------------


def format_day(day):
    """A date as the emails and messages write it: 30 November 2026."""
    return f"{day.day} {day:%B %Y}"


def admin_emails(*, account):
    """Billing notices go to every Admin of the account."""
    return account_admin_emails(account_id=account.pk)


def email_after_commit(*, recipients, subject, template, context):
    if not recipients:
        return
    context = {**context, "site_url": settings.SITE_URL.rstrip("/"),
               "catalogue_terms": selectors.catalogue_terms()}
    body = render_to_string(template, context)
    email_queue(subject=subject, body=body, recipients=recipients)


def _notice_send_once(*, subscription, kind, about, subject, template, context, invoice=None,
                      recipients=None):
    """Records the notice and sends its email after the commit; False when it was sent before.

    The unique constraints of BillingNotice decide: a second run, or a second worker racing the
    first, hits the IntegrityError and sends nothing.
    """
    if recipients is None:  # the jobs read every account's Admins at once and pass them in
        recipients = admin_emails(account=subscription.account)
    try:
        with transaction.atomic():
            BillingNotice.objects.create(
                subscription=subscription, kind=kind, about=about, invoice=invoice,
                recipients=", ".join(recipients),
            )
    except IntegrityError:
        return False
    email_after_commit(recipients=recipients, subject=subject, template=template, context=context)
    return True


def discount_percent_for(*, account):
    """The account's discount (e.g. nonprofit), 0 when staff set none."""
    profile = BillingProfile.objects.filter(account=account).first()
    return profile.discount_percent if profile else Decimal("0")


def addon_yearly_price_cents(row):
    """A subscription add-on row's price per user per year: its quote's, else the list price."""
    row.addon.quoted_unit_cents = row.unit_price_cents
    return addon_yearly_unit_cents(row.addon)


def invoice_issue(*, order, actor):
    """The lifecycle's invoices (renewals, quotes): open, payable net 30, numbered by the invoice
    service (gapless per series). A renewal order's invoice carries (subscription, term start):
    one per term, by the database."""
    return invoice_issue_for_order(order=order, actor=actor, paid=False, due_days=INVOICE_DUE_DAYS)


def move_to_free_refusal(*, account):
    """PRODUCT.md: no move to Free while a payment is past due. The reason, or None."""
    if has_past_due_invoice(account=account):
        return (
            "You cannot move to Free while an invoice is past due. Pay the overdue invoice "
            "first (Billing page), then ask again."
        )
    return None


def _free_fields(free_plan, today):
    return dict(
        plan=free_plan, licenses=free_plan.max_users, state=SubscriptionState.ACTIVE,
        term_start=today, term_end=None,
    )


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
        ids = [s.pk for s in expiring]
        Subscription.objects.filter(pk__in=ids, state=SubscriptionState.TRIALING).update(
            **_free_fields(free, today), updated_at=now
        )
        SubscriptionAddOn.objects.filter(subscription_id__in=ids).delete()
        ScheduledChange.objects.filter(subscription_id__in=ids).delete()
        after = {
            s.pk: s for s in Subscription.objects.select_related("plan", "account").filter(pk__in=ids)
        }
        for before in expiring:
            audit_record(
                account=before.account, actor=actor, kind="subscription.trial_expired",
                summary=f"Trial ended without a purchase: moved to {free.name} ({free.max_users} users)",
                before=subscription_snapshot(before), after=subscription_snapshot(after[before.pk]),
            )
            license_ledger_record(
                subscription=after[before.pk], event=LicenseEvent.TRIAL_ENDED, actor=actor
            )
            subscription_changed.send(sender=Subscription, account=after[before.pk].account, actor=actor)
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
        subscription.trial_ends_at = now
        subscription.save(update_fields=["trial_ends_at", "updated_at"])
        trials_expire(actor=actor, now=now, account=account)
    return subscription


# --- 2. notices -------------------------------------------------------------------------------------


def _notices_sent(subscriptions):
    """(subscription, kind, date) of the notices already sent to these subscriptions, in one
    query, so that a daily run skips them without trying. The unique constraint still decides
    when two runs race."""
    return set(
        BillingNotice.objects.filter(
            subscription__in=[s.pk for s in subscriptions], invoice__isnull=True
        ).values_list("subscription_id", "kind", "about")
    )


def notices_send(*, now=None):
    """Sends the trial-ending (3 days, 1 day) and renewal-coming (30 days) notices that are due
    and were not sent yet. A job that ran late still sends the most recent one due, never both
    trial notices on one day. Returns how many went out."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    sent = 0
    trials = Subscription.objects.select_related("account", "plan").filter(
        state=SubscriptionState.TRIALING, trial_ends_at__gt=now,
        trial_ends_at__lt=now + timedelta(days=TRIAL_NOTICE_DAYS + 1),
    )
    trials = list(trials)
    sent_before = _notices_sent(trials)
    emails = admin_emails_by_account(account_ids=[t.account_id for t in trials])
    for subscription in trials:
        ends_on = timezone.localdate(subscription.trial_ends_at)
        days_left = (ends_on - today).days
        if days_left > TRIAL_NOTICE_DAYS:
            continue
        kind = (
            NoticeKind.TRIAL_ENDING_1_DAY if days_left <= TRIAL_LAST_NOTICE_DAYS
            else NoticeKind.TRIAL_ENDING_3_DAYS
        )
        if (subscription.pk, kind, ends_on) in sent_before:
            continue
        with transaction.atomic():
            sent += _notice_send_once(
                subscription=subscription, kind=kind, about=ends_on,
                subject=f"Your {subscription.plan.name} trial ends on {format_day(ends_on)}",
                template="billing/emails/trial_ending.txt",
                context={"subscription": subscription, "ends_on": format_day(ends_on),
                         "days_left": days_left},
                recipients=emails.get(subscription.account_id, []),
            )
    renewing = list(
        Subscription.objects.select_related("account", "plan", "scheduled_change__plan")
        .prefetch_related("addons__addon")
        .filter(
            state__in=RENEWING_STATES, plan__is_paid=True, term_end__gt=today,
            term_end__lte=today + timedelta(days=RENEWAL_NOTICE_DAYS),
        )
    )
    sent_before = _notices_sent(renewing)
    emails = billing_emails_by_account(account_ids=[r.account_id for r in renewing])
    for subscription in renewing:
        if (subscription.pk, NoticeKind.RENEWAL_COMING, subscription.term_end) in sent_before:
            continue
        change = getattr(subscription, "scheduled_change", None)
        with transaction.atomic():
            sent += _notice_send_once(
                subscription=subscription, kind=NoticeKind.RENEWAL_COMING,
                about=subscription.term_end,
                subject=(
                    f"Your subscription moves to Free on {format_day(subscription.term_end)}"
                    if change and change.cancel_to_free else
                    f"Your subscription renews on {format_day(subscription.term_end)}"
                ),
                template="billing/emails/renewal_coming.txt",
                context={
                    "subscription": subscription, "change": change,
                    "renews_on": format_day(subscription.term_end),
                    "last_day": format_day(cancellation_last_day(subscription=subscription)),
                    "can_still_cancel": today <= cancellation_last_day(subscription=subscription),
                    "addons": list(subscription.addons.all()),
                },
                recipients=emails.get(subscription.account_id, []),
            )
    return sent


# --- 3. changes scheduled for the renewal --------------------------------------------------------


def cancellation_last_day(*, subscription):
    """The last day a cancellation to Free is accepted: 30 days before the anniversary.

    Example: a term ending 15 March 2027 may be cancelled up to and including 13 February 2027
    (30 days before); from 14 February on it renews.
    """
    return subscription.term_end - timedelta(days=CANCELLATION_NOTICE_DAYS)


def lower_plans_for(*, subscription):
    """Plans a renewal may move to: paid, not above the current plan, and not a legacy plan
    unless it is the current one (a legacy plan may renew as it is)."""
    current = subscription.plan
    plans = Plan.objects.filter(is_paid=True, rank__lte=current.rank)
    return [p for p in plans if p.is_sold or p.pk == current.pk]


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
        previous = ScheduledChange.objects.filter(subscription=subscription).first()
        change, _ = ScheduledChange.objects.update_or_create(
            subscription=subscription,
            defaults={**fields, "requested_by": actor.user, "requested_at": timezone.now()},
        )
        # "Cancelled at term end" is how the subscription reads until the renewal moves it.
        if cancel_to_free and subscription.state == SubscriptionState.ACTIVE:
            subscription.state = SubscriptionState.CANCELLED
        elif not cancel_to_free and subscription.state == SubscriptionState.CANCELLED:
            subscription.state = SubscriptionState.ACTIVE
        if subscription.state != before_state:
            subscription.save(update_fields=["state", "updated_at"])
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
        change.delete()
        if subscription.state == SubscriptionState.CANCELLED:
            subscription.state = SubscriptionState.ACTIVE
            subscription.save(update_fields=["state", "updated_at"])
        audit_record(
            account=subscription.account, actor=actor, kind="subscription.change_withdrawn",
            summary="Scheduled change withdrawn: the subscription renews as it is",
            before=before, after={"scheduled_change": None, "state": subscription.state},
        )
        license_ledger_record(subscription=subscription, event=LicenseEvent.CHANGE_WITHDRAWN, actor=actor)
        if subscription.state != before_state:
            notify_subscription_changed(subscription, actor)


# --- 4. past due ------------------------------------------------------------------------------------


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
        Subscription.objects.filter(pk__in=[s.pk for s in owing]).update(
            state=SubscriptionState.PAST_DUE, updated_at=now
        )
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


def _renewal_lines(*, subscription, term_start, term_end, discount_percent):
    """The renewal's lines: the plan and each add-on for the whole new term at the yearly price,
    with the account's discount."""
    term_days = (term_end - term_start).days
    period = f"{term_start:%Y-%m-%d} to {term_end:%Y-%m-%d}"
    plan = subscription.plan
    unit = yearly_unit_cents(plan.price_per_user_month_cents)
    lines = [OrderLine(
        description=f"{plan.name}, {subscription.licenses} licenses, {period}",
        plan_code=plan.code, quantity=subscription.licenses, unit_price_cents=unit,
        days=term_days, term_days=term_days, discount_percent=discount_percent,
        amount_cents=line_amount_cents(
            quantity=subscription.licenses, unit_price_cents=unit, days=term_days,
            term_days=term_days, discount_percent=discount_percent,
        ),
        sort_order=0,
    )]
    for n, row in enumerate(subscription.addons.select_related("addon").order_by("addon__sort_order"), 1):
        unit = addon_yearly_price_cents(row)
        lines.append(OrderLine(
            description=f"{row.addon.name}, {subscription.licenses} users, {period}",
            addon_code=row.addon.code, quantity=subscription.licenses, unit_price_cents=unit,
            days=term_days, term_days=term_days, discount_percent=discount_percent,
            amount_cents=line_amount_cents(
                quantity=subscription.licenses, unit_price_cents=unit, days=term_days,
                term_days=term_days, discount_percent=discount_percent,
            ),
            sort_order=n,
        ))
    return lines


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
            for name, value in _free_fields(free, ended_on).items():
                setattr(subscription, name, value)
            subscription.save()
            SubscriptionAddOn.objects.filter(subscription=subscription).delete()
            change.delete()
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
        if change:
            if change.plan_id:
                subscription.plan = change.plan
            if change.licenses:
                subscription.licenses = change.licenses
            # Add-ons the new plan cannot carry end with the old term.
            SubscriptionAddOn.objects.filter(subscription=subscription).exclude(
                addon__eligible_plans=subscription.plan
            ).delete()
            change.delete()
        subscription.term_start, subscription.term_end = term_start, term_end
        if subscription.state == SubscriptionState.CANCELLED:
            subscription.state = SubscriptionState.ACTIVE
        subscription.save()

        lines = _renewal_lines(
            subscription=subscription, term_start=term_start, term_end=term_end,
            discount_percent=discount_percent_for(account=subscription.account),
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


def discount_problem(*, percent, reason):
    """Why a discount cannot be set, or None. The admin's form shows the same words."""
    if percent is None or not Decimal(0) <= percent <= Decimal(100):
        return "A discount is between 0 and 100 percent."
    if percent and not (reason or "").strip():
        return "Say why the account gets a discount (e.g. nonprofit)."
    return None


def billing_profile_set_discount(*, account, percent, reason, actor):
    """Staff set the account's discount (e.g. 20% nonprofit); the cart and the renewals apply it
    to every line, and every line records it."""
    try:
        percent = Decimal(str(percent)).quantize(Decimal("0.01"))
    except ArithmeticError:
        raise ServiceError(f"{percent!r} is not a percentage.") from None
    reason = (reason or "").strip()
    problem = discount_problem(percent=percent, reason=reason)
    if problem:
        raise ServiceError(problem)
    with transaction.atomic():
        BillingProfile.objects.get_or_create(account=account)
        profile = BillingProfile.objects.select_for_update().get(account=account)
        before = {"discount_percent": str(profile.discount_percent),
                  "discount_reason": profile.discount_reason}
        profile.discount_percent = percent
        profile.discount_reason = reason if percent else ""
        profile.save(update_fields=["discount_percent", "discount_reason"])
        audit_record(
            account=account, actor=actor, kind="billing.discount_set",
            summary=f"Discount set to {percent}%" + (f" ({reason})" if percent else ""),
            before=before,
            after={"discount_percent": str(percent), "discount_reason": profile.discount_reason},
            reason=reason,
        )
    return profile


def billing_profile_set_invoice_eligible(*, account, eligible, actor, reason=""):
    """Staff allow (or stop) paying by invoice, net 30."""
    with transaction.atomic():
        BillingProfile.objects.get_or_create(account=account)
        profile = BillingProfile.objects.select_for_update().get(account=account)
        if profile.invoice_eligible == eligible:
            return profile
        profile.invoice_eligible = eligible
        profile.save(update_fields=["invoice_eligible"])
        audit_record(
            account=account, actor=actor, kind="billing.invoice_eligible_set",
            summary=f"May pay by invoice: {'yes' if eligible else 'no'}",
            before={"invoice_eligible": not eligible}, after={"invoice_eligible": eligible},
            reason=reason,
        )
    return profile
