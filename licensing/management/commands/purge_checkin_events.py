from django.core.management.base import BaseCommand

from licensing.tasks import purge_checkin_events


class Command(BaseCommand):
    help = "Runs the purge_checkin_events job once, now."

    def handle(self, *args, **options):
        self.stdout.write(purge_checkin_events())
