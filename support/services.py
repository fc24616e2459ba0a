import datetime as dt
import logging

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from accounts.mail import email_queue
from accounts.models import Account
from accounts.selectors import admin_emails
from accounts.services import ServiceError, audit_record
from accounts.time_zones import email_time
from billing.models import QuoteState
from billing.selectors import subscription_for
from support.coverage import WEEKDAYS, response_due_at
from support.models import (
    AccountSupportPlan,
    CaseChannel,
    CaseReply,
    CaseSeverity,
    CaseState,
    EntitlementKind,
    EntitlementUse,
    SupportAllowance,
    SupportCase,
    SupportPlan,
    SupportPlanState,
    VoucherKind,
)
from support.selectors import (
    digital_plan,
    entitlement_period,
    support_included,
    support_plan_current,
)

logger = logging.getLogger(__name__)

SUPPORT_ZONE = "America/Chicago"  # support states its times in Central time, as the plans are written

# PRODUCT.md: Premier and Signature are sold for a term; ours is 12 months (docs/support.md).
TERM_MONTHS = 12
# Quote topics that are support plans, and the catalogue plan each one activates.
QUOTE_TOPIC_PLANS = {"premier": "premier", "signature": "signature"}
ACTIVATABLE_QUOTE_STATES = {QuoteState.ACCEPTED, QuoteState.FULFILLED}


def _support_plan_snapshot(row):
    return {
        "plan": row.plan.code,
        "state": row.state,
        "starts_on": row.starts_on.isoformat(),
        "ends_on": row.ends_on.isoformat() if row.ends_on else None,
        "csm": row.csm.email if row.csm_id else None,
        "tam": row.tam.email if row.tam_id else None,
    }


def _lock_account(account):
    # Every change of an account's support plans queues on its account row, so the hook, a
    # staff action and a quote activation never interleave.
    return Account.objects.select_for_update(of=("self",)).get(pk=account.pk)


# --- Support plans -------------------------------------------------------------------------


def support_plan_follow_subscription(*, account, actor):
    """Gives Digital to an account with a paid subscription or a trial, and takes it away on
    Free (answers billing's ``subscription_changed`` hook; safe to call any number of times)."""
    plan = digital_plan()
    if plan is None:
        return None
    today = timezone.localdate()
    with transaction.atomic():
        _lock_account(account)
        included = support_included(subscription=subscription_for(account=account))
        row = AccountSupportPlan.objects.filter(
            account=account, plan=plan, state=SupportPlanState.ACTIVE
        ).select_related("plan").first()
        if included and row is None:
            row = AccountSupportPlan.objects.create(account=account, plan=plan, starts_on=today)
            audit_record(
                account=account, actor=actor, kind="support.plan_started",
                summary=f"{plan.name} support comes with the subscription",
                after=_support_plan_snapshot(row),
            )
            return row
        if not included and row is not None:
            before = _support_plan_snapshot(row)
            row.state = SupportPlanState.ENDED
            row.ended_at = timezone.now()
            row.save(update_fields=["state", "ended_at"])
            audit_record(
                account=account, actor=actor, kind="support.plan_ended",
                summary=f"{plan.name} support ended: the account is not on a paid plan",
                before=before, after=_support_plan_snapshot(row),
            )
            return None
        return row


