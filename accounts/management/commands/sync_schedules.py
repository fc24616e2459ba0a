from django.core.management.base import BaseCommand

from accounts.jobs import JOBS, schedules_sync


class Command(BaseCommand):
    help = "Writes one django-q2 schedule per registered job (idempotent)."

    def handle(self, *args, **options):
        count = schedules_sync()
        for job in JOBS.values():
            self.stdout.write(f"{job.name}: {job.func} ({job.schedule_type})")
        self.stdout.write(f"{count} schedules in place")
