"""Licensing's part in deleting an account (issue 15; accounts/closure.py holds the rule):

- the export the Admin downloads first: a zip of CSVs (users, machines, the activity inside the
  data-history window, members, invoices), built here because licensing may read billing and
  accounts; window titles and URLs only while the account keeps Screen Details (PRODUCT.md);
- a closed account's agents are refused with a problem+json that says why (``agent_refusal``):
  its keys are revoked at the closing moment and given back if an Admin cancels;
- erasing deletes the account's licensing data, set-based.
"""

import csv
import io
import zipfile

from accounts.models import Membership
from accounts.services import audit_record
from billing.selectors import invoices_for
from licensing.models import (
    AccountLicensing,
    ActivityDay,
    AgentKey,
    CheckinEvent,
    Machine,
    TrackedUser,
    UsageSnapshot,
)
from licensing.reports import account_keeps_screen_details, data_history_window
from licensing.services import _hash


def _csv(header, rows):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def account_export_zip(*, account, actor) -> bytes:
    """The account's data as a zip of CSVs, and an ``account.exported`` audit row (closing the
    account asks for a fresh one)."""
    window = data_history_window(account=account)
    details = account_keeps_screen_details(account=account)
    # Rows as tuples, not model instances: 100,000 users and their activity in seconds, not
    # minutes (issue 13: bench/pages.py measured 8.9 s at 100,000 users with instances).
    users = TrackedUser.objects.filter(account=account).order_by("pk").values_list(
        "pk", "username", "domain", "machine_hostname", "alias", "state", "first_seen_at", "last_log_record_at")
    machines = Machine.objects.filter(account=account).order_by("hostname", "pk").values_list(
        "machine_id", "hostname", "domain", "first_seen_at", "last_seen_at")
    activity = (
        ActivityDay.objects.filter(account=account, day__gte=window.first_day)
        .order_by("day", "tracked_user_id", "pk")
        .values_list("day", "tracked_user__username", "app", "site", "url_path", "title", "seconds")
    )
    files = {
        "users.csv": _csv(
            ["id", "username", "domain", "machine", "alias", "state", "first_seen_at", "last_log_record_at"],
            ([pk, username, domain, host, alias, state, first.isoformat(), last.isoformat() if last else ""]
             for pk, username, domain, host, alias, state, first, last in users.iterator(chunk_size=5000)),
        ),
        "machines.csv": _csv(
            ["machine_id", "hostname", "domain", "first_seen_at", "last_seen_at"],
            ([mid, host, domain, first.isoformat(), last.isoformat()]
             for mid, host, domain, first, last in machines.iterator(chunk_size=5000)),
        ),
        "activity.csv": _csv(
            ["day", "user", "app", "site", "url_path", "title", "seconds"],
            ([day.isoformat(), username, app, site, url_path if details else "", title if details else "", seconds]
             for day, username, app, site, url_path, title, seconds in activity.iterator(chunk_size=5000)),
        ),
        "members.csv": _csv(
            ["email", "name", "role"],
            ([m.user.email, m.user.full_name, m.role]
             for m in Membership.objects.filter(account=account).select_related("user").order_by("user__email")),
        ),
        "invoices.csv": _csv(
            ["number", "state", "issued_at", "due_at", "total"],
            ([i.display_number, i.state, i.issued_at.isoformat() if i.issued_at else "",
              i.due_at.isoformat() if i.due_at else "", _dollars(i.total_cents)]
             for i in invoices_for(account=account) if i.number is not None),
        ),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    audit_record(account=account, actor=actor, kind="account.exported",
                 summary=f"Export of the account's data (activity from {window.first_day})")
    return buffer.getvalue()


def _dollars(cents):
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"


def agent_refusal(*, secret):
    """Why a key that did not authenticate is refused, when it is a key of a closed account (the
    401 path only: nothing is added to an accepted check-in)."""
    if not secret:
        return None
    key = (
        AgentKey.objects.filter(key_hash=_hash(secret.strip()), account__closed_at__isnull=False,
                                account__erased_at__isnull=True)
        .select_related("account").first()
    )
    if key is None:
        return None
    return (
        f"The account {key.account.name} was closed on {key.account.closed_at:%Y-%m-%d} and will be "
        f"erased on {key.account.erase_after:%Y-%m-%d}: check-ins are refused. An Admin of the "
        "account can cancel the deletion until then; uninstall the agent otherwise."
    )


def on_account_closed(sender, account, actor, **kwargs):
    AgentKey.objects.filter(account=account, revoked_at__isnull=True).update(revoked_at=account.closed_at)


def on_account_reopened(sender, account, actor, closed_at, **kwargs):
    """The keys the closing revoked (at its very moment) work again; keys revoked before stay so."""
    AgentKey.objects.filter(account=account, revoked_at=closed_at).update(revoked_at=None)


def on_account_erasing(sender, account_ids, actor, **kwargs):
    """Every licensing row of these accounts, set-based (the keys stay, revoked, for the refusal
    to keep saying why until they are gone with the account's name)."""
    ActivityDay.objects.filter(account_id__in=account_ids).delete()
    TrackedUser.objects.filter(account_id__in=account_ids).update(merged_into=None)
    TrackedUser.objects.filter(account_id__in=account_ids).delete()
    Machine.objects.filter(account_id__in=account_ids).delete()
    CheckinEvent.objects.filter(account_id__in=account_ids).delete()
    UsageSnapshot.objects.filter(account_id__in=account_ids).delete()
    AccountLicensing.objects.filter(account_id__in=account_ids).update(used=0, storage_bytes=0)
    AgentKey.objects.filter(account_id__in=account_ids).delete()


