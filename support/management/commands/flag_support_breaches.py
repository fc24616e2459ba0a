from django.core.management.base import BaseCommand

from support.services import support_breaches_flag


class Command(BaseCommand):
    help = "Flags support cases past their first-response due time and emails staff (once)."

    def handle(self, *args, **options):
        ids = support_breaches_flag()
        self.stdout.write(f"{len(ids)} cases flagged" + (f": {ids}" if ids else ""))
