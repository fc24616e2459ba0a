"""What the Admins are told about the account's data (issue 15): data access blocked (grace
expired, Free over its cap, storage over the limit) when it happens, and storage passing 80 % of
the plan's limit (the 100 % mark is the storage block's own email). Each once, through the task
cluster (accounts.mail), set-based in the jobs."""

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from accounts.mail import email_queue_many
from accounts.models import Account
from accounts.selectors import admin_emails_by_account
from accounts.time_zones import email_time
from licensing.models import AccountLicensing
from licensing.reports import storage_limit_expression

# Issue 15: the storage warning is sent when the account passes 80 % of its plan's limit.
STORAGE_WARNING_PERCENT = 80


def _site():
    return settings.SITE_URL.rstrip("/")


def access_blocked_notify(*, blocked, now=None):
    """Emails the Admins of each account just blocked. ``blocked``: [(account_id, account name,
    why it is blocked, used, licenses), ...]. One email per account and blocking moment (its key)."""
    now = now or timezone.now()
    emails = admin_emails_by_account(account_ids=[b[0] for b in blocked])
    zones = dict(Account.objects.filter(pk__in=[b[0] for b in blocked]).values_list("pk", "time_zone"))
    site = _site()
    messages = []
    for account_id, name, why, used, licenses in blocked:
        body = (
            f"Data access of {name} is blocked since {email_time(now, zones.get(account_id))}: {why}.\n\n"
            "Reports, exports and the read API are closed for every user of the account until it "
            "is back within its limits. Check-ins are still accepted: no activity is lost.\n\n"
            f"The account uses {used} users on {licenses} licenses. Ways out:\n"
            f"- buy licenses: {site}/cart/?licenses={max(used, licenses)}\n"
            f"- reclaim users (delete, merge, Do Not Track): {site}/users/\n"
            f"- delete activity or upgrade when storage is full: {site}/billing/\n"
        )
        messages.append((
            f"{name}: Data access is blocked", body, emails.get(account_id, []),
            f"access-blocked:{account_id}:{now.isoformat()}",
        ))
    return email_queue_many(messages)


def _gb(size):
    return f"{size / 1024**3:.1f} GB"


def storage_notices_send(*, now=None):
    """The storage warning: every account past 80 % of its plan's storage limit that was not told
    since it last crossed it; accounts back under 80 % are re-armed. Set-based: four queries
    whatever the number of accounts. Returns how many warnings went out."""
    now = now or timezone.now()
    # The limit with what Data History adds (licensing.reports.storage_limit_bytes_for).
    limited = AccountLicensing.objects.filter(
        account__subscription__plan__storage_limit_bytes__isnull=False
    ).annotate(limit=storage_limit_expression())
    threshold = F("limit") * STORAGE_WARNING_PERCENT / 100
    rearm = limited.filter(storage_notice_percent__gt=0, storage_bytes__lt=threshold).values("pk")
    AccountLicensing.objects.filter(pk__in=rearm).update(storage_notice_percent=0)
    due = list(
        limited.filter(storage_notice_percent=0, storage_bytes__gte=threshold)
        .values_list("account_id", "account__name", "storage_bytes", "limit")
    )
    if not due:
        return 0
    AccountLicensing.objects.filter(account_id__in=[d[0] for d in due]).update(
        storage_notice_percent=STORAGE_WARNING_PERCENT
    )
    emails = admin_emails_by_account(account_ids=[d[0] for d in due])
    site = _site()
    messages = []
    for account_id, name, used, limit in due:
        percent = used * 100 // limit
        body = (
            f"{name} stores {_gb(used)} of the {_gb(limit)} its plan allows ({percent} %).\n\n"
            "Nobody is charged for storage, but at 100 % all of the account's data is hidden "
            "(reports, exports, the read API) until data is deleted or the account upgrades.\n\n"
            f"- delete the activity of days you no longer need: {site}/reports/delete/\n"
            f"- delete users you no longer need (their activity goes with them): {site}/users/\n"
            f"- upgrade to a paid plan: {site}/cart/\n"
        )
        messages.append((
            f"{name}: storage {percent}% full ({_gb(used)} of {_gb(limit)})", body,
            emails.get(account_id, []), f"storage-{STORAGE_WARNING_PERCENT}:{account_id}:{now.isoformat()}",
        ))
    email_queue_many(messages)
    return len(due)
