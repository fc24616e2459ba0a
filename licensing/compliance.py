"""Compliance: the one place where PRODUCT.md's "license and storage limits" live.

The state is derived from users used, the licenses of the subscription, the plan (paid or
not, grace days, storage limit) and when the account went over:

- ``compliance_target`` is the rule itself (a pure function);
- ``compliance_evaluate`` re-reads an account after every change of used or licenses, moves it
  to the state the rule gives, audits the change and emails the Admins when a grace starts;
- ``grace_periods_expire`` is the hourly job: due grace periods become blocked, set-based, and
  the 3-day and 1-day reminders go out once each.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from accounts.actors import Actor
from accounts.mail import email_queue
from accounts.models import Account, AuditEntry
from accounts.selectors import admin_emails_by_account
from accounts.services import ServiceError, audit_record
from accounts.time_zones import email_time
from billing.selectors import subscription_for
from licensing import agent_cache
from licensing.hooks import grace_periods_expired
from licensing.models import AccountLicensing, BlockedReason, ComplianceState
from licensing.notices import access_blocked_notify
from licensing.reports import history_extra_months_of, storage_limit_bytes_for

# Why an account is blocked (licensing.models.BlockedReason, with its one wording).
GRACE_EXPIRED = BlockedReason.GRACE_EXPIRED
FREE_OVER_LIMIT = BlockedReason.FREE_OVER_LIMIT
STORAGE_OVER_LIMIT = BlockedReason.STORAGE_OVER_LIMIT

# PRODUCT.md: reminders 3 days and 1 day before a grace period ends.
REMINDER_DAYS = (3, 1)

# 30 days: PRODUCT.md, compliance ("one grace period per 30 days", counted from its start).
GRACE_PERIOD_INTERVAL = timedelta(days=30)


@dataclass(frozen=True)
class Target:
    state: str
    blocked_reason: str = ""


def licenses_of(subscription):
    """The licenses the rule compares with: Free never counts more than its plan's maximum."""
    if subscription is None:
        return 0
    licenses = subscription.licenses
    if subscription.plan.max_users is not None:
        licenses = min(licenses, subscription.plan.max_users)
    return licenses


def grace_period_for(*, last_started_at, last_ends_at, grace_days, now):
    """(start, end) of the grace period an account going over at ``now`` gets.

    One grace period per 30 days (PRODUCT.md): within 30 days of the last grace period's start,
    that grace period's clock continues (its end, staff extensions included; an end already
    passed means blocked at once); later, a fresh ``grace_days`` from now.
    """
    if last_started_at is not None and last_ends_at is not None and now < last_started_at + GRACE_PERIOD_INTERVAL:
        return last_started_at, last_ends_at
    return now, now + timedelta(days=grace_days)


def compliance_target(*, used, licenses, plan, storage_bytes, current_state, grace_period_ends_at, now,
                      last_grace_started_at=None, last_grace_ends_at=None, extra_history_months=0):
    """The compliance state PRODUCT.md gives an account.

    - over the plan's storage limit: blocked (whatever the users);
    - used <= licenses: ok (a running grace period is reset);
    - Free (no grace period) over its licenses: blocked at once;
    - paid and over: grace until ``grace_period_ends_at``, blocked once it has passed; going
      over with no grace period running gets the one ``grace_period_for`` gives (one per 30 days).
    """
    storage_limit = storage_limit_bytes_for(plan=plan, extra_history_months=extra_history_months)
    if storage_limit is not None and storage_bytes > storage_limit:
        return Target(ComplianceState.BLOCKED, STORAGE_OVER_LIMIT)
    if used <= licenses:
        return Target(ComplianceState.OK)
    if plan is None or not plan.is_paid or not plan.grace_period_days:
        return Target(ComplianceState.BLOCKED, FREE_OVER_LIMIT)
    if grace_period_ends_at is None:
        # No grace period running (ok, or blocked for another reason that no longer holds).
        _, grace_period_ends_at = grace_period_for(
            last_started_at=last_grace_started_at, last_ends_at=last_grace_ends_at,
            grace_days=plan.grace_period_days, now=now,
        )
    if grace_period_ends_at is not None and grace_period_ends_at <= now:
        return Target(ComplianceState.BLOCKED, GRACE_EXPIRED)
    return Target(ComplianceState.GRACE)


