"""Webhook events from the other apps' hooks (connected in ``ConnectConfig.ready``).

Each receiver runs inside the transaction of the change (the hooks are sent there), so an event
is recorded if and only if the change is committed.
"""

import json

from accounts.models import AuditEntry
from connect.models import WebhookEventType as T
from connect.webhooks import webhook_event_record, webhook_events_record

# Audit rows that are webhook events: every change they tell of writes one (STYLE.md), so no
# other app needs a hook of its own for them.
AUDIT_EVENTS = {
    "compliance.grace": T.GRACE_STARTED,
    "compliance.blocked": T.ACCOUNT_BLOCKED,
    "invoice.issued": T.INVOICE_ISSUED,
    "invoice.paid": T.INVOICE_PAID,
    "invoice.past_due": T.INVOICE_PAST_DUE,
    "support.case_opened": T.CASE_UPDATED,
    "support.case_closed": T.CASE_UPDATED,
    "support.case_channel_changed": T.CASE_UPDATED,
}


def _json_safe(value):
    return json.loads(json.dumps(value, default=str))


def on_audit_entry(sender, instance, created, **kwargs):
    if not created or instance.account_id is None:
        return
    kind = instance.kind
    event = AUDIT_EVENTS.get(kind)
    if kind == "compliance.ok" and (instance.before or {}).get("state") == "blocked":
        event = T.ACCOUNT_UNBLOCKED
    if event is None:
        return
    webhook_event_record(account=instance.account_id, type=event, data={
        "kind": kind, "summary": instance.summary,
        "before": _json_safe(instance.before), "after": _json_safe(instance.after),
    })


def on_subscription_changed(sender, account, actor=None, changed=None, **kwargs):
    webhook_event_record(account=account, type=T.SUBSCRIPTION_CHANGED, data={"changed": _json_safe(changed or {})})


def on_users_tracked(sender, account, user_ids, **kwargs):
    webhook_event_record(account=account, type=T.USER_TRACKED, data={"tracked_user_ids": sorted(user_ids)})


def on_grace_periods_expired(sender, account_ids, **kwargs):
    webhook_events_record(account_ids=account_ids, type=T.ACCOUNT_BLOCKED, data={
        "kind": "compliance.blocked", "summary": "Compliance grace -> blocked (grace_expired)",
        "before": {"state": "grace"}, "after": {"state": "blocked", "blocked_reason": "grace_expired"},
    })


def connect_all():
    from django.db.models.signals import post_save

    from billing.hooks import subscription_changed
    from licensing.hooks import grace_periods_expired, users_tracked

    post_save.connect(on_audit_entry, sender=AuditEntry, dispatch_uid="connect_webhooks_audit")
    subscription_changed.connect(on_subscription_changed, dispatch_uid="connect_webhooks_subscription")
    users_tracked.connect(on_users_tracked, dispatch_uid="connect_webhooks_users")
    grace_periods_expired.connect(on_grace_periods_expired, dispatch_uid="connect_webhooks_grace_expired")
