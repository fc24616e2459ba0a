from accounts.models import BillingContact, Membership, Role


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
    """``{account_id: [email, ...]}`` of the active Admins and Billing members and the account's
    billing contacts (``BillingContact``, issue 14): the people money emails go to (invoices,
    receipts, payment failures, dunning, renewals). Sorted, each address once; two queries."""
    emails = {}
    rows = list(
        Membership.objects.filter(account_id__in=account_ids, role__in=[Role.ADMIN, Role.BILLING],
                                  user__is_active=True)
        .values_list("account_id", "user__email")
    )
    rows += BillingContact.objects.filter(account_id__in=account_ids).values_list("account_id", "email")
    for account_id, email in rows:
        emails.setdefault(account_id, {}).setdefault(email.lower(), email)  # a contact who is a member: once
    return {account_id: sorted(found.values()) for account_id, found in emails.items()}


def billing_emails(*, account_id):
    return billing_emails_by_account(account_ids=[account_id]).get(account_id, [])


def admin_emails(*, account_id):
    return admin_emails_by_account(account_ids=[account_id]).get(account_id, [])


def billing_contacts(*, account) -> list[str]:
    """The account's billing contacts' emails (the Billing details page shows them)."""
    return list(BillingContact.objects.filter(account=account).values_list("email", flat=True))
