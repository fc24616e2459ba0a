from django.apps import AppConfig


class ConnectConfig(AppConfig):
    name = "connect"
    verbose_name = "ActivConnect"

    def ready(self):
        from django_q.models import Schedule

        from accounts.jobs import register_job
        from connect import receivers

        # Webhook events from the other apps' hooks and audit rows (docs/connect.md).
        receivers.connect_all()
        # Retries and anything a lost task left: every minute.
        register_job("deliver_webhooks", "connect.tasks.deliver_webhooks", Schedule.MINUTES, minutes=1)
