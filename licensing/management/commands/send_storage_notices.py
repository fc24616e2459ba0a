from django.core.management.base import BaseCommand

from licensing.tasks import send_storage_notices


class Command(BaseCommand):
    help = "Runs the send_storage_notices job once, now."

    def handle(self, *args, **options):
        self.stdout.write(send_storage_notices())
