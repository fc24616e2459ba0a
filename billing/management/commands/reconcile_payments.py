from django.core.management.base import BaseCommand

from billing import tasks


class Command(BaseCommand):
    help = "Runs the reconcile_payments job once: attempts whose answer never came, asked at the gateway."

    def handle(self, *args, **options):
        self.stdout.write(f"{tasks.reconcile_payments()} payment attempt(s) settled")
