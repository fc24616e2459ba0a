"""Issue 13: the agent key's account, plan and compliance are kept per process for a few seconds
(licensing/agent_cache.py), and a revoked key, a changed plan or subscription and a compliance
change are seen by the very next check-in, in this process and in the others."""

import os
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.actors import Actor
from billing.models import Plan
from billing.subscriptions import subscription_apply_quote
from licensing import agent_cache
from licensing.compliance import grace_period_extend, grace_periods_expire
from licensing.services import agent_key_revoke
from tests.factories import make_account
from tests.licensing.conftest import event

STAFF = Actor.system("tests")


REDIS_URL = "redis://127.0.0.1:6379/11"


def use_redis(settings):
    """Django's cache on Redis (database 11, a prefix of this process's own: tests run in
    parallel and share the database), as in production."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.RedisError:
        pytest.skip("no Redis at 127.0.0.1:6379")
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": REDIS_URL, "KEY_PREFIX": f"test-agent-cache-{os.getpid()}"}}
    forget_redis()
    return redis.Redis.from_url(REDIS_URL)


def forget_redis():
    """Deletes this process's keys only (cache.clear() would empty the whole database)."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(f"test-agent-cache-{os.getpid()}:*"))
    if keys:
        client.delete(*keys)


@pytest.fixture(params=["per-process cache", "redis"])
def cached(request, db, settings):
    if request.param == "redis":
        use_redis(settings)
    settings.AGENT_AUTH_CACHE_SECONDS = 60
    agent_cache.clear()
    yield
    agent_cache.clear()
    if request.param == "redis":
        forget_redis()


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """A change made and committed, its on-commit work run (the test's transaction never ends)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def warm(agent):
    """Two check-ins: the first learns the key's account, the second fills the entry."""
    agent.checkin(event("Ann"))
    agent.checkin(event("Ann"))


def another_process(entries):
    """What a worker that did not make the change still holds: its entries from before."""
    agent_cache._entries.update(entries)


def queries_of(agent):
    with CaptureQueriesContext(connection) as ctx:
        agent.checkin(event("Ann"))
    return len(ctx.captured_queries)


def test_a_steady_check_in_authenticates_without_a_query(make_agent, paid_account, settings, cached, committed):
    agent = make_agent(paid_account[0])
    warm(agent)
    with_cache = queries_of(agent)
    settings.AGENT_AUTH_CACHE_SECONDS = 0
    assert queries_of(agent) == with_cache + 1


def test_a_revoked_key_is_refused_at_once_by_every_process(make_agent, paid_account, cached, committed):
    agent = make_agent(paid_account[0])
    warm(agent)
    before = dict(agent_cache._entries)
    with committed():
        agent_key_revoke(key=agent.key, actor=STAFF)
    another_process(before)
    assert agent.post([event("Ann")]).status_code == 401


def test_a_changed_subscription_is_seen_at_once_by_every_process(make_agent, cached, committed):
    account, _ = make_account(plan="professional", licenses=10)
    agent = make_agent(account)
    warm(agent)
    before = dict(agent_cache._entries)
    with committed():
        subscription_apply_quote(
            subscription=account.subscription, plan=Plan.objects.get(code="essentials"), licenses=25
        )
    another_process(before)
    assert agent.checkin(event("Ann"))["account"]["licenses"] == 25


def test_a_plan_edited_by_staff_is_seen_at_once(make_agent, cached, committed):
    account, _ = make_account(plan="free")  # 3 users at most
    agent = make_agent(account)
    warm(agent)
    assert agent.checkin(event("Ann"))["account"]["licenses"] == 3
    before = dict(agent_cache._entries)
    plan = Plan.objects.get(code="free")
    plan.max_users = 2
    with committed():
        plan.save()  # as the admin's change form does
    another_process(before)
    assert agent.checkin(event("Ann"))["account"]["licenses"] == 2


def test_a_compliance_change_is_seen_at_once(make_agent, cached, committed, time_machine):
    account, _ = make_account(plan="professional", licenses=5)
    agent = make_agent(account)
    agent.checkin(*[event(f"user{n}") for n in range(6)])  # over: a grace period starts
    assert agent.checkin(event("user0"))["account"]["state"] == "grace"
    before = dict(agent_cache._entries)
    time_machine.move_to(account.licensing.grace_period_ends_at + timedelta(minutes=1))
    with committed():
        grace_periods_expire()  # the job's set-based UPDATE
    another_process(before)
    assert agent.checkin(event("user0"))["account"]["state"] == "blocked"

    before = dict(agent_cache._entries)
    with committed():
        grace_period_extend(account=account, days=7, actor=STAFF, reason="deal on its way")
    another_process(before)
    assert agent.checkin(event("user0"))["account"]["state"] == "grace"


