from django.core.management.base import BaseCommand

from staff.tasks import snapshot_business_metrics


class Command(BaseCommand):
    help = "Records today's ARR by plan and accounts by state for the staff dashboard (idempotent)."

    def handle(self, *args, **options):
        self.stdout.write(snapshot_business_metrics())
