"""The first-response due time, counted inside each plan's coverage hours in US Central time.

Every expected value is an exact UTC instant: CST is UTC-6, CDT (from 8 March 2026 02:00, until
1 November 2026 02:00) is UTC-5, so 8:00-18:00 Central is 14:00-24:00 UTC in winter and
13:00-23:00 UTC in summer.
"""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from support.coverage import ALWAYS, WEEKDAYS, WEEKDAYS_WEEKENDS, in_coverage, response_due_at

CT = ZoneInfo("America/Chicago")


def ct(*args):
    return datetime(*args, tzinfo=CT)


def utc(*args):
    return datetime(*args, tzinfo=UTC)


CASES = [
    # (what, opened (Central wall clock), hours, coverage, due (UTC))
    ("Digital, Friday 17:30 CST: 0.5 h Fri, 10 h Mon, 1.5 h Tue",
     ct(2026, 11, 20, 17, 30), 12, WEEKDAYS, utc(2026, 11, 24, 15, 30)),
    ("Digital, Monday 06:00, before hours: 10 h Mon, 2 h Tue",
     ct(2026, 11, 16, 6, 0), 12, WEEKDAYS, utc(2026, 11, 17, 16, 0)),
    ("Digital, Saturday: the clock starts Monday 8:00",
     ct(2026, 11, 21, 11, 0), 12, WEEKDAYS, utc(2026, 11, 24, 16, 0)),
    ("Digital, Wednesday 18:00 sharp: closed, starts Thursday",
     ct(2026, 11, 18, 18, 0), 12, WEEKDAYS, utc(2026, 11, 20, 16, 0)),
    ("Premier, Saturday 10:00 CST: 8 h end at 18:00 Saturday",
     ct(2026, 11, 21, 10, 0), 8, WEEKDAYS_WEEKENDS, utc(2026, 11, 22, 0, 0)),
    ("Premier, Saturday 16:00 CST: 2 h Sat, 6 h Sunday",
     ct(2026, 11, 21, 16, 0), 8, WEEKDAYS_WEEKENDS, utc(2026, 11, 22, 20, 0)),
    ("Signature, 03:00 CST: 4 h around the clock",
     ct(2026, 11, 18, 3, 0), 4, ALWAYS, utc(2026, 11, 18, 13, 0)),
    # Spring forward, Sunday 8 March 2026: coverage hours move one hour earlier in UTC.
    ("Digital across spring DST: Fri 17:00 CST 1 h, Mon 8-18 CDT 10 h, Tue 9:00 CDT",
     ct(2026, 3, 6, 17, 0), 12, WEEKDAYS, utc(2026, 3, 10, 14, 0)),
    ("Premier across spring DST: Sat 15:00 CST 3 h, Sun 8:00 CDT + 5 h",
     ct(2026, 3, 7, 15, 0), 8, WEEKDAYS_WEEKENDS, utc(2026, 3, 8, 18, 0)),
    ("Signature across spring DST: 00:30 CST + 4 h elapsed = 05:30 CDT",
     ct(2026, 3, 8, 0, 30), 4, ALWAYS, utc(2026, 3, 8, 10, 30)),
    # Fall back, Sunday 1 November 2026: coverage hours move one hour later in UTC.
    ("Digital across fall DST: Fri 17:00 CDT 1 h, Mon 8-18 CST 10 h, Tue 9:00 CST",
     ct(2026, 10, 30, 17, 0), 12, WEEKDAYS, utc(2026, 11, 3, 15, 0)),
    ("Premier across fall DST: Sat 14:00 CDT 4 h, Sun 8:00 CST + 4 h",
     ct(2026, 10, 31, 14, 0), 8, WEEKDAYS_WEEKENDS, utc(2026, 11, 1, 18, 0)),
    ("Signature across fall DST: 00:30 CDT + 4 h elapsed = 03:30 CST",
     ct(2026, 11, 1, 0, 30), 4, ALWAYS, utc(2026, 11, 1, 9, 30)),
]


@pytest.mark.parametrize(
    ("opened", "hours", "coverage", "due"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_response_due_at(opened, hours, coverage, due):
    result = response_due_at(opened, hours, coverage)
    assert result == due
    assert result.tzinfo == UTC


def test_same_instant_in_any_zone_gives_the_same_due_time():
    opened = ct(2026, 11, 20, 17, 30)
    assert response_due_at(opened.astimezone(UTC), 12, WEEKDAYS) == utc(2026, 11, 24, 15, 30)


def test_naive_datetime_and_unknown_coverage_are_refused():
    with pytest.raises(ValueError):
        response_due_at(datetime(2026, 1, 1, 9), 12, WEEKDAYS)
    with pytest.raises(ValueError):
        response_due_at(utc(2026, 1, 1, 9), 12, "sometimes")


def _covered_time(start, end, coverage):
    """Brute force: the covered time between two instants, minute by minute."""
    total, t = timedelta(0), start
    while t < end:
        if in_coverage(t, coverage):
            total += timedelta(minutes=1)
        t += timedelta(minutes=1)
    return total


@settings(max_examples=40, deadline=None)
@given(
    opened=st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2027, 1, 1), timezones=st.just(UTC)
    ).map(lambda d: d.replace(second=0, microsecond=0)),
    hours=st.sampled_from([4, 8, 12]),
    coverage=st.sampled_from([WEEKDAYS, WEEKDAYS_WEEKENDS]),
)
def test_due_time_holds_exactly_the_target_of_covered_time(opened, hours, coverage):
    due = response_due_at(opened, hours, coverage)
    assert _covered_time(opened, due, coverage) == timedelta(hours=hours)
    # It ends inside coverage hours (or exactly at their close), never in the night.
    assert in_coverage(due - timedelta(minutes=1), coverage)