def test_users_reclaimed_on_the_users_page_are_seen_at_once(make_agent, cached, committed):
    from licensing.models import TrackedUser
    from licensing.services import tracked_user_delete

    account, admin = make_account(plan="professional", licenses=10)
    agent = make_agent(account)
    agent.checkin(event("Ann"), event("Bob"))
    assert agent.checkin(event("Ann"))["account"]["used"] == 2
    before = dict(agent_cache._entries)
    bob = TrackedUser.objects.get(account=account, username="Bob")
    with committed():
        tracked_user_delete(account=account, user_id=bob.pk, actor=STAFF)
    another_process(before)
    assert agent.checkin(event("Ann"))["account"]["used"] == 1


def test_screen_details_bought_or_removed_is_seen_at_once_by_ingestion(make_agent, cached, committed):
    """The privacy rule's answer is kept with the key; the add-on's change is seen at once."""
    from billing.models import AddOn, SubscriptionAddOn
    from licensing.models import ActivityDay

    account, _ = make_account(plan="professional", licenses=5)
    agent = make_agent(account)
    warm(agent)
    items = [{"app": "Excel", "url": "https://x.example/a", "title": "Q3 salaries", "seconds": 60}]
    before = dict(agent_cache._entries)
    with committed():
        addon = SubscriptionAddOn.objects.create(
            subscription=account.subscription, addon=AddOn.objects.get(code="screen_details"), unit_price_cents=0
        )
    another_process(before)
    agent.checkin(event("Ann", activity=items))
    assert ActivityDay.objects.get(account=account, title="Q3 salaries")

    before = dict(agent_cache._entries)
    with committed():
        addon.delete()
    another_process(before)
    agent.checkin(event("Ann", activity=[{**items[0], "title": "Q4 salaries"}]))
    assert not ActivityDay.objects.filter(account=account, title="Q4 salaries").exists()


def test_the_rate_limit_and_the_guessing_limit_hold_on_redis(make_agent, paid_account, settings):
    """The per-key window counts with INCR and EXPIRE pipelined on Redis, the bad keys of an
    address are counted there too (licensing/api.py)."""
    client = use_redis(settings)
    settings.AGENT_API_RATE_LIMIT = (2, 60)
    settings.AGENT_AUTH_FAILURE_LIMIT = (2, 60)
    agent = make_agent(paid_account[0])
    try:
        assert [agent.post([event("Ann")]).status_code for _ in range(3)] == [200, 200, 429]
        window = client.keys("*agent-rate*")
        assert window and 0 < client.ttl(window[0]) <= 61
        bad = "wa_0123456789_" + "x" * 43
        assert [agent.post([event("Ann")], secret=bad).status_code for _ in range(3)] == [401, 401, 429]
    finally:
        forget_redis()


def test_a_steady_check_in_asks_redis_once(make_agent, paid_account, settings, monkeypatch):
    """The bad-key count of the address, the key's rate window and the account's stamps come in
    one Redis round trip (agent_cache.gate), and the limits still hold through it."""
    import redis

    use_redis(settings)
    settings.AGENT_AUTH_CACHE_SECONDS = 60
    settings.AGENT_API_RATE_LIMIT = (4, 60)
    settings.AGENT_AUTH_FAILURE_LIMIT = (2, 60)
    agent_cache.clear()
    agent = make_agent(paid_account[0])
    calls = []
    real_command, real_pipeline = redis.Redis.execute_command, redis.client.Pipeline.execute
    monkeypatch.setattr(redis.Redis, "execute_command", lambda self, *a, **k: calls.append(a[0]) or real_command(self, *a, **k))
    monkeypatch.setattr(redis.client.Pipeline, "execute", lambda self, *a, **k: calls.append("pipeline") or real_pipeline(self, *a, **k))
    try:
        warm(agent)  # requests 1 and 2 of the window
        calls.clear()
        assert agent.post([event("Ann")]).status_code == 200
        assert calls == ["EVALSHA"]
        # The window counted through the gate: the 5th request is over the limit of 4.
        assert [agent.post([event("Ann")]).status_code for _ in range(2)] == [200, 429]
        # Bad keys from this address: past the limit, the valid key is refused from it too.
        bad = "wa_0123456789_" + "x" * 43
        assert [agent.post([event("Ann")], secret=bad).status_code for _ in range(2)] == [401, 401]
        response = agent.post([event("Ann")])
        assert response.status_code == 429 and "invalid agent key" in response.json()["detail"]
    finally:
        agent_cache.clear()
        forget_redis()