def licensing_row(*, account, lock=False):
    """The account's AccountLicensing row, created on first use."""
    qs = AccountLicensing.objects.select_for_update() if lock else AccountLicensing.objects
    row = qs.filter(account=account).first()
    if row is None:
        AccountLicensing.objects.get_or_create(account=account)
        row = qs.get(account=account)
    return row


def _snapshot(row):
    return {
        "state": row.state,
        "blocked_reason": row.blocked_reason,
        "used": row.used,
        "grace_period_ends_at": row.grace_period_ends_at.isoformat() if row.grace_period_ends_at else None,
    }


def _email_admins_on_commit(*, account_ids, subject, body_for):
    """Emails every Admin of each account once the transaction is committed.

    ``body_for(account_id)`` gives (subject suffix, body)."""
    emails = admin_emails_by_account(account_ids=account_ids)
    for account_id, recipients in emails.items():
        text = body_for(account_id)
        # One message per Admin, queued with the change; the task cluster sends it after the
        # commit, never from inside the agent's request or the job (accounts.mail).
        for recipient in recipients:
            email_queue(subject=subject, body=text, recipients=[recipient])


def _ways_out(row_licenses, used):
    base = settings.SITE_URL.rstrip("/")
    return (
        f"The account uses {used} users on {row_licenses} licenses. Ways out:\n"
        f"- buy licenses: {base}/cart/\n"
        f"- reclaim users (delete, merge, Do Not Track): {base}/users/\n"
    )


