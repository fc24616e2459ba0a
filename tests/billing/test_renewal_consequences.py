"""Issue 15: a renewal change says what it will do before it is accepted: more users than
licenses after the renewal (a warning and an explicit confirm), and a shorter data history."""

from datetime import date

import pytest
from django.contrib.messages import get_messages

from billing.models import ScheduledChange
from licensing.models import AccountLicensing
from tests.billing.lifecycle_support import paid_account_since

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(client):
    account, admin = paid_account_since(date(2026, 4, 15), plan="professional", licenses=350)
    AccountLicensing.objects.update_or_create(account=account, defaults={"used": 342})
    client.force_login(admin)
    client.account = account
    return client


def test_fewer_licenses_than_used_is_a_warning_and_needs_a_confirm(admin):
    response = admin.post("/billing/schedule/", {"licenses": "5"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "342 users are tracked" in page and "5 licenses" in page
    assert "337 more users than licenses" in page
    assert 'name="confirm"' in page
    assert not ScheduledChange.objects.exists()

    response = admin.post("/billing/schedule/", {"licenses": "5", "confirm": "1"})
    assert response.status_code == 302
    assert ScheduledChange.objects.get().licenses == 5
    assert any("Change scheduled" in str(m) for m in get_messages(response.wsgi_request))


def test_a_downgrade_says_how_much_history_shrinks(admin):
    response = admin.post("/billing/schedule/", {"plan": "essentials", "licenses": "345"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "Data history shrinks from 12 months to 6 months" in page
    assert "activity older than 6 months is purged" in page
    assert "15 April 2027" in page
    assert not ScheduledChange.objects.exists()


def test_a_change_with_no_consequence_is_scheduled_at_once(admin):
    response = admin.post("/billing/schedule/", {"licenses": "345"})
    assert response.status_code == 302
    assert ScheduledChange.objects.get().licenses == 345


def test_the_warning_page_keeps_form_errors_as_before(admin):
    response = admin.post("/billing/schedule/", {"licenses": "3"})
    assert response.status_code == 302
    assert not ScheduledChange.objects.exists()
