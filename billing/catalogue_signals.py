"""The catalogue as pages read it, kept in the cache until staff edit it (issue 13).

``/pricing/`` and ``catalogue_terms`` (in every template) are built from the catalogue, which
changes only when staff edit it in the admin. They are kept in Django's cache under a version
token; a save or delete of a plan, an add-on, an add-on's eligible plans (and, from
support/apps.py, a support plan or its features) writes a new token once committed, so the next
page reads the catalogue again. The token is read before the database: a page that read the old
catalogue stores it under the old token, which nobody reads any more.
"""

import secrets

from django.core.cache import cache
from django.db import transaction

VERSION_KEY = "catalogue:version"
TIMEOUT = 24 * 3600  # a backstop only: an edit replaces the token at once


def _version():
    version = cache.get(VERSION_KEY)
    if version is None:
        version = secrets.token_hex(8)
        if not cache.add(VERSION_KEY, version, timeout=None):
            version = cache.get(VERSION_KEY) or version
    return version


def catalogue_cached(name, build):
    """``build()``'s value, from the cache while the catalogue is unchanged."""
    key = f"catalogue:{_version()}:{name}"
    value = cache.get(key)
    if value is None:
        value = build()
        cache.set(key, value, timeout=TIMEOUT)
    return value


def _new_version():
    cache.set(VERSION_KEY, secrets.token_hex(8), timeout=None)


def catalogue_changed(**kwargs):
    """A receiver for any catalogue model's change: pages read the catalogue again. A new token
    at once (the editor's next page shows the edit) and again once committed (a page that read
    the catalogue between the two read it uncommitted, under the token now dropped)."""
    _new_version()
    transaction.on_commit(_new_version)


def connect(*models, uid):
    from django.db.models.signals import m2m_changed, post_delete, post_save

    for model in models:
        for signal in (post_save, post_delete):
            signal.connect(catalogue_changed, sender=model, dispatch_uid=f"{uid}_{model.__name__}_{signal}")
        for field in model._meta.many_to_many:
            m2m_changed.connect(catalogue_changed, sender=field.remote_field.through,
                                dispatch_uid=f"{uid}_{model.__name__}_{field.name}")