def support_plan_activate_from_quote(*, quote, actor):
    """Activates the Premier or Signature plan of an accepted quote for a 12-month term from
    today. Once per quote: asking again returns the plan it already activated."""
    plan_code = QUOTE_TOPIC_PLANS.get(quote.topic)
    if plan_code is None:
        raise ServiceError("This quote is not for a Premier or Signature support plan.")
    if quote.state not in ACTIVATABLE_QUOTE_STATES:
        raise ServiceError("Only an accepted quote activates a support plan.")
    existing = AccountSupportPlan.objects.filter(quote=quote).first()
    if existing is not None:
        return existing
    plan = SupportPlan.objects.get(code=plan_code)
    account = quote.account
    today = timezone.localdate()
    try:
        with transaction.atomic():
            _lock_account(account)
            if not support_included(subscription=subscription_for(account=account)):
                raise ServiceError(
                    f"{account.name} is not on a paid plan: support plans need one."
                )
            # A new Premier or Signature plan replaces the one running (an upgrade to
            # Signature); Digital stays underneath and takes over when the term ends.
            replaced = list(
                AccountSupportPlan.objects.select_related("plan", "csm", "tam")
                .filter(account=account, state=SupportPlanState.ACTIVE, plan__sold_by_quote=True)
            )
            for old in replaced:
                before = _support_plan_snapshot(old)
                old.state = SupportPlanState.REPLACED
                old.ended_at = timezone.now()
                old.save(update_fields=["state", "ended_at"])
                audit_record(
                    account=account, actor=actor, kind="support.plan_replaced",
                    summary=f"{old.plan.name} replaced by {plan.name}",
                    before=before, after=_support_plan_snapshot(old),
                )
            # The dedicated managers stay with the account when the plan changes.
            keep = replaced[0] if replaced else None
            row = AccountSupportPlan.objects.create(
                account=account, plan=plan, starts_on=today,
                ends_on=today + relativedelta(months=TERM_MONTHS), quote=quote,
                csm=keep.csm if keep and plan.has_csm else None,
                tam=keep.tam if keep and plan.has_tam else None,
            )
            audit_record(
                account=account, actor=actor, kind="support.plan_activated",
                summary=f"{plan.name} support activated from quote {quote.pk}",
                after=_support_plan_snapshot(row),
            )
    except IntegrityError:
        # Two staff (or the hook and the admin action) activated the same quote: one row won.
        existing = AccountSupportPlan.objects.filter(quote=quote).first()
        if existing is None:
            raise
        return existing
    return row


def support_plan_renew(*, support_plan, actor):
    """Renews a Premier or Signature plan for another 12 months. A running term is extended
    from its end, so its entitlement periods go on; a lapsed one starts a new term today."""
    today = timezone.localdate()
    with transaction.atomic():
        row = (
            AccountSupportPlan.objects.select_for_update(of=("self",))
            .select_related("plan", "csm", "tam")
            .get(pk=support_plan.pk)
        )
        if not row.plan.sold_by_quote or row.ends_on is None:
            raise ServiceError(f"{row.plan.name} comes with the subscription; it has no term.")
        if row.state != SupportPlanState.ACTIVE:
            raise ServiceError(f"This {row.plan.name} plan was {row.get_state_display().lower()}.")
        before = _support_plan_snapshot(row)
        if row.ends_on > today:
            row.ends_on = row.ends_on + relativedelta(months=TERM_MONTHS)
        else:
            row.starts_on = today
            row.ends_on = today + relativedelta(months=TERM_MONTHS)
        row.save(update_fields=["starts_on", "ends_on"])
        audit_record(
            account=row.account, actor=actor, kind="support.plan_renewed",
            summary=f"{row.plan.name} renewed until {row.ends_on.isoformat()}",
            before=before, after=_support_plan_snapshot(row),
        )
    return row


def support_managers_problems(*, plan, csm, tam):
    """What is wrong with a choice of dedicated managers, by field (empty when fine): both are
    our staff; a CSM only on plans with one (Premier, Signature), a TAM only on Signature."""
    problems = {}
    for field, person, role, included in (
        ("csm", csm, "customer success manager", plan.has_csm),
        ("tam", tam, "technical account manager", plan.has_tam),
    ):
        if person is None:
            continue
        if not person.is_staff:
            problems[field] = f"The {role} must be one of our staff."
        elif not included:
            problems[field] = f"{plan.name} has no dedicated {role}."
    return problems


