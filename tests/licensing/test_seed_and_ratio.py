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
    assert context["usage"]["state"] == "ok"
