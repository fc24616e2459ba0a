from django.core.management.base import BaseCommand

from connect.webhooks import webhooks_deliver_due


class Command(BaseCommand):
    help = "Sends every webhook delivery that is due, in order per endpoint (the job runs every minute)."

    def handle(self, *args, **options):
        self.stdout.write(f"{webhooks_deliver_due()} webhook deliveries sent")
