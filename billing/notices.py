"""Billing notices, each sent once (a BillingNotice row per notice, unique by the database): trial
ending (3 and 1 days before), and the formatting and email helpers every lifecycle email uses.
Renewal coming (60 and 35 days before, with the amount): billing/renewal_notices.py."""

from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.mail import email_queue, email_queue_many
from accounts.selectors import admin_emails as account_admin_emails
from accounts.selectors import admin_emails_by_account
from billing import selectors
from billing.emails import format_day
from billing.models import (
    BillingNotice,
    NoticeKind,
    Subscription,
    SubscriptionState,
)
from billing.subscriptions import (  # noqa: F401 (callers import them from here too)
    license_ledger_record,
    notify_subscription_changed,
    subscription_refresh_payment_state,
)
from billing.terms import (
    TRIAL_LAST_NOTICE_DAYS,
    TRIAL_NOTICE_DAYS,
)


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


def _notices_sent(subscriptions):
    """(subscription, kind, date) of the notices already sent to these subscriptions, in one
    query, so that a daily run skips them without trying. The unique constraint still decides
    when two runs race."""
    return set(
        BillingNotice.objects.filter(
            subscription__in=[s.pk for s in subscriptions], invoice__isnull=True
        ).values_list("subscription_id", "kind", "about")
    )


def trial_notices_send(*, now=None):
    """Sends the trial-ending notices (3 days, 1 day) that are due and were not sent yet. A job
    that ran late still sends the most recent one due, never both on one day. Returns how many
    went out. (The renewal-coming notices: billing.renewal_notices.)"""
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
    return sent


# --- 3. changes scheduled for the renewal --------------------------------------------------------


def trial_became_free_notify(*, subscriptions):
    """Issue 15: the Admins of each trial that just became Free are told, once per subscription,
    in three queries whatever their number (``trials_expire`` is set-based)."""
    if not subscriptions:
        return 0
    emails = admin_emails_by_account(account_ids=[s.account_id for s in subscriptions])
    terms = selectors.catalogue_terms()
    site = settings.SITE_URL.rstrip("/")
    messages = []
    for subscription in subscriptions:
        body = render_to_string("billing/emails/trial_became_free.txt", {
            "account_name": subscription.account.name, "trial_plan": terms.trial_plan_name,
            "terms": terms, "site_url": site,
        })
        messages.append((f"{subscription.account.name} is now on the Free plan", body,
                         emails.get(subscription.account_id, []), f"trial-became-free:{subscription.pk}"))
    return email_queue_many(messages)
