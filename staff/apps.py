from django.apps import AppConfig


class StaffConfig(AppConfig):
    name = "staff"
    verbose_name = "Staff"

    def ready(self):
        from django.db.models.signals import post_migrate
        from django_q.models import Schedule

        from accounts.jobs import register_job
        from staff import roles

        post_migrate.connect(roles.roles_sync_on_migrate, sender=self)
        register_job("snapshot_business_metrics", "staff.tasks.snapshot_business_metrics", Schedule.DAILY)
