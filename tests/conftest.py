import pytest

from accounts.models import Role
from tests.factories import add_member, make_account


@pytest.fixture
def trial_account(db):
    """A freshly signed-up account on its 14-day Professional trial, with its Admin."""
    return make_account()


@pytest.fixture
def paid_account(db):
    """(account, admin) on Professional with 10 licenses."""
    return make_account(plan="professional", licenses=10)


@pytest.fixture
def admin_client(client, paid_account):
    client.force_login(paid_account[1])
    client.account = paid_account[0]
    return client


@pytest.fixture
def viewer_client(client, paid_account):
    viewer = add_member(paid_account[0], Role.VIEWER)
    client.force_login(viewer)
    client.account = paid_account[0]
    return client


@pytest.fixture(autouse=True)
def _catalogue_for_transactional_tests(request):
    """A transactional test (threads, the live server) ends with a flush that also empties the
    catalogue the data migrations seeded; the next one seeds it again, with the migrations' own
    functions. (serialized_rollback would clash with the content types the flush re-makes.)"""
    marker = request.node.get_closest_marker("django_db")
    if marker is None or not marker.kwargs.get("transaction"):
        return
    request.getfixturevalue("transactional_db")
    from importlib import import_module

    from django.apps import apps

    from billing.models import Plan
    from support.models import SupportPlan

    if not Plan.objects.exists():
        import_module("billing.migrations.0002_seed_catalogue").seed(apps, None)
    if not SupportPlan.objects.exists():
        import_module("support.migrations.0002_seed_catalogue").seed(apps, None)


@pytest.fixture(autouse=True)
def _fresh_catalogue_cache():
    """The catalogue pages read is cached (billing/catalogue_signals.py) in a cache that outlives
    each test's rolled-back database: every test starts with a new version."""
    from django.core.cache import cache

    from billing.catalogue_signals import VERSION_KEY

    cache.delete(VERSION_KEY)
