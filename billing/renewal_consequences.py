"""What a change scheduled for the renewal will do, said before it is accepted (issue 15):

- fewer licenses than the users the account tracks: after the renewal the account is over its
  licenses (a grace period, then blocked data access) unless users are reclaimed first;
- a plan with a shorter data history: at the renewal the window shrinks and the daily purge
  deletes the activity older than the new window (configuration and audit data are kept).

The Admin sees these on a confirmation page and schedules the change with an explicit confirm.
"""

from dataclasses import dataclass

from django.db import transaction

from accounts.services import ServiceError
from billing import changes
from billing.emails import format_day
from billing.hooks import users_used


@dataclass(frozen=True)
class Consequence:
    kind: str  # "over_licenses" or "history_shrinks"
    text: str


def _history_days(plan):
    return plan.data_history_months * 30 if plan.data_history_months else plan.data_history_days


def renewal_change_consequences(*, subscription, plan, licenses) -> list[Consequence]:
    """The consequences of renewing ``subscription`` on ``plan`` (None: its own) with
    ``licenses`` (None: its own), in the product's words."""
    target = plan or subscription.plan
    new_licenses = subscription.licenses if licenses is None else licenses
    renews_on = format_day(subscription.term_end)
    found = []
    used = users_used(account=subscription.account)
    if used > new_licenses:
        grace = target.grace_period_days
        found.append(Consequence("over_licenses", (
            f"{used} users are tracked today and the renewal on {renews_on} leaves "
            f"{new_licenses} licenses: {used - new_licenses} more users than licenses. "
            f"From the renewal a {grace}-day grace period runs, then reports and exports are "
            "blocked, unless users are reclaimed (deleted, merged, Do Not Track) before it."
        )))
    if _history_days(target) < _history_days(subscription.plan):
        found.append(Consequence("history_shrinks", (
            f"Data history shrinks from {subscription.plan.data_history_label} to "
            f"{target.data_history_label}: from the renewal on {renews_on}, activity older than "
            f"{target.data_history_label} is purged by the daily job and cannot be recovered. "
            "Configuration and audit data are kept."
        )))
    return found


class _DryRun(Exception):
    pass


def renewal_change_refusal(*, subscription, actor, plan, licenses):
    """Why the change would be refused (the service's own words), or None: the service is run and
    rolled back, so the confirmation page is only shown for a change that can be scheduled."""
    try:
        with transaction.atomic():
            changes.scheduled_change_set(subscription=subscription, actor=actor, plan=plan,
                                         licenses=licenses)
            raise _DryRun
    except _DryRun:
        return None
    except ServiceError as error:
        return str(error)
