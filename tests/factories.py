"""factory-boy factories shared by the suite. Accounts are made through the real sign-up and
provisioning services so they start as a customer's would (trial or provisioned plan)."""

import factory

from accounts.actors import Actor
from accounts.models import Membership, Role, User
from accounts.services import account_create

PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    password = factory.django.Password(PASSWORD)


class StaffFactory(UserFactory):
    email = factory.Sequence(lambda n: f"staff{n}@ourcompany.example")
    is_staff = True


_counter = iter(range(1, 10**9))


def make_account(*, plan=None, licenses=None, name=None, admin_email=None):
    """An account with its first Admin: a trial when ``plan`` is None, else provisioned."""
    n = next(_counter)
    account, admin = account_create(
        name=name or f"Customer {n}",
        admin_email=admin_email or f"admin{n}@customer{n}.example.com",
        admin_password=PASSWORD,
        actor=Actor.system("tests"),
        plan_code=plan,
        licenses=licenses,
    )
    return account, admin


def add_member(account, role=Role.VIEWER, email=None):
    user = UserFactory(email=email) if email else UserFactory()
    Membership.objects.create(account=account, user=user, role=role)
    return user