def compliance_evaluate(*, account, actor, subscription=None, now=None):
    """Moves the account to the state ``compliance_target`` gives; audits and emails a change.

    Call it inside the transaction that changed used, licenses or storage: the row lock keeps
    two evaluations of one account from starting two grace periods.
    """
    now = now or timezone.now()
    with transaction.atomic():
        row = licensing_row(account=account, lock=True)
        if subscription is None:
            subscription = subscription_for(account=account)
        plan = subscription.plan if subscription else None
        licenses = licenses_of(subscription)
        target = compliance_target(
            used=row.used, licenses=licenses, plan=plan, storage_bytes=row.storage_bytes,
            current_state=row.state, grace_period_ends_at=row.grace_period_ends_at, now=now,
            last_grace_started_at=row.last_grace_started_at, last_grace_ends_at=row.last_grace_ends_at,
            # Only a plan with a storage limit needs the add-ons (a check-in's evaluation of a
            # plan without one stays without the query).
            extra_history_months=history_extra_months_of(subscription)
            if plan is not None and plan.storage_limit_bytes is not None else 0,
        )
        if target.state == row.state and target.blocked_reason == row.blocked_reason:
            return row
        before = _snapshot(row)
        fields = ["state", "blocked_reason", "over_since", "grace_period_ends_at",
                  "grace_notice_sent_at", "grace_3_day_notice_sent_at", "grace_1_day_notice_sent_at",
                  "last_grace_started_at", "last_grace_ends_at"]
        grace_started = grace_continued = False
        if target.state == ComplianceState.OK:
            # True-up: the grace period is reset; ``last_grace_*`` stay, a later overage within 30
            # days of its start continues its clock (grace_period_for).
            row.over_since = row.grace_period_ends_at = None
            row.grace_notice_sent_at = row.grace_3_day_notice_sent_at = row.grace_1_day_notice_sent_at = None
        elif target.state == ComplianceState.GRACE and row.grace_period_ends_at is None:
            start, ends = grace_period_for(
                last_started_at=row.last_grace_started_at, last_ends_at=row.last_grace_ends_at,
                grace_days=plan.grace_period_days, now=now,
            )
            row.over_since = now
            row.grace_period_ends_at = row.last_grace_ends_at = ends
            row.last_grace_started_at = start
            row.grace_notice_sent_at = now
            row.grace_3_day_notice_sent_at = row.grace_1_day_notice_sent_at = None
            grace_started, grace_continued = True, start != now
        elif target.state == ComplianceState.BLOCKED and row.over_since is None:
            row.over_since = now
        if target.blocked_reason == GRACE_EXPIRED and row.grace_period_ends_at is None:
            # Over again within 30 days of a grace period that ran out: blocked at once, and the
            # ended grace period is the one staff may extend.
            row.grace_period_ends_at = row.last_grace_ends_at
        if target.state == ComplianceState.BLOCKED and target.blocked_reason != GRACE_EXPIRED:
            # Blocked for Free's or storage's limit: no grace period runs any more. Back under
            # storage and still over licenses, grace_period_for continues the last one (within 30
            # days of its start); after Free, a paid plan starts afresh (below).
            row.grace_period_ends_at = None
            row.grace_notice_sent_at = row.grace_3_day_notice_sent_at = row.grace_1_day_notice_sent_at = None
        if target.blocked_reason == FREE_OVER_LIMIT:
            # Free (a trial ended, or a downgrade): a paid plan bought later starts afresh.
            row.last_grace_started_at = row.last_grace_ends_at = None
        row.state = target.state
        row.blocked_reason = target.blocked_reason
        row.save(update_fields=fields + ["updated_at"])
        audit_record(
            account=account, actor=actor, kind=f"compliance.{target.state}",
            summary=f"Compliance {before['state']} -> {row.state}"
            + (f" ({row.blocked_reason})" if row.blocked_reason else ""),
            before=before, after=_snapshot(row),
        )
        if target.state == ComplianceState.BLOCKED:  # issue 15: told when it happens
            access_blocked_notify(blocked=[(
                account.id, account.name,
                BlockedReason.explain(target.blocked_reason, used=row.used, licenses=licenses,
                                      grace_days=plan.grace_period_days if plan else None),
                row.used, licenses,
            )], now=now)
        if grace_started:
            ends = row.grace_period_ends_at
            # Read, not taken from ``account``: the agent path builds it with its few columns.
            zone_name = Account.objects.filter(pk=account.pk).values_list("time_zone", flat=True).first()
            _email_admins_on_commit(
                account_ids=[account.id],
                subject=f"{account.name}: more users than licenses, grace period "
                + ("continues" if grace_continued else "started"),
                body_for=lambda _id: (
                    f"{account.name} now tracks more users than it has licenses. Everybody keeps "
                    + (
                        "access during what is left of the grace period that started "
                        f"{row.last_grace_started_at:%Y-%m-%d} (one grace period per 30 days), ending "
                        if grace_continued
                        else f"access during a {plan.grace_period_days}-day grace period ending "
                    )
                    + f"{email_time(ends, zone_name)}; after it, reports and exports are blocked until "
                    f"the account is trued up.\n\n" + _ways_out(licenses, row.used)
                ),
            )
    return row


