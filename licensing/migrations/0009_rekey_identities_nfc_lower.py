"""Identities re-keyed from NFKC + casefold to NFC + simple lower-casing (issue 11, item 4).

The new key is computed from the spellings the row kept (the domain and username as first seen;
for a stand-alone machine, the machine id of a machine linked to the user whose old key matches).
No row is deleted or merged: a row whose new key another live row of the account already took
(only possible for rows whose old keys were made otherwise) keeps its old key, and a row with
no spelling to re-key from (a stand-alone user with no machine left) keeps its old scope. Such a
row stays a user of its own; the next check-in of that logon, keyed the new way, may make a new
one, which an Admin can merge. docs/licensing.md, "Identity".
"""

import unicodedata

from django.db import migrations


def _fold(value):
    # licensing.identity.identity_fold as of this migration (kept here: migrations do not import
    # code that may change).
    text = unicodedata.normalize("NFC", value)
    return "".join(ch.lower() if len(ch.lower()) == 1 else ch for ch in text).strip()


def _old_fold(value):
    return unicodedata.normalize("NFKC", value).casefold().strip()


def rekey(apps, schema_editor):
    TrackedUser = apps.get_model("licensing", "TrackedUser")
    TrackedUserMachine = apps.get_model("licensing", "TrackedUserMachine")
    machine_ids = {}
    for user_id, machine_id in TrackedUserMachine.objects.filter(
        tracked_user__identity_kind="machine"
    ).values_list("tracked_user_id", "machine__machine_id"):
        machine_ids.setdefault(user_id, []).append(machine_id)
    taken = set()
    changes = []
    users = TrackedUser.objects.order_by("pk").values_list(
        "pk", "account_id", "identity_kind", "identity_scope", "identity_name", "domain", "username", "state"
    )
    for pk, account_id, kind, scope, name, domain, username, state in users.iterator():
        if kind == "domain" and domain:
            new_scope = _fold(domain)
        else:
            raw = sorted(m for m in machine_ids.get(pk, []) if _old_fold(m) == scope)
            new_scope = _fold(raw[0]) if raw else scope
        new_name = _fold(username) if username else name
        key = (account_id, kind, new_scope, new_name)
        if state != "deleted":
            if key in taken:
                key = (account_id, kind, scope, name)  # keep the old key: never merge two users
            taken.add(key)
        if key[2:] != (scope, name):
            changes.append((pk, key[2], key[3]))
    # Two passes: first out of the way of the unique constraint, then the new keys.
    for pk, _, _ in changes:
        TrackedUser.objects.filter(pk=pk).update(identity_name=f"\x01rekey {pk}")
    for pk, new_scope, new_name in changes:
        TrackedUser.objects.filter(pk=pk).update(identity_scope=new_scope, identity_name=new_name)


class Migration(migrations.Migration):

    dependencies = [
        ("licensing", "0008_storage_notice_percent"),
    ]

    operations = [migrations.RunPython(rekey, migrations.RunPython.noop)]
