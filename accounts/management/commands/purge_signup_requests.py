from django.core.management.base import BaseCommand

from accounts.tasks import purge_signup_requests


class Command(BaseCommand):
    help = "Runs the purge_signup_requests job once, now."

    def handle(self, *args, **options):
        self.stdout.write(purge_signup_requests())
