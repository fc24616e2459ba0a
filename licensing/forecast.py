"""The dashboard's forecast (issue 15): "at this rate you reach 89 users around 14 March", read
from the daily high-water snapshots (``UsageSnapshot``) of the chart's 90 days.

The rate is the least-squares slope of users used per day over those snapshots (a straight
line: one hire a week shows as 1/7 a day); the day is when today's users used plus that rate
reaches the licenses. No forecast with fewer than ``MIN_SNAPSHOTS`` days of snapshots."""

import datetime as dt
import math
from dataclasses import dataclass

# A week of snapshots before a rate means anything.
MIN_SNAPSHOTS = 7
# Beyond a year the date says nothing useful: the renewal comes first.
HORIZON_DAYS = 365


@dataclass(frozen=True)
class Forecast:
    text: str
    reaches_on: dt.date | None = None
    per_day: float = 0.0


def _day(day):
    return f"{day.day} {day:%B %Y}"


def _slope(snapshots):
    xs = [(s["day"] - snapshots[0]["day"]).days for s in snapshots]
    ys = [s["used"] for s in snapshots]
    n = len(xs)
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    spread = sum((x - mean_x) ** 2 for x in xs)
    if not spread:
        return 0.0
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread


def usage_forecast(snapshots, *, licenses, today) -> Forecast | None:
    """``snapshots``: [{"day", "used", "licenses"}, ...] oldest first."""
    if len(snapshots) < MIN_SNAPSHOTS:
        return None
    used = snapshots[-1]["used"]
    if used > licenses:
        return Forecast(f"The account already uses more users than its {licenses} licenses.")
    rate = _slope(snapshots)
    if rate <= 0:
        return Forecast("Users used are steady: no new licenses needed at this rate.", per_day=rate)
    target = licenses if used < licenses else licenses + 1
    days = math.ceil((target - used) / rate - 1e-9)
    if days > HORIZON_DAYS:
        return Forecast(f"At this rate you reach {target} users in more than a year.", per_day=rate)
    on = today + dt.timedelta(days=days)
    return Forecast(f"At this rate you reach {target} users around {_day(on)}.", reaches_on=on, per_day=rate)


@dataclass(frozen=True)
class StorageMeter:
    used_bytes: int
    limit_bytes: int | None
    percent: int | None
    text: str


def _gb(size):
    return f"{size / 1024**3:.1f} GB"


def storage_meter(*, storage_bytes, limit_bytes) -> StorageMeter:
    """Storage used of allowed, for the dashboard's meter (PRODUCT.md: over the limit, data is
    hidden until data is deleted or the account upgrades)."""
    if not limit_bytes:
        return StorageMeter(storage_bytes, None, None, f"{_gb(storage_bytes)} stored (no storage limit on this plan)")
    percent = round(storage_bytes * 100 / limit_bytes)
    return StorageMeter(storage_bytes, limit_bytes, percent,
                        f"{_gb(storage_bytes)} of {_gb(limit_bytes)} ({percent}%)")
