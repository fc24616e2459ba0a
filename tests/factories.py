"""factory-boy factories shared by the suite. Accounts are made through the real sign-up and
provisioning services so they start as a customer's would (trial or provisioned plan)."""

from datetime import timedelta

import factory
from django.utils import timezone

from accounts.actors import Actor
from accounts.models import Membership, Role, User
from accounts.services import account_create
from billing.models import InvoiceSeries
from billing.pricing import line_amount_cents
from licensing.identity import identity_fold

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


# --- rows the billing, licensing and support tests make (issue 12, item 7) -----------------------


class OrderFactory(factory.django.DjangoModelFactory):
    """An order as the checkout leaves it; give ``lines`` with ``OrderLineFactory``."""

    class Meta:
        model = "billing.Order"

    kind = "cart"
    state = "paid"
    total_cents = 0


class OrderLineFactory(factory.django.DjangoModelFactory):
    """A line priced by billing's one rounding rule (``billing.pricing.line_amount_cents``)."""

    class Meta:
        model = "billing.OrderLine"

    description = factory.Sequence(lambda n: f"line {n}")
    quantity = 1
    unit_price_cents = 22_800
    days = 365
    term_days = 365
    discount_percent = 0
    amount_cents = factory.LazyAttribute(lambda line: line_amount_cents(
        quantity=line.quantity, unit_price_cents=line.unit_price_cents, days=line.days,
        term_days=line.term_days, discount_percent=line.discount_percent,
    ))


class InvoiceFactory(factory.django.DjangoModelFactory):
    """An open invoice of series INV, issued 30 days before it is due (no number: a stand-in for
    an invoice the tests do not number)."""

    class Meta:
        model = "billing.Invoice"

    series = factory.LazyFunction(lambda: InvoiceSeries.objects.get_or_create(code="INV")[0])
    state = "open"
    total_cents = 10_000
    due_at = factory.LazyFunction(timezone.now)
    issued_at = factory.LazyAttribute(lambda invoice: invoice.due_at - timedelta(days=30))


class TrackedUserFactory(factory.django.DjangoModelFactory):
    """A domain user keyed as the check-in keys it (``licensing.identity.identity_fold``)."""

    class Meta:
        model = "licensing.TrackedUser"

    identity_kind = "domain"
    domain = "CORP"
    username = factory.Sequence(lambda n: f"user{n}")
    identity_scope = factory.LazyAttribute(lambda user: identity_fold(user.domain))
    identity_name = factory.LazyAttribute(lambda user: identity_fold(user.username))
    alias = ""


class SupportCaseFactory(factory.django.DjangoModelFactory):
    """A case as ``support.services.case_open`` would leave it, due in 4 hours."""

    class Meta:
        model = "support.SupportCase"

    subject = factory.Sequence(lambda n: f"Case {n}")
    description = "-"
    first_response_due_at = factory.LazyFunction(lambda: timezone.now() + timedelta(hours=4))


def staff_today():
    """Today where the staff admin works (STAFF_TIME_ZONE, the admin's zone): in the early UTC
    hours Chicago is still on the day before, and a use dated tomorrow is refused."""
    from zoneinfo import ZoneInfo

    from django.conf import settings
    from django.utils import timezone

    return timezone.localdate(timezone=ZoneInfo(settings.STAFF_TIME_ZONE))
