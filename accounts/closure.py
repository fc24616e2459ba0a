"""Deleting an account (issue 15; docs/account-life.md, "Delete the account").

An Admin downloads the export of the account's data (``EXPORT_KIND`` in the audit log), then
types the account's name: the account is closed at once (``account_close``): its pages are shut
(only the closure page stays open to Admins), its agents are refused (licensing answers
``account_closed``). It is erased ``COOLING_OFF`` later by the job (``accounts_erase_due``) unless an
Admin cancels first (``account_close_cancel``). Erasing sends ``account_erasing`` (each app
deletes its own data), anonymises the members' logins and the account's name, and keeps the
invoices, credit notes and orders: the law's record of sales (kept 10 years, docs).
"""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import CharField, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from accounts.hooks import account_closed, account_erasing, account_reopened
from accounts.mail import email_queue
from accounts.models import Account, AuditEntry, Invitation, Membership, User
from accounts.selectors import admin_emails
from accounts.services import ServiceError, audit_record

# Issue 15: erased after a 30-day cooling-off that staff can see and an Admin can cancel.
COOLING_OFF = timedelta(days=30)
# The export must have been downloaded this recently before the account can be closed.
EXPORT_FRESH_FOR = timedelta(hours=24)
EXPORT_KIND = "account.exported"


def _day(moment):
    return f"{moment.day} {moment:%B %Y}"


def account_close_problem(*, account, typed_name, now=None):
    """Why the account cannot be closed now, or None."""
    now = now or timezone.now()
    if account.closed_at is not None:
        return f"The account is already closed; it will be erased on {_day(account.erase_after)}."
    if not AuditEntry.objects.filter(account=account, kind=EXPORT_KIND,
                                     created_at__gte=now - EXPORT_FRESH_FOR).exists():
        return "Download the export of the account's data first (it is your last copy)."
    if (typed_name or "").strip() != account.name.strip():
        return f"Type the account's name exactly: {account.name}"
    return None


def account_close(*, account, typed_name, actor, now=None):
    """Closes the account at once; it is erased ``COOLING_OFF`` later unless cancelled."""
    now = now or timezone.now()
    with transaction.atomic():
        account = Account.objects.select_for_update().get(pk=account.pk)
        problem = account_close_problem(account=account, typed_name=typed_name, now=now)
        if problem:
            raise ServiceError(problem)
        account.closed_at, account.erase_after, account.closed_by = now, now + COOLING_OFF, actor.user
        account.save(update_fields=["closed_at", "erase_after", "closed_by"])
        audit_record(account=account, actor=actor, kind="account.closed",
                     summary=f"Account closed; erased on {_day(account.erase_after)} unless cancelled",
                     after={"closed_at": now.isoformat(), "erase_after": account.erase_after.isoformat()})
        account_closed.send(sender=Account, account=account, actor=actor)
        site = settings.SITE_URL.rstrip("/")
        email_queue(
            subject=f"{account.name} is closed and will be erased on {_day(account.erase_after)}",
            body=(
                f"{actor.label} closed the account {account.name} on {_day(now)}. Its pages and its "
                "agents are stopped now. All of its data (users, machines, activity, members, "
                f"support cases) will be erased on {_day(account.erase_after)}; invoices and credit "
                "notes are kept as the law requires.\n\n"
                f"Changed your mind? An Admin can cancel until then: {site}/account/delete/\n"
            ),
            recipients=admin_emails(account_id=account.pk), key=f"account-closed:{account.pk}:{now.isoformat()}",
        )
    return account


def account_close_cancel(*, account, actor):
    """An Admin cancels the deletion during the cooling-off: everything works again."""
    with transaction.atomic():
        account = Account.objects.select_for_update().get(pk=account.pk)
        if account.closed_at is None or account.erased_at is not None:
            raise ServiceError("The account is not waiting to be erased.")
        closed_at = account.closed_at
        account.closed_at = account.erase_after = account.closed_by = None
        account.save(update_fields=["closed_at", "erase_after", "closed_by"])
        audit_record(account=account, actor=actor, kind="account.close_cancelled",
                     summary="Deletion cancelled: the account is open again",
                     before={"closed_at": closed_at.isoformat()})
        account_reopened.send(sender=Account, account=account, actor=actor, closed_at=closed_at)
    return account


def accounts_erase_due(*, actor, now=None):
    """The daily job: every closed account whose cooling-off is over is erased, set-based
    (each app deletes its rows of all of them at once). Returns how many were erased."""
    now = now or timezone.now()
    with transaction.atomic():
        ids = list(
            Account.objects.select_for_update(skip_locked=True)
            .filter(closed_at__isnull=False, erased_at__isnull=True, erase_after__lte=now)
            .values_list("pk", flat=True)
        )
        if not ids:
            return 0
        account_erasing.send(sender=Account, account_ids=ids, actor=actor)
        user_ids = list(Membership.objects.filter(account_id__in=ids).values_list("user_id", flat=True))
        Membership.objects.filter(account_id__in=ids).delete()
        Invitation.objects.filter(account_id__in=ids).delete()
        # The logins stay as rows (audit rows and documents point at them), emptied of the person;
        # each gets a unique address of its own id. Two UPDATEs whatever the number of accounts.
        pk_text = Cast("pk", CharField())
        User.objects.filter(pk__in=user_ids).update(
            email=Concat(Value("erased-"), pk_text, Value("@erased.invalid")), full_name="",
            is_active=False, password=make_password(None),
        )
        Account.objects.filter(pk__in=ids).update(
            name=Concat(Value("Erased account "), pk_text), slug=Concat(Value("erased-"), pk_text),
            erased_at=now,
        )
        AuditEntry.objects.bulk_create([
            AuditEntry(account_id=account_id, actor_kind=actor.kind, actor_label=actor.label,
                       kind="account.erased", summary="Account data erased after the cooling-off; invoices kept",
                       created_at=now)
            for account_id in ids
        ])
    return len(ids)
