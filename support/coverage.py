"""The business-hours arithmetic of support response targets: pure functions, no database.

PRODUCT.md, support plans: the first response target (12 h Digital, 8 h Premier, 4 h Signature)
is counted only inside the plan's coverage hours. Digital: weekdays 8:00-18:00 US Central time;
Premier: every day 8:00-18:00 Central; Signature: around the clock. Central time follows the
real rules of America/Chicago, so the same coverage hours sit one hour earlier in UTC in summer
(CDT, UTC-5) than in winter (CST, UTC-6).
"""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

COVERAGE_TIMEZONE = ZoneInfo("America/Chicago")
COVERAGE_OPENS = time(8, 0)
COVERAGE_CLOSES = time(18, 0)

WEEKDAYS = "weekdays"
WEEKDAYS_WEEKENDS = "weekdays_weekends"
ALWAYS = "always"
COVERAGES = {WEEKDAYS, WEEKDAYS_WEEKENDS, ALWAYS}


def _covered_day(day, coverage):
    return coverage == WEEKDAYS_WEEKENDS or day.weekday() < 5


def response_due_at(opened_at, hours, coverage):
    """When ``hours`` of ``coverage`` time have passed since ``opened_at``, as a UTC datetime.

    A case opened outside coverage hours starts its clock when they next open; a target that
    does not fit in what is left of a day carries over to the next covered day.
    """
    if opened_at.tzinfo is None:
        raise ValueError("opened_at must be an aware datetime")
    if coverage not in COVERAGES:
        raise ValueError(f"unknown coverage {coverage!r}")
    opened_at = opened_at.astimezone(UTC)
    remaining = timedelta(hours=hours)
    if coverage == ALWAYS:
        return opened_at + remaining
    day = opened_at.astimezone(COVERAGE_TIMEZONE).date()
    # At most a week of weekends and one day per 10 covered hours: the loop always ends.
    while True:
        if _covered_day(day, coverage):
            # Wall-clock times built with the zone get the offset in force that day (8:00 and
            # 18:00 are never inside a DST jump, which happens at 2:00); compare in UTC.
            opens = datetime.combine(day, COVERAGE_OPENS, COVERAGE_TIMEZONE).astimezone(UTC)
            closes = datetime.combine(day, COVERAGE_CLOSES, COVERAGE_TIMEZONE).astimezone(UTC)
            start = max(opens, opened_at)
            if start < closes:
                available = closes - start
                if remaining <= available:
                    return start + remaining
                remaining -= available
        day += timedelta(days=1)


def in_coverage(moment, coverage):
    """Whether ``moment`` falls inside the coverage hours (used by the page's "open now")."""
    if coverage == ALWAYS:
        return True
    local = moment.astimezone(COVERAGE_TIMEZONE)
    return _covered_day(local.date(), coverage) and COVERAGE_OPENS <= local.time() < COVERAGE_CLOSES


def covered_hours_between(start, end, coverage):
    """The hours of ``coverage`` time from ``start`` to ``end`` (0 when ``end`` is not later): the
    time a first-response clock ran, as the targets count it."""
    if end <= start:
        return 0.0
    if coverage == ALWAYS:
        return (end - start).total_seconds() / 3600
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    total = timedelta(0)
    day = start.astimezone(COVERAGE_TIMEZONE).date()
    last = end.astimezone(COVERAGE_TIMEZONE).date()
    while day <= last:
        if _covered_day(day, coverage):
            opens = datetime.combine(day, COVERAGE_OPENS, COVERAGE_TIMEZONE).astimezone(UTC)
            closes = datetime.combine(day, COVERAGE_CLOSES, COVERAGE_TIMEZONE).astimezone(UTC)
            lo, hi = max(opens, start), min(closes, end)
            if hi > lo:
                total += hi - lo
        day += timedelta(days=1)
    return total.total_seconds() / 3600