def support_plan_assign_managers(*, support_plan, csm, tam, actor):
    """Staff assign the dedicated customer success manager (Premier, Signature) and technical
    account manager (Signature)."""
    with transaction.atomic():
        row = (
            AccountSupportPlan.objects.select_for_update(of=("self",))
            .select_related("plan", "csm", "tam")
            .get(pk=support_plan.pk)
        )
        problems = support_managers_problems(plan=row.plan, csm=csm, tam=tam)
        if problems:
            raise ServiceError(" ".join(problems.values()))
        before = _support_plan_snapshot(row)
        row.csm, row.tam = csm, tam
        row.save(update_fields=["csm", "tam"])
        after = _support_plan_snapshot(row)
        if before != after:
            audit_record(
                account=row.account, actor=actor, kind="support.managers_assigned",
                summary=f"CSM {after['csm'] or '-'}, TAM {after['tam'] or '-'}",
                before=before, after=after,
            )
    return row


# --- Entitlements ---------------------------------------------------------------------------


# A health check or a workshop is a whole engagement booked once a year: the ledger says why it
# was used (who asked, what it covered), so a customer asking "where did ours go?" gets an answer.
REASON_REQUIRED = {
    EntitlementKind.HEALTH_CHECK, EntitlementKind.PLANNING_WORKSHOP, EntitlementKind.INSIGHTS_WORKSHOP,
}


def _latest_today():
    """Today for a use: the staff admin's day (Central time) or, when it is later, the UTC day
    that a support plan started today is dated with. In the Central evening the UTC day has
    begun: a plan bought then starts on the UTC day, and a use of it on that day is not 'in
    advance' (it was refused for six hours a day)."""
    return max(timezone.localdate(), timezone.localdate(timezone=dt.UTC))


def entitlement_use_record(
    *, support_plan, kind, actor, quantity=1, voucher_kind="", note="", used_on=None
):
    """Records one use of a counted entitlement, refused when the period has not enough left.

    The support plan's row is locked while counting, so two staff recording the last voucher
    at the same moment cannot both succeed.
    """
    used_on = used_on or _latest_today()
    labels = dict(EntitlementKind.choices)
    label = labels.get(kind, kind)
    if kind != EntitlementKind.INTEGRATION_HOURS and quantity != 1:
        raise ServiceError(f"{label} are recorded one at a time.")
    if quantity < 1:
        raise ServiceError("Record at least one hour.")
    if kind == EntitlementKind.TRAINING_VOUCHER:
        if voucher_kind not in VoucherKind.values:
            raise ServiceError(
                "Say which training the voucher was used for: platform, leadership, manager, "
                "employee or train-the-trainer."
            )
    elif voucher_kind:
        raise ServiceError("Only a training voucher has a training kind.")
    if used_on > _latest_today():
        raise ServiceError("A use is recorded once it has happened, not in advance.")
    note = note.strip()
    if kind in REASON_REQUIRED and not note:
        raise ServiceError(
            f"Say why this {label.lower().rstrip('s')} is recorded (who asked, what it covered)."
        )
    with transaction.atomic():
        row = (
            AccountSupportPlan.objects.select_for_update(of=("self",))
            .select_related("plan", "account")
            .get(pk=support_plan.pk)
        )
        if not row.in_effect_on(used_on):
            raise ServiceError(
                f"The {row.plan.name} plan was not in effect on {used_on:%d %b %Y}."
            )
        allowance = SupportAllowance.objects.filter(plan=row.plan, kind=kind).first()
        if allowance is None:
            raise ServiceError(f"{row.plan.name} does not include {label.lower()}.")
        start, end = entitlement_period(
            starts_on=row.starts_on, on=used_on, months=allowance.period_months
        )
        used = (
            EntitlementUse.objects.filter(
                support_plan=row, kind=kind, used_on__gte=start, used_on__lt=end
            ).aggregate(total=Sum("quantity"))["total"]
            or 0
        )
        left = max(allowance.quantity - used, 0)
        if quantity > left:
            raise ServiceError(
                f"Not enough {label.lower()} left: {left} of {allowance.quantity} remain for "
                f"{start:%d %b %Y} to {end - relativedelta(days=1):%d %b %Y}, and {quantity} "
                f"{'were' if quantity > 1 else 'was'} asked. The allowance starts again on "
                f"{end:%d %b %Y}."
            )
        use = EntitlementUse.objects.create(
            account=row.account, support_plan=row, kind=kind, quantity=quantity,
            voucher_kind=voucher_kind, note=note, used_on=used_on, recorded_by=actor.user,
        )
        audit_record(
            account=row.account, actor=actor, kind="support.entitlement_used",
            summary=f"{quantity} {label.lower()} used on {used_on.isoformat()}"
            + (f" ({voucher_kind})" if voucher_kind else ""),
            before={"kind": kind, "used": used, "left": left},
            after={"kind": kind, "used": used + quantity, "left": left - quantity,
                   "voucher_kind": voucher_kind, "note": note},
        )
    return use


