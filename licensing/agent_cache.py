"""The agent key's account, subscription, plan and licensing row, kept per process for a few
seconds (issue 13): a steady check-in then costs no database query to authenticate.

A revoked key, a changed plan or subscription and a compliance change are seen at once, by every
process: each entry carries the *version stamps* it was read under, kept in Django's cache (Redis
in production, shared by the workers), and an entry is used only while they are unchanged.

- ``agent-auth:v:<account id>`` changes (on commit) when the account's key is revoked, its
  subscription, add-ons or plan change (``subscription_changed``, any save of them), or its
  licensing row is written (compliance state, grace period, used);
- ``agent-auth:v:all`` changes when staff edit a plan of the catalogue (every account on it).

A stamp is a fresh random token, never a counter: a stamp evicted and written again never comes
back to a value an entry was read under. The stamp is read *before* the database, so an entry
can be older than its stamps only in the harmless direction (it is re-read at the next request).
The first check-in of a key in a process learns its account and is not kept; the next one reads
the account's stamp first. Rules are not here: compliance_view still decides the state shown, on
every request, from the cached row (a grace period that ended a second ago is ended).

Off (``AGENT_AUTH_CACHE_SECONDS = 0``) unless the cache is shared between processes: with a
per-process cache a revocation in one worker would not reach the others.
"""

import secrets
import threading
import time
from collections.abc import Callable
from typing import NamedTuple

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.db import transaction

EVERY_ACCOUNT = "agent-auth:v:all"

_lock = threading.Lock()
_entries = {}  # key hash -> (expires at (monotonic), stamps, key)
_account_of = {}  # key hash -> (account id, key id): a key never changes account


def _stamp_name(account_id):
    return f"agent-auth:v:{account_id}"


def seconds() -> float:
    return getattr(settings, "AGENT_AUTH_CACHE_SECONDS", 0)


def redis_client():
    """One Redis client per cache backend (per thread), or None unless the cache is Redis.
    Django's backend makes a new client, and its 170 response callbacks, at every call: 0.2 ms
    of CPU each, three times a check-in. The client's connection pool is the backend's."""
    backend = caches["default"]
    if not isinstance(backend, RedisCache):
        return None
    client = backend.__dict__.get("_hot_client")
    if client is None:
        client = backend._hot_client = backend._cache.get_client(write=True)
    return client


def _names(names):
    backend = caches["default"]
    return [backend.make_and_validate_key(name) for name in names]


def _stamps(account_id):
    names = [_stamp_name(account_id), EVERY_ACCOUNT]
    client = redis_client()
    if client is not None:
        return tuple(client.mget(_names(names)))
    found = cache.get_many(names)
    return tuple(found.get(name) for name in names)


def _stamps_set(names):
    """A fresh token in each stamp, kept until the next change (no expiry)."""
    tokens = {name: secrets.token_hex(8) for name in names}
    client = redis_client()
    if client is not None:
        client.mset(dict(zip(_names(tokens), tokens.values(), strict=True)))
    else:
        cache.set_many(tokens, timeout=None)


def agent_key_cached(*, key_hash: str, load: Callable, stamps=None):
    """The key ``load()`` reads for ``key_hash`` (None when unknown or revoked), from this
    process's entry while its stamps hold. Unknown keys are never kept. ``stamps``: the
    account's stamps when the caller read them already (``gate``)."""
    ttl = seconds()
    if not ttl:
        return load()
    known = _account_of.get(key_hash)
    if known is None:
        key = load()
        if key is not None:
            with _lock:
                _account_of[key_hash] = (key.account_id, key.pk)
        return key
    if stamps is None:
        stamps = _stamps(known[0])
    now = time.monotonic()
    entry = _entries.get(key_hash)
    if entry is not None and entry[0] > now and entry[1] == stamps:
        return entry[2]
    key = load()
    with _lock:
        if key is None:
            _entries.pop(key_hash, None)
        else:
            _entries[key_hash] = (now + ttl, stamps, key)
    return key


# One round trip for what a steady check-in asks Redis: the address's count of bad keys (over
# the limit: refused, nothing counted), the key's rate window (INCR, and its expiry when new)
# and the account's stamps. Three round trips before (issue 13).
_GATE_SCRIPT = """
if tonumber(redis.call('GET', KEYS[1]) or '0') >= tonumber(ARGV[1]) then return {-1} end
local count = redis.call('INCR', KEYS[2])
if count == 1 then redis.call('EXPIRE', KEYS[2], ARGV[2]) end
return {count, redis.call('GET', KEYS[3]) or false, redis.call('GET', KEYS[4]) or false}
"""


class Gate(NamedTuple):
    key_id: int
    count: int  # the key's requests in this rate window, this one included
    stamps: tuple


def gate(*, key_hash, failures_name, failure_limit, rate_name_of, rate_timeout):
    """For a key this process has seen, on Redis with the cache on: the checks of a steady
    check-in in one round trip (``rate_name_of(key id)``: the key's rate window). None when the
    caller must ask one by one (no Redis, cache off, a key not seen yet); False when the address
    is over its limit of bad keys."""
    known = _account_of.get(key_hash)
    client = redis_client()
    if known is None or client is None or not seconds():
        return None
    script = caches["default"].__dict__.get("_gate_script")
    if script is None:
        script = caches["default"]._gate_script = client.register_script(_GATE_SCRIPT)
    account_id, key_id = known
    answer = script(
        keys=_names([failures_name, rate_name_of(key_id), _stamp_name(account_id), EVERY_ACCOUNT]),
        args=[failure_limit, rate_timeout], client=client,
    )
    if answer[0] == -1:
        return False
    return Gate(key_id, answer[0], tuple(answer[1:]))


def _forget(account_id=None):
    with _lock:
        for key_hash, entry in list(_entries.items()):
            if account_id is None or entry[2].account_id == account_id:
                _entries.pop(key_hash, None)


def account_changed(account_id) -> None:
    """The account's key, subscription, plan or licensing row changed: once committed, every
    process reads them again at its next check-in."""

    def bump():
        _stamps_set([_stamp_name(account_id)])
        _forget(account_id)

    transaction.on_commit(bump)


def accounts_changed(account_ids) -> None:
    """Set-based jobs: many accounts at once, one cache call."""
    account_ids = list(account_ids)
    if not account_ids:
        return

    def bump():
        _stamps_set([_stamp_name(a) for a in account_ids])
        for account_id in account_ids:
            _forget(account_id)

    transaction.on_commit(bump)


def every_account_changed() -> None:
    """A plan of the catalogue changed: every entry is read again."""

    def bump():
        _stamps_set([EVERY_ACCOUNT])
        _forget()

    transaction.on_commit(bump)


def clear() -> None:
    """Drops this process's entries (tests)."""
    with _lock:
        _entries.clear()
        _account_of.clear()


# --- Receivers (connected in licensing/apps.py) ----------------------------------------------


def on_subscription_changed(sender, account, **kwargs):
    account_changed(account.pk)


def on_account_row_saved(sender, instance, **kwargs):
    """post_save/post_delete of AgentKey, Subscription and AccountLicensing: any write by save()."""
    account_changed(instance.account_id)


def on_addon_saved(sender, instance, **kwargs):
    """Screen Details bought or gone: the privacy rule's answer kept with the key changes."""
    from billing.models import Subscription

    account_id = Subscription.objects.filter(pk=instance.subscription_id).values_list("account_id", flat=True).first()
    if account_id is not None:
        account_changed(account_id)


def on_plan_saved(sender, **kwargs):
    every_account_changed()
