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
