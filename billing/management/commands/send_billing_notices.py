from django.core.management.base import BaseCommand

from billing import tasks


class Command(BaseCommand):
    help = "Runs the send_billing_notices job once: trial ending and renewal coming emails due."

    def handle(self, *args, **options):
        count = tasks.send_billing_notices()
        self.stdout.write(f"{count} notice(s) sent")
