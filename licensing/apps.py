from django.apps import AppConfig


class LicensingConfig(AppConfig):
    name = "licensing"
    verbose_name = "Licensing"

    def ready(self):
        from django_q.models import Schedule

        from accounts.jobs import register_job
        from billing.hooks import subscription_changed, usage_requested
        from licensing import receivers

        # Billing tells licensing that licenses or plan changed through its hook.
        subscription_changed.connect(receivers.reevaluate_compliance, dispatch_uid="licensing_compliance")
        usage_requested.connect(receivers.answer_usage, dispatch_uid="licensing_usage")
        # Hourly: due grace periods become blocked, reminders 3 days and 1 day before the end.
        register_job("expire_grace_periods", "licensing.tasks.expire_grace_periods", Schedule.HOURLY)
        # Hourly: storage past 80 % of the plan's limit is told once per crossing (issue 15).
        register_job("send_storage_notices", "licensing.tasks.send_storage_notices", Schedule.HOURLY)
        # Activity jobs (docs/activity.md).
        register_job("purge_data_history", "licensing.activity_tasks.purge_data_history", Schedule.DAILY)
        register_job("snapshot_license_usage", "licensing.activity_tasks.snapshot_license_usage", Schedule.DAILY)
