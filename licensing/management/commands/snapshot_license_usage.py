from django.core.management.base import BaseCommand

from licensing.activity_tasks import snapshot_license_usage


class Command(BaseCommand):
    help = "Records today's high water of users used and licenses per account, once, now (the daily job)."

    def handle(self, *args, **options):
        count = snapshot_license_usage()
        self.stdout.write(f"{count} snapshots written (new today, or raised)")
