"""The registry of scheduled jobs.

Every app registers its jobs here from ``AppConfig.ready``; after each ``migrate`` (and from
``manage.py sync_schedules``) the registry is written to django-q2's Schedule table, one row per
job name, so re-running never duplicates a schedule. Each job is a state-based function that can
also be run once as a management command of the same name.
"""

from dataclasses import dataclass

from django.db import transaction


@dataclass(frozen=True)
class Job:
    name: str
    func: str  # dotted path of a django-q2 task
    schedule_type: str  # django_q.models.Schedule.HOURLY, DAILY, MINUTES
    minutes: int | None = None


JOBS: dict[str, Job] = {}


def register_job(name, func, schedule_type, minutes=None):
    JOBS[name] = Job(name=name, func=func, schedule_type=schedule_type, minutes=minutes)


def schedules_sync():
    """Writes one Schedule row per registered job; removes rows of jobs that no longer exist."""
    from django_q.models import Schedule

    with transaction.atomic():
        for job in JOBS.values():
            Schedule.objects.update_or_create(
                name=job.name,
                defaults={
                    "func": job.func,
                    "schedule_type": job.schedule_type,
                    "minutes": job.minutes,
                    "repeats": -1,
                },
            )
        managed = {j.func for j in JOBS.values()}
        Schedule.objects.filter(func__in=managed).exclude(name__in=JOBS.keys()).delete()
    return len(JOBS)


def schedules_sync_on_migrate(sender, **kwargs):
    from django.db import connection

    if "django_q_schedule" in connection.introspection.table_names():
        schedules_sync()
