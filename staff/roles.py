"""Staff roles as groups with least privilege.

Each role is a list of permission patterns ``app_label.codename`` where ``*`` matches any run of
characters (``support.view_*``). ``roles_sync`` (run after every migrate) makes each group hold
exactly the permissions its patterns match, so a role is changed here, in one place.
A superuser is not needed for daily work: give staff members one or more of these groups.
"""

import fnmatch

from django.db import transaction

SEE_ACCOUNTS = [
    "staff.view_staffaccount", "staff.view_dailymetrics", "accounts.view_auditentry",
    "accounts.view_membership", "billing.view_subscription", "billing.view_subscriptionaddon",
    "billing.view_plan", "billing.view_addon", "licensing.view_accountlicensing",
]

ROLES = {
    "Sales": SEE_ACCOUNTS + [
        "billing.view_quote", "billing.change_quote",
        "billing.view_billingprofile", "billing.view_order", "billing.view_orderline",
        "staff.set_discount", "staff.grant_staff_addon", "staff.activate_support_plan",
        "billing.view_discount", "billing.add_discount", "billing.change_discount",
        "billing.view_coupon", "billing.add_coupon", "billing.change_coupon",
        "billing.change_billingprofile",
        "staff.end_trial", "support.view_*",
    ],
    "Billing": SEE_ACCOUNTS + [
        "billing.view_invoice", "billing.view_invoiceline", "billing.view_order",
        "billing.view_orderline", "billing.view_payment", "billing.view_billingprofile",
        "billing.view_quote", "billing.mark_paid_invoice", "billing.void_invoice",
        "billing.credit_invoice", "billing.view_refund", "billing.view_accountcredit",
        "billing.view_taxrate", "billing.add_taxrate", "billing.change_taxrate",
        "billing.view_discount", "billing.view_coupon", "billing.refund_review_payment",
        "staff.set_invoice_eligible", "staff.end_trial",
    ],
    "Support": SEE_ACCOUNTS + [
        "support.view_*", "support.change_supportcase", "support.add_casereply",
        "support.change_casereply", "support.add_entitlementuse", "support.view_entitlementuse",
        "licensing.view_trackeduser", "licensing.view_agentkey", "licensing.view_machine",
        "staff.extend_grace_period", "staff.reevaluate_compliance", "staff.revoke_agent_key",
    ],
    "Read-only": ["*.view_*"],
}


def _matching(patterns, permissions):
    for perm in permissions:
        key = f"{perm.content_type.app_label}.{perm.codename}"
        if any(fnmatch.fnmatchcase(key, pattern) for pattern in patterns):
            yield perm


def roles_sync():
    from django.contrib.auth.models import Group, Permission

    permissions = list(Permission.objects.select_related("content_type"))
    with transaction.atomic():
        for name, patterns in ROLES.items():
            group, _ = Group.objects.get_or_create(name=name)
            group.permissions.set(list(_matching(patterns, permissions)))


def roles_sync_on_migrate(sender, **kwargs):
    roles_sync()
