from django.core.management.base import BaseCommand

from billing import tasks


class Command(BaseCommand):
    help = "Runs the render_invoice_documents job once: the PDF of every issued invoice that has none yet."

    def handle(self, *args, **options):
        self.stdout.write(f"{tasks.render_invoice_documents()} PDFs rendered")
