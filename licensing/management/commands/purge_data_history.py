from django.core.management.base import BaseCommand

from licensing.activity_tasks import purge_data_history


class Command(BaseCommand):
    help = "Deletes activity older than each account's data history, once, now (the daily job)."

    def handle(self, *args, **options):
        deleted = purge_data_history()
        self.stdout.write(f"{deleted} activity rows older than their data history deleted")
