from django.core.management.base import BaseCommand

from billing import tasks


class Command(BaseCommand):
    help = "Runs the mark_invoices_past_due job once: open invoices past their due date."

    def handle(self, *args, **options):
        count = tasks.mark_invoices_past_due()
        self.stdout.write(f"{count} invoice(s) marked past due")
