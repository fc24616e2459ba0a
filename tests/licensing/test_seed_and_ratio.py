"""The seed's example: 340 users on 89 licenses, shown in the avatar menu in warning colour."""

import io

import pytest
from django.core.management import call_command

from accounts.models import User
from licensing.models import AccountLicensing, TrackedUser

pytestmark = pytest.mark.django_db


def test_acme_shows_340_on_89_in_the_avatar_menu_in_warning_colour(client, django_assert_max_num_queries):
    call_command("seed_demo", stdout=io.StringIO())
    call_command("seed_demo", stdout=io.StringIO())  # idempotent
    assert TrackedUser.objects.filter(account__slug="acme").count() == 340
    client.force_login(User.objects.get(email="admin@acme.example.com"))
    page = client.get("/agents/").content.decode()
    assert '<p class="ratio over" id="license-ratio"' in page
    assert "<strong>340 / 89</strong>" in page
    assert "grace period" in page
    counts = {r.account.slug: (r.used, r.state) for r in AccountLicensing.objects.select_related("account")}
    assert counts == {"acme": (340, "grace"), "tinyco": (2, "ok"), "trialco": (5, "ok")}


def test_ratio_is_not_red_within_licenses(admin_client):
    page = admin_client.get("/agents/").content.decode()
    assert '<p class="ratio" id="license-ratio"' in page
    assert "<strong>0 / 10</strong>" in page


def test_header_and_banner_cost_one_query(rf, admin_client, django_assert_num_queries):
    from licensing.context_processors import account_header

    request = rf.get("/")
    request.account = admin_client.account
    with django_assert_num_queries(1):
        context = account_header(request)
        assert context["usage"]["state"] == "ok"  # read when the page shows it


def test_the_demo_reads_as_a_customer_in_the_middle_of_its_year(client):
    """Issue 15: Acme's term started months ago (its cart prorates), its users have machines,
    and the trial's usage history starts with the trial."""
    from datetime import timedelta

    from django.utils import timezone

    from licensing.models import Machine, TrackedUserMachine, UsageSnapshot

    call_command("seed_demo", stdout=io.StringIO())
    call_command("seed_demo", stdout=io.StringIO())
    acme = User.objects.get(email="admin@acme.example.com").membership.account
    assert acme.subscription.term_start == timezone.localdate() - timedelta(days=150)
    assert Machine.objects.filter(account=acme).count() == 340
    assert TrackedUserMachine.objects.filter(tracked_user__account=acme).count() == 340
    assert UsageSnapshot.objects.filter(account__slug="trialco").count() <= 1
    client.force_login(User.objects.get(email="admin@acme.example.com"))
    client.post("/cart/", {"licenses": 340, "plan": ""})
    page = client.get("/cart/").content.decode()
    assert "Prorated:" in page and "251 additional Professional licenses" in page


def test_staff_provision_a_customer_mid_term():
    from datetime import timedelta

    from django.core.management.base import CommandError
    from django.utils import timezone

    from accounts.models import Account

    start = timezone.localdate() - timedelta(days=100)
    call_command("provision_account", "midterm", "--plan", "professional", "--licenses", "20",
                 "--term-start", start.isoformat(), stdout=io.StringIO())
    subscription = Account.objects.get(slug="midterm").subscription
    assert (subscription.term_start, subscription.term_end) == (start, start.replace(year=start.year + 1))
    with pytest.raises(CommandError, match="up to a year back"):
        call_command("provision_account", "toolate", "--plan", "professional", "--licenses", "20",
                     "--term-start", (timezone.localdate() - timedelta(days=400)).isoformat(), stdout=io.StringIO())
    assert not Account.objects.filter(slug="toolate").exists()
    with pytest.raises(CommandError, match="is not a date"):
        call_command("provision_account", "bad", "--plan", "professional", "--licenses", "20",
                     "--term-start", "yesterday", stdout=io.StringIO())