def grace_period_extend(*, account, days, actor, reason=""):
    """Staff grant more days of grace (a sales-assisted true-up on its way). Also lifts a block
    that came from an expired grace period; the reminders go out again before the new end."""
    if days < 1 or days > 90:
        raise ServiceError("A grace period is extended by 1 to 90 days.")
    now = timezone.now()
    with transaction.atomic():
        row = licensing_row(account=account, lock=True)
        in_grace = row.state == ComplianceState.GRACE
        expired = row.state == ComplianceState.BLOCKED and row.blocked_reason == GRACE_EXPIRED
        if not (in_grace or expired):
            raise ServiceError("Only a running or expired grace period can be extended.")
        before = _snapshot(row)
        row.grace_period_ends_at = max(now, row.grace_period_ends_at or now) + timedelta(days=days)
        # The extension belongs to this grace period: going over again later keeps it.
        row.last_grace_ends_at = row.grace_period_ends_at
        row.last_grace_started_at = row.last_grace_started_at or row.over_since or now
        row.state, row.blocked_reason = ComplianceState.GRACE, ""
        row.grace_3_day_notice_sent_at = row.grace_1_day_notice_sent_at = None
        row.save(update_fields=["grace_period_ends_at", "last_grace_ends_at", "last_grace_started_at",
                                "state", "blocked_reason",
                                "grace_3_day_notice_sent_at", "grace_1_day_notice_sent_at", "updated_at"])
        audit_record(
            account=account, actor=actor, kind="compliance.grace_extended",
            summary=f"Grace period extended by {days} days to {row.grace_period_ends_at:%Y-%m-%d}",
            before=before, after=_snapshot(row), reason=reason,
        )
    return row


def grace_periods_expire(*, now=None):
    """The hourly job: due grace periods become blocked; reminders 3 days and 1 day before.

    State-based and set-based: one UPDATE moves every due account, whatever their number; the
    ``*_notice_sent_at`` columns make each reminder go out once, however often the job runs.
    Returns (blocked, reminded) counts.
    """
    now = now or timezone.now()
    actor = Actor.job("expire_grace_periods")
    with transaction.atomic():
        due = AccountLicensing.objects.filter(
            state=ComplianceState.GRACE, grace_period_ends_at__lte=now
        )
        due_ids = list(due.select_for_update(skip_locked=True).values_list("account_id", flat=True))
        blocked = AccountLicensing.objects.filter(
            account_id__in=due_ids, state=ComplianceState.GRACE
        ).update(state=ComplianceState.BLOCKED, blocked_reason=GRACE_EXPIRED, updated_at=now)
        agent_cache.accounts_changed(due_ids)
        AuditEntry.objects.bulk_create(
            [
                AuditEntry(
                    account_id=account_id, actor_kind=actor.kind, actor_label=actor.label,
                    kind="compliance.blocked", summary="Compliance grace -> blocked (grace_expired)",
                    before={"state": ComplianceState.GRACE},
                    after={"state": ComplianceState.BLOCKED, "blocked_reason": GRACE_EXPIRED},
                    created_at=now,
                )
                for account_id in due_ids
            ],
            batch_size=1000,
        )
        access_blocked_notify(blocked=[
            (account_id, name, BlockedReason.explain(GRACE_EXPIRED, used=used, licenses=licenses,
                                                     grace_days=grace_days), used, licenses)
            for account_id, name, used, licenses, grace_days in AccountLicensing.objects.filter(
                account_id__in=due_ids
            ).values_list("account_id", "account__name", "used", "account__subscription__licenses",
                          "account__subscription__plan__grace_period_days")
        ], now=now)
        if due_ids:
            grace_periods_expired.send(sender=AccountLicensing, account_ids=due_ids)
        reminded = 0
        for days in sorted(REMINDER_DAYS):  # 1 day first: a late job sends only the nearest one
            field = f"grace_{days}_day_notice_sent_at"
            later_fields = [f"grace_{d}_day_notice_sent_at" for d in REMINDER_DAYS if d > days]
            rows = AccountLicensing.objects.filter(
                Q(**{f"{field}__isnull": True}),
                state=ComplianceState.GRACE,
                grace_period_ends_at__gt=now,
                grace_period_ends_at__lte=now + timedelta(days=days),
            )
            todo = list(
                rows.select_for_update(skip_locked=True).values_list(
                    "account_id", "account__name", "grace_period_ends_at", "account__time_zone"
                )
            )
            if not todo:
                continue
            ids = [t[0] for t in todo]
            AccountLicensing.objects.filter(account_id__in=ids).update(
                **{field: now}, **{f: now for f in later_fields}
            )
            info = {t[0]: t for t in todo}
            _email_admins_on_commit(
                account_ids=ids,
                subject=f"Grace period ends in {days} day{'s' if days > 1 else ''}",
                body_for=lambda account_id, days=days, info=info: (
                    f"{info[account_id][1]} tracks more users than it has licenses. Its grace "
                    f"period ends {email_time(info[account_id][2], info[account_id][3])} (in {days} "
                    f"day{'s' if days > 1 else ''}); after it, reports and exports are blocked "
                    f"until the account is trued up.\n\n"
                    f"Buy licenses: {settings.SITE_URL.rstrip('/')}/cart/\n"
                    f"Reclaim users: {settings.SITE_URL.rstrip('/')}/users/\n"
                ),
            )
            reminded += len(ids)
    return blocked, reminded