# --- Cases ----------------------------------------------------------------------------------


def case_clock_coverage(*, channel, plan):
    """The hours a case's first-response clock runs in. PRODUCT.md (the seed's row "Email Support
    (M-F 8 am - 6 pm CT)"): email support is weekdays 8-18 CT on every plan; live chat and phone
    and remote support have the plan's own hours (Premier's weekends, Signature's 24/7)."""
    return WEEKDAYS if channel == CaseChannel.EMAIL else plan.coverage


def case_open(*, account, user, subject, description, severity, channel, actor):
    """An Admin opens a case; its first-response due time comes from the plan in effect."""
    now = timezone.now()
    support_plan = support_plan_current(account=account)
    if support_plan is None:
        raise ServiceError("Support plans need a paid plan: upgrade to open a support case.")
    plan = support_plan.plan
    if channel == CaseChannel.PHONE_AND_REMOTE and not plan.phone_and_remote:
        raise ServiceError("Phone and remote support comes with the Signature plan.")
    if channel not in CaseChannel.values:
        raise ServiceError("Choose email, live chat or phone and remote.")
    if severity not in CaseSeverity.values:
        raise ServiceError("Choose a severity: low, normal, high or urgent.")
    with transaction.atomic():
        case = SupportCase.objects.create(
            account=account, plan=plan, subject=subject, description=description,
            severity=severity, channel=channel, opened_by=user, opened_at=now,
            first_response_due_at=response_due_at(now, plan.email_response_hours,
                                                  case_clock_coverage(channel=channel, plan=plan)),
        )
        audit_record(
            account=account, actor=actor, kind="support.case_opened",
            summary=f"Case #{case.pk} opened: {subject}"[:300],
            after={"case": case.pk, "plan": plan.code, "severity": severity, "channel": channel,
                   "first_response_due_at": case.first_response_due_at.isoformat()},
        )
        _case_email(
            case=case, key=f"case-opened-{case.pk}", subject=f"Case #{case.pk} opened: {subject}",
            body=(
                f"{user.email} opened case #{case.pk} \"{subject}\" ({case.get_severity_display()}) "
                f"for {account.name} on the {plan.name} support plan.\n\n"
                f"Target for a first response by {email_time(case.first_response_due_at, SUPPORT_ZONE)} "
                f"({plan.email_response_hours} hours, counted while email support is open: "
                "weekdays 8:00-18:00 CT). We answer by email and on the case's page."
            ),
        )
    return case


def _case_email(*, case, subject, body, key=None):
    """Issue 15: whoever opened the case and the account's Admins hear of it, in one email."""
    recipients = [case.opened_by.email] if case.opened_by_id else []
    recipients += admin_emails(account_id=case.account_id)
    link = f"{settings.SITE_URL.rstrip('/')}/support/cases/{case.pk}/"
    email_queue(subject=subject[:200], body=f"{body}\n\n-- \nOur support team. See the case and reply: {link}",
                recipients=recipients, key=key)


