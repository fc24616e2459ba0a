"""Issue 15: the dashboard forecasts, from the daily high-water snapshots, when the account
reaches its licenses, and shows a storage meter (used of allowed)."""

import datetime as dt

import pytest
import time_machine

from licensing.forecast import usage_forecast
from licensing.models import AccountLicensing, UsageSnapshot
from tests.factories import make_account

pytestmark = pytest.mark.django_db
TODAY = dt.date(2027, 2, 12)


def snaps(values, *, licenses=89, end=TODAY):
    first = end - dt.timedelta(days=len(values) - 1)
    return [{"day": first + dt.timedelta(days=i), "used": v, "licenses": licenses} for i, v in enumerate(values)]


def test_a_steady_rise_gives_the_day_the_licenses_are_reached():
    # 1 user a day, 59 today: 89 in 30 days, 14 March 2027.
    forecast = usage_forecast(snaps(list(range(30, 60))), licenses=89, today=TODAY)
    assert forecast.reaches_on == dt.date(2027, 3, 14)
    assert forecast.text == "At this rate you reach 89 users around 14 March 2027."


def test_no_forecast_without_a_rise_or_enough_days():
    assert usage_forecast(snaps([50] * 20), licenses=89, today=TODAY).text == (
        "Users used are steady: no new licenses needed at this rate.")
    assert usage_forecast(snaps([40, 41, 42]), licenses=89, today=TODAY) is None
    assert usage_forecast(snaps(list(range(90, 120))), licenses=89, today=TODAY).text == (
        "The account already uses more users than its 89 licenses.")


def test_a_rise_beyond_a_year_is_said_so():
    values = [50 + i // 10 for i in range(60)]  # 0.1 user a day
    assert "more than a year" in usage_forecast(snaps(values), licenses=200, today=TODAY).text


def test_the_dashboard_shows_the_forecast_and_the_storage_meter(client):
    account, admin = make_account(plan="free")
    with time_machine.travel(dt.datetime(2027, 2, 12, 12, tzinfo=dt.UTC), tick=False):
        UsageSnapshot.objects.bulk_create(
            UsageSnapshot(account=account, **s) for s in snaps([1] * 10 + [2] * 10, licenses=3)
        )
        AccountLicensing.objects.update_or_create(account=account, defaults={"storage_bytes": 1024**3 + 1024**3 // 5})
        client.force_login(admin)
        page = client.get("/").content.decode()
    assert 'id="usage-forecast"' in page and "At this rate you reach 3 users around" in page
    assert 'id="storage-meter"' in page
    assert "1.2 GB of 3.0 GB (40%)" in page
    assert '<meter' in page


def test_a_plan_without_a_storage_limit_shows_what_is_stored(admin_client):
    page = admin_client.get("/").content.decode()
    assert 'id="storage-meter"' in page and "no storage limit" in page
