from django.core.management.base import BaseCommand

from accounts.tasks import erase_closed_accounts


class Command(BaseCommand):
    help = "Runs the erase_closed_accounts job once, now."

    def handle(self, *args, **options):
        self.stdout.write(erase_closed_accounts())
