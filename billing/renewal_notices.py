"""Renewal coming (issue 15): 60 and 35 days before the anniversary, each once, to the Admins and
Billing members, with the amount that will be charged and the last days to change it.

The amount is the renewal's own: the lines ``billing.renewals`` will bill (plan, licenses,
add-ons, discount), priced for the next term with the scheduled change applied, plus the tax
the account's billing details give today (``billing.tax.tax_rule_for``; the invoice decides it
again when issued, so a change of address before then is what counts).
"""

import copy
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from accounts.selectors import billing_emails_by_account
from billing.changes import cancellation_last_day
from billing.discounts import discount_rules_for
from billing.emails import format_day
from billing.models import NoticeKind, Subscription
from billing.notices import _notice_send_once, _notices_sent, trial_notices_send
from billing.renewals import _renewal_lines
from billing.tax import tax_rule_for
from billing.templatetags.money import cents as dollars
from billing.terms import RENEWAL_NOTICE_DAYS, RENEWING_STATES, TERM

RENEWAL_NOTICE_KINDS = {60: NoticeKind.RENEWAL_COMING_60, 35: NoticeKind.RENEWAL_COMING_35}


def renewal_preview_lines(*, subscription, change):
    """The lines the renewal will bill, from the renewal's own line builder, on a copy of the
    subscription with the scheduled change applied (nothing is written)."""
    preview = copy.copy(subscription)
    if change is not None and not change.cancel_to_free:
        if change.plan_id:
            preview.plan = change.plan
        if change.licenses:
            preview.licenses = change.licenses
    term_start = subscription.term_end
    return _renewal_lines(
        subscription=preview, term_start=term_start, term_end=term_start + TERM,
        rules=discount_rules_for(account=subscription.account_id, day=term_start),
    )


def renewal_last_change_day(*, subscription):
    """Fewer licenses or a lower plan may be scheduled up to the day before the anniversary."""
    return subscription.term_end - timedelta(days=1)


def renewal_notices_send(*, now=None):
    """Sends the renewal-coming notice due (60 or 35 days before), once each. A job that ran late
    sends only the nearest one due. Returns how many went out."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    days = sorted(RENEWAL_NOTICE_DAYS)  # 35, 60
    renewing = list(
        Subscription.objects.select_related("account", "plan", "scheduled_change__plan")
        .filter(
            state__in=RENEWING_STATES, plan__is_paid=True, term_end__gt=today,
            term_end__lte=today + timedelta(days=days[-1]),
        )
    )
    sent_before = _notices_sent(renewing)
    emails = billing_emails_by_account(account_ids=[r.account_id for r in renewing])
    sent = 0
    for subscription in renewing:
        days_left = (subscription.term_end - today).days
        nearest = next(d for d in days if days_left <= d)  # a late job: only the nearest one
        kind = RENEWAL_NOTICE_KINDS[nearest]
        nearer_or_same = [RENEWAL_NOTICE_KINDS[d] for d in days if d <= nearest]
        if any((subscription.pk, k, subscription.term_end) in sent_before for k in nearer_or_same):
            continue
        change = getattr(subscription, "scheduled_change", None)
        cancel = bool(change and change.cancel_to_free)
        lines = [] if cancel else renewal_preview_lines(subscription=subscription, change=change)
        subtotal = sum(line.amount_cents for line in lines)
        tax = tax_rule_for(account=subscription.account_id)
        tax_cents = tax.amount_cents(subtotal)
        total = subtotal + tax_cents
        renews_on = format_day(subscription.term_end)
        with transaction.atomic():
            sent += _notice_send_once(
                subscription=subscription, kind=kind, about=subscription.term_end,
                subject=(
                    f"Your subscription moves to Free on {renews_on}" if cancel
                    else f"Your subscription renews on {renews_on}: {dollars(total)}"
                ),
                template="billing/emails/renewal_coming.txt",
                context={
                    "subscription": subscription, "change": change,
                    "renews_on": renews_on, "lines": lines, "total_cents": total,
                    "subtotal_cents": subtotal, "tax": tax, "tax_cents": tax_cents,
                    "last_day": format_day(cancellation_last_day(subscription=subscription)),
                    "last_change_day": format_day(renewal_last_change_day(subscription=subscription)),
                    "can_still_cancel": today <= cancellation_last_day(subscription=subscription),
                },
                recipients=emails.get(subscription.account_id, []),
            )
    return sent


def notices_send(*, now=None):
    """The daily notices job: trial ending and renewal coming. Returns how many went out."""
    return trial_notices_send(now=now) + renewal_notices_send(now=now)
