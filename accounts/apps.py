from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Customer accounts"

    def ready(self):
        from django.db.models.signals import post_migrate
        from django_q.models import Schedule

        from accounts import jobs

        # Emails whose first delivery failed (or never reached the cluster) are retried.
        jobs.register_job(
            "deliver_queued_emails", "accounts.tasks.deliver_queued_emails", Schedule.MINUTES,
            minutes=1,
        )

        # Daily: closed accounts past their 30-day cooling-off are erased (accounts/closure.py).
        jobs.register_job("erase_closed_accounts", "accounts.tasks.erase_closed_accounts", Schedule.DAILY)

        # Daily: sign-ups past their link's expiry are forgotten (services.signup_requests_purge).
        jobs.register_job("purge_signup_requests", "accounts.tasks.purge_signup_requests", Schedule.DAILY)

        # Schedules are (re)written after every migrate: one row per job name, never duplicated.
        post_migrate.connect(jobs.schedules_sync_on_migrate, sender=self)
