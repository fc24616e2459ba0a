from accounts.models import Membership, Role


def admin_emails_by_account(*, account_ids):
    """``{account_id: [email, ...]}`` of the active Admins of these accounts, in one query: the
    people every account notice (grace period, billing, quotes) goes to."""
    emails = {}
    rows = (
        Membership.objects.filter(account_id__in=account_ids, role=Role.ADMIN, user__is_active=True)
        .order_by("user__email").values_list("account_id", "user__email")
    )
    for account_id, email in rows:
        emails.setdefault(account_id, []).append(email)
    return emails


def billing_emails_by_account(*, account_ids):
    """``{account_id: [email, ...]}`` of the active Admins and Billing members: the people money
    emails go to (invoices, receipts, payment failures, dunning, renewals)."""
    emails = {}
    rows = (
        Membership.objects.filter(account_id__in=account_ids, role__in=[Role.ADMIN, Role.BILLING],
                                  user__is_active=True)
        .order_by("user__email").values_list("account_id", "user__email")
    )
    for account_id, email in rows:
        emails.setdefault(account_id, []).append(email)
    return emails


def billing_emails(*, account_id):
    return billing_emails_by_account(account_ids=[account_id]).get(account_id, [])


def admin_emails(*, account_id):
    return admin_emails_by_account(account_ids=[account_id]).get(account_id, [])
