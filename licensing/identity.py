"""Who a tracked user is (PRODUCT.md, "Licensing": identity).

On a machine joined to a domain a user is (logon domain, username): one person on every joined
machine. On a stand-alone machine (``domain`` null) a user is (machine, local username). Domain
and username compare as Windows logons do: case-insensitively by simple case mapping, without
compatibility folding. Here: Unicode NFC (one spelling of a composed letter), then simple
lower-casing character by character, then trimmed. ``EVA`` is ``eva`` and ``A\u0308rger`` is
``Ärger``; ``straße`` is not ``strasse`` (full case folding would make it so), full-width
``ＥＶＡ`` is not ``EVA`` and the long s is not ``s`` (NFKC would), as Windows keeps those
logons apart. ``İ`` (whose only lower case is two characters) stays as it is. Look-alikes
(Cyrillic ``Е``, a zero-width space) are distinct logons: counted apart, marked on the pages
(accounts.lookalike). Display keeps the first spelling seen. docs/licensing.md, "Identity".
"""

import unicodedata
from functools import lru_cache
from typing import NamedTuple

from licensing.models import IdentityKind


@lru_cache(maxsize=65536)
def identity_fold(value):
    if value.isascii():
        # ASCII is its own NFC and lowers one character to one: the same answer, 10x faster
        # (it runs twice per event on the check-in path, issue 13).
        return value.lower().strip()
    text = unicodedata.normalize("NFC", value)
    # Simple case mapping: a character whose lower case is several characters stays as it is.
    return "".join(ch.lower() if len(ch.lower()) == 1 else ch for ch in text).strip()


class Identity(NamedTuple):
    kind: str
    scope: str  # folded domain, or the machine id
    name: str  # folded username


def identity_of(*, domain, machine_id, username):
    if domain:
        return Identity(IdentityKind.DOMAIN, identity_fold(domain), identity_fold(username))
    return Identity(IdentityKind.MACHINE, identity_fold(machine_id), identity_fold(username))
