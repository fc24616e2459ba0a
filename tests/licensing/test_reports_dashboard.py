import datetime as dt
import re

import pytest
import time_machine

from licensing.models import UsageSnapshot

NOW = dt.datetime(2026, 10, 15, 10, 0, tzinfo=dt.UTC)
TODAY = NOW.date()


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


def snapshot_days(account, days, *, licenses=10):
    UsageSnapshot.objects.bulk_create(
        UsageSnapshot(account=account, day=TODAY - dt.timedelta(days=n), used=5 + n % 5, licenses=licenses)
        for n in range(days)
    )


def polyline(content, series):
    match = re.search(rf'<polyline class="series {series}" points="([^"]*)"', content)
    return [tuple(map(float, p.split(","))) for p in match.group(1).split()]


def test_the_chart_draws_90_days_of_used_against_licenses(admin_client):
    account = admin_client.account
    snapshot_days(account, 120)  # older snapshots stay off the chart
    UsageSnapshot.objects.filter(account=account, day=TODAY).update(used=14)

    response = admin_client.get("/")

    content = response.content.decode()
    used, licenses = polyline(content, "used"), polyline(content, "licenses")
    assert len(used) == len(licenses) == 90
    # Oldest day on the left, today on the right; licenses flat at 10, today's used above it.
    assert used[0][0] < used[-1][0]
    assert len({y for _, y in licenses}) == 1
    assert used[-1][1] < licenses[-1][1]
    assert content.count('class="over-point"') == 1
    assert "<td>2026-10-15</td><td class=\"num\">14</td><td class=\"num\">10</td>" in content
    # Strict CSP: no inline script (only files, such as the form errors' static/js/forms.js),
    # styles from the static file.
    assert not re.search(r"<script(?![^>]*\bsrc=)", content) and "style=" not in content
    assert "/static/css/activity.css" in content


def test_the_dashboard_shows_plan_term_and_ratio(admin_client):
    content = admin_client.get("/").content.decode()
    assert "Professional" in content
    assert "Data history: 12 months (from 2025-10-15)" in content
    assert "No snapshots yet" in content


def test_a_trial_dashboard_says_until_when(client, trial_account):
    client.force_login(trial_account[1])
    content = client.get("/").content.decode()
    assert "Trialing until" in content


def test_the_dashboard_queries_do_not_grow_with_the_snapshots(admin_client, django_assert_max_num_queries):
    snapshot_days(admin_client.account, 2)
    with django_assert_max_num_queries(12) as few:
        admin_client.get("/")
    UsageSnapshot.objects.all().delete()
    snapshot_days(admin_client.account, 90)
    with django_assert_max_num_queries(len(few)):
        admin_client.get("/")


def test_a_viewer_sees_the_dashboard_too(viewer_client):
    snapshot_days(viewer_client.account, 3)
    assert viewer_client.get("/").status_code == 200