def compliance_state_at(row, *, now=None):
    """(state, blocked_reason) of a licensing row as it is at ``now``, whatever the hourly job
    has written yet: a grace period reads as blocked (grace expired) from its end's very second,
    the moment ``grace_periods_expire`` would move it. Every read (banner, reports gate, API,
    staff admin) goes through here or ``compliance_state_expression``; the job only makes the
    state durable and sends the emails."""
    if row is None:
        return ComplianceState.OK, ""
    now = now or timezone.now()
    if row.state == ComplianceState.GRACE and row.grace_period_ends_at is not None and row.grace_period_ends_at <= now:
        return ComplianceState.BLOCKED, GRACE_EXPIRED
    return row.state, row.blocked_reason


def compliance_state_expression(*, prefix="", now=None):
    """``compliance_state_at`` as a database expression (filters, counts, ordering), over the
    licensing row reached by ``prefix`` ("licensing__" from an account)."""
    now = now or timezone.now()
    return Case(
        When(
            Q(**{f"{prefix}state": ComplianceState.GRACE, f"{prefix}grace_period_ends_at__lte": now}),
            then=Value(ComplianceState.BLOCKED),
        ),
        default=F(f"{prefix}state"),
    )


def compliance_view(row, licenses, *, grace_days=None):
    """What the banner, the avatar menu and the check-in answer show, from one licensing row
    (``grace_days``: the plan's grace length, named in a blocked account's reason), as it
    is now (``compliance_state_at``)."""
    now = timezone.now()
    state, blocked_reason = compliance_state_at(row, now=now)
    used = row.used if row is not None else 0
    info = {"used": used, "licenses": licenses, "over": used > licenses, "state": state}
    if row is not None and state == ComplianceState.GRACE and row.grace_period_ends_at:
        remaining = row.grace_period_ends_at - now
        info["days_left"] = max(0, remaining.days + (1 if remaining.seconds else 0))
        info["grace_period_ends_at"] = row.grace_period_ends_at
    if row is not None and state == ComplianceState.BLOCKED:
        info["blocked_reason"] = blocked_reason
        info["blocked_why"] = BlockedReason.explain(blocked_reason, used=used, licenses=licenses,
                                                    grace_days=grace_days)
        started = getattr(row, "last_grace_started_at", None)
        if blocked_reason == GRACE_EXPIRED and started and started + GRACE_PERIOD_INTERVAL > now:
            info["last_grace_started_at"] = started
            info["new_grace_possible_from"] = started + GRACE_PERIOD_INTERVAL
    return info


def storage_blocks_reevaluate(*, actor):
    """After stored activity shrank (the daily purge), the accounts blocked for storage are read
    again: those now under their plan's limit get their data back at once."""
    account_ids = list(
        AccountLicensing.objects.filter(
            state=ComplianceState.BLOCKED, blocked_reason=STORAGE_OVER_LIMIT
        ).values_list("account_id", flat=True)
    )
    from accounts.models import Account

    for account in Account.objects.filter(pk__in=account_ids):
        compliance_evaluate(account=account, actor=actor)
    return len(account_ids)
