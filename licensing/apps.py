from django.apps import AppConfig


class LicensingConfig(AppConfig):
    name = "licensing"
    verbose_name = "Licensing"

    def ready(self):
        from django_q.models import Schedule

        from accounts.jobs import register_job

        # Activity jobs (docs/activity.md).
        register_job("purge_data_history", "licensing.activity_tasks.purge_data_history", Schedule.DAILY)
        register_job("snapshot_license_usage", "licensing.activity_tasks.snapshot_license_usage", Schedule.DAILY)
