from django.core.management.base import BaseCommand

from licensing.tasks import expire_grace_periods


class Command(BaseCommand):
    help = "Runs the expire_grace_periods job once, now."

    def handle(self, *args, **options):
        self.stdout.write(expire_grace_periods())
