"""django-q2 entry points: thin, each calls a service."""

from licensing.compliance import grace_periods_expire


def expire_grace_periods():
    blocked, reminded = grace_periods_expire()
    return f"{blocked} accounts blocked, {reminded} reminders sent"
