"""Time zones people read datetimes in (issue 17, docs/frontend.md).

- a customer account's pages: the account's ``time_zone`` (UTC until an Admin sets it);
- the staff admin: ``STAFF_TIME_ZONE`` (Central time, the zone the support plans are written in);
- support's hours and due times: Central time on every page (support.plans).

``TimeZoneMiddleware`` activates the zone for the request; every datetime format of the project
(config/formats/en/formats.py, and the ``|date`` formats in templates) ends with the zone's
abbreviation, so no datetime is read without its zone.
"""

import zoneinfo
from functools import lru_cache

from django.conf import settings
from django.utils import timezone


@lru_cache(maxsize=1)
def time_zone_choices():
    names = sorted(zoneinfo.available_timezones() - {"localtime", "Factory"})
    return [(name, name.replace("_", " ")) for name in names]


def is_time_zone(name):
    return name in {value for value, _ in time_zone_choices()}


def zone(name):
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


class TimeZoneMiddleware:
    """Put after CurrentAccountMiddleware: a customer's request reads in the account's zone, a
    staff login's in STAFF_TIME_ZONE, anyone else's in UTC (the default). Anonymous requests
    and the agent API read nothing more from the database for it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        name = None
        if user is not None and user.is_authenticated:
            if user.is_staff:  # staff logins have no account: no membership query for them
                name = settings.STAFF_TIME_ZONE
            elif account := getattr(request, "account", None):
                name = account.time_zone
        if name:
            timezone.activate(zone(name))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


def when(value):
    """A datetime as people read it: in the active zone, with the zone ("16 Dec 2026, 11:25
    CST"); for admin columns and summaries that build their own HTML."""
    if value is None:
        return "-"
    from django.utils.formats import date_format

    return date_format(timezone.localtime(value), "DATETIME_FORMAT")


def email_time(value, zone_name):
    """A datetime as an email states it, in the reader's zone and naming it ("3 December 2026,
    08:05 CST"): the account's zone for its Admins, Central time for support's hours."""
    local = timezone.localtime(value, zone(zone_name or "UTC"))
    return f"{local.day} {local:%B %Y, %H:%M} {local.tzname()}"
