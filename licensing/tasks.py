"""django-q2 entry points: thin, each calls a service."""

from licensing.compliance import grace_periods_expire
from licensing.notices import storage_notices_send


def expire_grace_periods():
    blocked, reminded = grace_periods_expire()
    return f"{blocked} accounts blocked, {reminded} reminders sent"


def purge_checkin_events():
    from licensing.checkin_events import checkin_events_purge

    return f"{checkin_events_purge()} check-in event ids purged"


def send_storage_notices():
    return f"{storage_notices_send()} storage notice(s) sent"
