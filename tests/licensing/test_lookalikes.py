"""Look-alike users (issue 11, item 4): Latin ``Eva``, Cyrillic ``Еva`` and ``Eva`` with a
zero-width space are three logons, three users, three licenses; the Users pages show which is
which. Identities compare as Windows logons do: NFC and simple lower-casing, no compatibility
folding (``straße`` is not ``strasse``, full-width is not ASCII)."""

from importlib import import_module

import pytest
from django.apps import apps

from licensing.models import AccountLicensing, IdentityKind, TrackedUser, TrackedUserState
from tests.licensing.conftest import event

pytestmark = pytest.mark.django_db

LATIN, CYRILLIC, ZERO_WIDTH = "Eva", "\u0415va", "Eva\u200b"


def used(account):
    return AccountLicensing.objects.get(account=account).used


@pytest.fixture
def lookalikes(agent):
    agent.checkin(*[event(name, machine="EVA-LAPTOP") for name in (LATIN, CYRILLIC, ZERO_WIDTH)])
    return {u.username: u for u in TrackedUser.objects.filter(account=agent.account)}


def test_three_lookalikes_are_three_users_and_the_users_page_tells_them_apart(admin_client, lookalikes):
    assert set(lookalikes) == {LATIN, CYRILLIC, ZERO_WIDTH}
    assert used(admin_client.account) == 3
    page = admin_client.get("/users/").content.decode()
    rows = {pk: page.split(f'data-user-id="{u.pk}"')[1].split("</tr>")[0] for pk, u in lookalikes.items()}
    assert "lookalike" not in rows[LATIN]
    assert "mixes scripts: Cyrillic, Latin" in rows[CYRILLIC]
    assert "U+0415 U+0076 U+0061" in rows[CYRILLIC]
    assert "invisible characters: U+200B ZERO WIDTH SPACE" in rows[ZERO_WIDTH]
    assert "U+0045 U+0076 U+0061 U+200B" in rows[ZERO_WIDTH]


def test_the_action_page_shows_the_code_points_and_the_merge_page_names_the_lookalikes(admin_client, lookalikes):
    cyrillic = lookalikes[CYRILLIC]
    detail = admin_client.get(f"/users/{cyrillic.pk}/alias/").content.decode()
    assert "U+0415 U+0076 U+0061" in detail and "mixes scripts" in detail
    merge = admin_client.get(f"/users/{lookalikes[LATIN].pk}/merge/").content.decode()
    assert merge.count("looks like this user but is a different logon") == 2
    assert "U+0415 U+0076 U+0061" in merge and "U+0045 U+0076 U+0061 U+200B" in merge


@pytest.mark.parametrize(("first", "second", "users"), [
    ("EVA", "eva", 1),  # case: one logon, as on Windows
    ("Ärger", "ärger", 1),
    ("A\u0308rger", "\u00c4rger", 1),  # combining diaeresis vs precomposed: NFC, one logon
    ("straße", "strasse", 2),  # no case folding of ß to ss
    ("\uff25\uff36\uff21", "EVA", 2),  # full-width is not ASCII
    ("\u017fam", "sam", 2),  # the long s is not s
])
def test_identities_compare_by_nfc_and_simple_lower_casing(agent, first, second, users):
    agent.checkin(event(first, domain="ACME", machine="PC-1"), event(second, domain="ACME", machine="PC-2"))
    assert TrackedUser.objects.filter(account=agent.account).count() == users


def test_the_migration_rekeys_identities_without_losing_or_merging_any(paid_account):
    account = paid_account[0]
    # Identities as the old rule (NFKC + casefold) keyed them.
    rows = [
        ("ACME", "Straße", "acme", "strasse"),
        ("ACME", "\uff25\uff36\uff21", "acme", "eva"),  # full-width, first seen: the key of Eva too
        ("ACME", "Bob", "acme", "bob"),
    ]
    made = [
        TrackedUser.objects.create(
            account=account, identity_kind=IdentityKind.DOMAIN, domain=domain, username=name,
            identity_scope=scope, identity_name=key,
        )
        for domain, name, scope, key in rows
    ]
    # A deleted row and a live one whose new keys collide: both are kept.
    gone = TrackedUser.objects.create(
        account=account, identity_kind=IdentityKind.DOMAIN, domain="ACME", username="BOB",
        identity_scope="acme", identity_name="bob", state=TrackedUserState.DELETED,
    )
    # Two live rows whose new keys would collide (the old keys differed): both stay, the later
    # one keeps its old key (docs/licensing.md, "Identity").
    first = TrackedUser.objects.create(
        account=account, identity_kind=IdentityKind.DOMAIN, domain="ACME", username="Zoë",
        identity_scope="acme", identity_name="zoë-old-1",
    )
    second = TrackedUser.objects.create(
        account=account, identity_kind=IdentityKind.DOMAIN, domain="ACME", username="ZOË",
        identity_scope="acme", identity_name="zoë-old-2",
    )
    import_module("licensing.migrations.0009_rekey_identities_nfc_lower").rekey(apps, None)
    keys = dict(TrackedUser.objects.values_list("pk", "identity_name"))
    assert keys[made[0].pk] == "straße"
    assert keys[made[1].pk] == "\uff45\uff56\uff41"
    assert keys[made[2].pk] == "bob"
    assert keys[gone.pk] == "bob"
    assert (keys[first.pk], keys[second.pk]) == ("zoë", "zoë-old-2")
    assert TrackedUser.objects.filter(account=account).count() == 6
    assert set(TrackedUser.objects.values_list("identity_scope", flat=True)) == {"acme"}
