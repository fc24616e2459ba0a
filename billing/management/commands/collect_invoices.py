from django.core.management.base import BaseCommand

from billing import tasks


class Command(BaseCommand):
    help = "Runs the collect_invoices job once: open invoices charged to the card on file (dunning)."

    def handle(self, *args, **options):
        counts = tasks.collect_invoices()
        self.stdout.write(f"{counts['paid']} paid, {counts['failed']} failed, "
                          f"{counts['authentication']} waiting for the customer's authentication")
