from django.core.management.base import BaseCommand

from accounts.mail import emails_deliver_queued


class Command(BaseCommand):
    help = "Sends every queued email whose next attempt is due (the job runs every minute)."

    def handle(self, *args, **options):
        self.stdout.write(f"{emails_deliver_queued()} emails sent")
