from django.apps import AppConfig


class LicensingConfig(AppConfig):
    name = "licensing"
    verbose_name = "Licensing"

    def ready(self):
        from django_q.models import Schedule

        from accounts.hooks import account_closed, account_erasing, account_reopened
        from accounts.jobs import register_job
        from billing.hooks import subscription_changed, usage_requested
        from licensing import closure, receivers

        # Billing tells licensing that licenses or plan changed through its hook.
        subscription_changed.connect(receivers.reevaluate_compliance, dispatch_uid="licensing_compliance")
        # The agents' per-process cache of key, account, plan and compliance (agent_cache).
        from django.db.models.signals import post_delete, post_save

        from billing.models import Plan, Subscription, SubscriptionAddOn
        from licensing import agent_cache
        from licensing.models import AccountLicensing, AgentKey

        subscription_changed.connect(agent_cache.on_subscription_changed, dispatch_uid="agent_cache_subscription")
        for model in (AgentKey, Subscription, AccountLicensing):
            for signal in (post_save, post_delete):
                signal.connect(agent_cache.on_account_row_saved, sender=model, dispatch_uid=f"agent_cache_{model.__name__}")
        for signal in (post_save, post_delete):
            signal.connect(agent_cache.on_addon_saved, sender=SubscriptionAddOn, dispatch_uid="agent_cache_addon")
            signal.connect(agent_cache.on_plan_saved, sender=Plan, dispatch_uid="agent_cache_plan")
        usage_requested.connect(receivers.answer_usage, dispatch_uid="licensing_usage")
        # Deleting an account (issue 15): agents stopped, given back, data erased.
        account_closed.connect(closure.on_account_closed, dispatch_uid="licensing_closed")
        account_reopened.connect(closure.on_account_reopened, dispatch_uid="licensing_reopened")
        account_erasing.connect(closure.on_account_erasing, dispatch_uid="licensing_erasing")
        # Hourly: due grace periods become blocked, reminders 3 days and 1 day before the end.
        register_job("expire_grace_periods", "licensing.tasks.expire_grace_periods", Schedule.HOURLY)
        # Hourly: storage past 80 % of the plan's limit is told once per crossing (issue 15).
        register_job("send_storage_notices", "licensing.tasks.send_storage_notices", Schedule.HOURLY)
        # Activity jobs (docs/activity.md).
        register_job("purge_data_history", "licensing.activity_tasks.purge_data_history", Schedule.DAILY)
        # Event ids older than the dedupe window (licensing/checkin_events.py).
        register_job("purge_checkin_events", "licensing.tasks.purge_checkin_events", Schedule.DAILY)
        register_job("snapshot_license_usage", "licensing.activity_tasks.snapshot_license_usage", Schedule.DAILY)
