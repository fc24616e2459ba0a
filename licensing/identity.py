"""Who a tracked user is (PRODUCT.md, "Licensing": identity).

On a machine joined to a domain a user is (logon domain, username): one person on every joined
machine. On a stand-alone machine (``domain`` null) a user is (machine, local username). Domain
and username compare as Windows logons do: case-insensitively, here after Unicode NFKC
normalisation and case folding. Display keeps the first spelling seen.
"""

import unicodedata
from typing import NamedTuple

from licensing.models import IdentityKind


def identity_fold(value):
    return unicodedata.normalize("NFKC", value).casefold().strip()


class Identity(NamedTuple):
    kind: str
    scope: str  # folded domain, or the machine id
    name: str  # folded username


def identity_of(*, domain, machine_id, username):
    if domain:
        return Identity(IdentityKind.DOMAIN, identity_fold(domain), identity_fold(username))
    return Identity(IdentityKind.MACHINE, identity_fold(machine_id), identity_fold(username))
