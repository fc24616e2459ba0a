from django.core.management.base import BaseCommand

from accounts.models import Account
from licensing.services import licensing_recount


class Command(BaseCommand):
    help = "Recounts users used of every account (or one, by slug) and fixes a drifted counter."

    def add_arguments(self, parser):
        parser.add_argument("slug", nargs="?")

    def handle(self, *args, slug=None, **options):
        accounts = Account.objects.all()
        if slug:
            accounts = accounts.filter(slug=slug)
        for account in accounts.iterator():
            self.stdout.write(f"{account.slug}: {licensing_recount(account=account)} users used")
