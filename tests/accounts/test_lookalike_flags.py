"""Issue 11, item 4: an organisation name or an email that mixes scripts within a word (Latin
with a Cyrillic letter) or holds invisible characters is flagged to staff: the accounts page's
"Look-alike name or email" filter, and the reason on the account."""

import pytest
from django.contrib.auth.models import Group

from accounts.lookalike import lookalike_reason
from accounts.models import Account
from accounts.services import account_signup, invitation_create
from tests.factories import StaffFactory, make_account

pytestmark = pytest.mark.django_db


def test_what_is_flagged_and_what_is_not():
    assert lookalike_reason("Acme Corp") == ""
    assert lookalike_reason("Иван и партнёры") == ""  # Cyrillic alone
    assert lookalike_reason("Acme Россия") == ""  # two scripts, each word of one
    assert lookalike_reason("иван@example.com") == ""
    assert "Cyrillic, Latin" in lookalike_reason("\u0410cme Corp")  # Cyrillic А
    assert "Cyrillic, Latin" in lookalike_reason("\u0435va@example.com")
    assert "U+200B ZERO WIDTH SPACE" in lookalike_reason("Acme\u200b Corp")


def test_signups_and_invitations_with_lookalikes_are_flagged_to_staff(client):
    plain, plain_admin = account_signup(organisation="Plain Ltd", email="owner@plain.example.com", password="x-Pass-12345")
    mixed, _ = account_signup(organisation="\u0410cme Corp", email="owner@acme.example.com", password="x-Pass-12345")
    by_email, _ = account_signup(organisation="Mail Ltd", email="\u0435va@mail.example.com", password="x-Pass-12345")
    invited, invited_admin = make_account(name="Invites Ltd")
    invitation_create(account=invited, email="b\u043eb@invites.example.com", role="viewer", invited_by=invited_admin)
    invitation_create(account=plain, email="bob@plain.example.com", role="viewer", invited_by=plain_admin)

    flags = dict(Account.objects.values_list("name", "lookalike_flag"))
    assert flags["Plain Ltd"] == ""
    assert "organisation name" in flags["\u0410cme Corp"] and "Cyrillic, Latin" in flags["\u0410cme Corp"]
    assert "admin email" in flags["Mail Ltd"]
    assert "invited email b\u043eb@invites.example.com" in flags["Invites Ltd"]

    staff = StaffFactory()
    staff.groups.set(Group.objects.filter(name="Read-only"))
    client.force_login(staff)
    html = client.get("/admin/staff/staffaccount/?state=lookalike").content.decode()
    assert "Look-alike name or email" in html
    assert "\u0410cme Corp" in html and "Mail Ltd" in html and "Invites Ltd" in html
    assert "Plain Ltd" not in html
    page = client.get(f"/admin/staff/staffaccount/{by_email.pk}/change/").content.decode()
    assert "admin email" in page and "U+0435" in page
