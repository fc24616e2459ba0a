import pytest

from accounts.actors import Actor
from billing.hooks import quote_accepted, subscription_changed
from billing.models import Plan, Quote, Subscription
from support.models import AccountSupportPlan, SupportPlanState
from tests.factories import StaffFactory, make_account

SYSTEM = Actor.system("tests")


def accept_quote(account, topic, staff=None):
    """Staff accept a Premier or Signature quote, as billing does: the hook activates it."""
    quote = Quote.objects.create(account=account, topic=topic, state="accepted")
    actor = Actor.for_user(staff) if staff else SYSTEM
    quote_accepted.send(sender=Quote, quote=quote, actor=actor)
    return quote


def move_to_plan(account, plan_code):
    """Billing changes the subscription's plan and tells the others through its hook."""
    subscription = Subscription.objects.get(account=account)
    subscription.plan = Plan.objects.get(code=plan_code)
    subscription.state = "active"
    subscription.save()
    subscription_changed.send(sender=Subscription, account=account, actor=SYSTEM)


def active_plan(account, code):
    return AccountSupportPlan.objects.get(
        account=account, plan__code=code, state=SupportPlanState.ACTIVE
    )


@pytest.fixture
def staff(db):
    return StaffFactory()


@pytest.fixture
def premier_account(db):
    account, admin = make_account(plan="professional", licenses=10)
    accept_quote(account, "premier")
    return account, admin


@pytest.fixture
def signature_account(db):
    account, admin = make_account(plan="professional", licenses=10)
    accept_quote(account, "signature")
    return account, admin
