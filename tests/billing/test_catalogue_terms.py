"""Numbers staff can change in the catalogue are read from it wherever a page or an email names
them (issue 12, item 5): change Free's cap, the plans' minimum and the grace length, and the
pricing page, the sign-up page, the cart and the trial email say the new values."""

from datetime import UTC, datetime

import pytest
import time_machine
from django.core import mail

from billing.lifecycle import notices_send
from billing.models import Plan
from tests.billing.lifecycle_support import trial_account_since

pytestmark = pytest.mark.django_db


@pytest.fixture
def edited_catalogue(db):
    Plan.objects.filter(is_paid=True).update(min_licenses=7, grace_period_days=21)
    Plan.objects.filter(code="free").update(max_users=4)


def test_pricing_and_signup_pages_name_the_catalogue_values(client, edited_catalogue):
    pricing = client.get("/pricing/").content.decode()
    assert "Paid plans need at least 7 licenses" in pricing
    assert "at least 5 licenses" not in pricing
    assert "Grace period: 21 days" in pricing
    signup = client.get("/signup/").content.decode()
    assert "Afterwards the account becomes Free (4 users)" in signup


def test_the_cart_of_a_trial_names_the_plans_minimum_and_starts_there(client, edited_catalogue):
    account, admin = trial_account_since(datetime(2026, 3, 1, tzinfo=UTC))
    client.force_login(admin)
    with time_machine.travel(datetime(2026, 3, 5, tzinfo=UTC), tick=False):
        page = client.get("/cart/").content.decode()
    assert "Choose a plan and at least 7 licenses" in page


def test_the_trial_email_names_the_catalogue_values(edited_catalogue, django_capture_on_commit_callbacks):
    trial_account_since(datetime(2026, 3, 1, 9, 30, tzinfo=UTC))
    with time_machine.travel(datetime(2026, 3, 12, 6, tzinfo=UTC), tick=False), \
            django_capture_on_commit_callbacks(execute=True):
        assert notices_send() == 1
    body = mail.outbox[0].body
    assert "at least 7 licenses" in body
    assert "up to 4 users" in body
    assert "With more than 4 tracked users" in body


def test_the_grace_banner_and_email_follow_the_catalogue_grace_length(
    client, edited_catalogue, django_capture_on_commit_callbacks
):
    from tests.factories import make_account
    from tests.licensing.conftest import Agent, event

    account, admin = make_account(plan="professional", licenses=7)
    with django_capture_on_commit_callbacks(execute=True):
        Agent(client, account).checkin(*(event(f"user{n}") for n in range(8)))
    [email] = [m for m in mail.outbox if "grace period" in m.subject]
    assert "a 21-day grace period ending" in email.body
    client.force_login(admin)
    banner = client.get("/").content.decode()
    assert "8 users on 7 licenses: grace period, 21 days left." in banner
