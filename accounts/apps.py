from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Customer accounts"

    def ready(self):
        from django.db.models.signals import post_migrate

        from accounts import jobs

        # Schedules are (re)written after every migrate: one row per job name, never duplicated.
        post_migrate.connect(jobs.schedules_sync_on_migrate, sender=self)