def case_request_phone_and_remote(*, case, actor):
    """On Signature, an Admin may ask for phone and remote support on a case that is open."""
    with transaction.atomic():
        case = SupportCase.objects.select_for_update(of=("self",)).select_related("plan").get(pk=case.pk)
        if not case.plan.phone_and_remote:
            raise ServiceError("Phone and remote support comes with the Signature plan.")
        if case.state != CaseState.OPEN:
            raise ServiceError("Phone and remote support is for open cases.")
        if case.channel == CaseChannel.PHONE_AND_REMOTE:
            return case
        before = case.channel
        case.channel = CaseChannel.PHONE_AND_REMOTE
        case.save(update_fields=["channel"])
        audit_record(
            account=case.account, actor=actor, kind="support.case_channel_changed",
            summary=f"Case #{case.pk}: phone and remote support requested",
            before={"channel": before}, after={"channel": case.channel},
        )
    return case


def case_reply_add(*, case, author, body):
    """A reply on a case. The first reply by our staff stops the first-response clock."""
    if not body.strip():
        raise ServiceError("Write a reply first.")
    by_staff = bool(author.is_staff)
    with transaction.atomic():
        case = SupportCase.objects.select_for_update(of=("self",)).get(pk=case.pk)
        if not by_staff and case.state != CaseState.OPEN:
            raise ServiceError("This case is closed; open a new one.")
        reply = CaseReply.objects.create(case=case, author=author, by_staff=by_staff, body=body)
        if by_staff and case.first_response_at is None:
            case.first_response_at = reply.created_at
            fields = ["first_response_at"]
            if case.assigned_to_id is None:
                case.assigned_to = author
                fields.append("assigned_to")
            case.save(update_fields=fields)
        if by_staff:
            # The customer hears of our answer by email, with a link to the case.
            _case_email(case=case, subject=f"Case #{case.pk}: {case.subject}", body=body,
                        key=f"case-reply-{reply.pk}")
    return reply


def case_close(*, case, actor):
    with transaction.atomic():
        case = SupportCase.objects.select_for_update(of=("self",)).get(pk=case.pk)
        if case.state == CaseState.CLOSED:
            return case
        case.state = CaseState.CLOSED
        case.closed_at = timezone.now()
        case.save(update_fields=["state", "closed_at"])
        audit_record(
            account=case.account, actor=actor, kind="support.case_closed",
            summary=f"Case #{case.pk} closed",
        )
    return case


def support_inbox():
    """Where breaches of unassigned cases go (SUPPORT_INBOX_EMAIL, else DEFAULT_FROM_EMAIL)."""
    return getattr(settings, "SUPPORT_INBOX_EMAIL", "") or settings.DEFAULT_FROM_EMAIL


def support_breaches_flag(*, now=None):
    """Marks every case past its first-response due time without a staff reply as breached,
    and tells the assigned staff member (or the support inbox) once per case.

    State-based: a case is flagged by setting ``breached_at``, so a second or late run finds
    nothing new; rows another run is flagging are skipped, not waited for.
    """
    now = now or timezone.now()
    with transaction.atomic():
        due = SupportCase.objects.filter(
            state=CaseState.OPEN, first_response_at__isnull=True, breached_at__isnull=True,
            first_response_due_at__lte=now,
        )
        ids = list(due.select_for_update(skip_locked=True).values_list("id", flat=True))
        if not ids:
            return []
        SupportCase.objects.filter(id__in=ids, breached_at__isnull=True).update(breached_at=now)
        cases = list(
            SupportCase.objects.filter(id__in=ids).select_related("account", "plan", "assigned_to")
        )
        site = settings.SITE_URL.rstrip("/")
        for case in cases:
            to = case.assigned_to.email if case.assigned_to_id else support_inbox()
            subject = f"Response target missed: case #{case.pk} ({case.plan.name}, {case.account.name})"
            body = (
                f"Case #{case.pk} \"{case.subject}\" of {case.account.name} ({case.plan.name}, "
                f"{case.get_severity_display()}) was due a first response by "
                f"{email_time(case.first_response_due_at, SUPPORT_ZONE)} and has none.\n\n"
                f"{site}/admin/support/supportcase/{case.pk}/change/"
            )
            email_queue(subject=subject, body=body, recipients=[to], key=f"case-breach-{case.pk}")
    logger.info("flag_support_breaches: %d cases flagged", len(ids))
    return ids
