from django.core.management.base import BaseCommand

from billing import tasks


class Command(BaseCommand):
    help = "Runs the expire_trials job once: trials that ended without a purchase become Free."

    def handle(self, *args, **options):
        count = tasks.expire_trials()
        self.stdout.write(f"{count} trial(s) moved to Free")
