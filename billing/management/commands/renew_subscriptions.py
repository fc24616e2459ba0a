from django.core.management.base import BaseCommand

from billing import tasks


class Command(BaseCommand):
    help = "Runs the renew_subscriptions job once: subscriptions whose anniversary has come."

    def handle(self, *args, **options):
        counts = tasks.renew_subscriptions()
        self.stdout.write(
            f"{counts['renewed']} renewed, {counts['moved_to_free']} moved to Free, "
            f"{counts['waiting']} cancellation(s) waiting for an overdue invoice"
        )
