"""Set-ups shared by the lifecycle tests (trial, notices, renewals, quotes)."""

from datetime import timedelta

import time_machine
from django.utils import timezone

from accounts.actors import Actor
from billing.models import AddOn, InvoiceState, SubscriptionAddOn
from tests.factories import InvoiceFactory, make_account

JOB = Actor.job("tests")


def paid_account_since(day, *, plan="professional", licenses=10):
    """(account, admin) provisioned on ``day``: its term runs from ``day`` to a year later."""
    with time_machine.travel(day, tick=False):
        return make_account(plan=plan, licenses=licenses)


def trial_account_since(moment):
    with time_machine.travel(moment, tick=False):
        return make_account()


def add_addon(subscription, code, unit_price_cents=None):
    return SubscriptionAddOn.objects.create(
        subscription=subscription, addon=AddOn.objects.get(code=code),
        unit_price_cents=unit_price_cents,
    )


def open_invoice(account, *, due_at, total_cents=10_000):
    return InvoiceFactory(account=account, state=InvoiceState.OPEN, total_cents=total_cents, due_at=due_at)


def past_due_invoice(account):
    invoice = open_invoice(account, due_at=timezone.now() - timedelta(days=1))
    invoice.state = InvoiceState.PAST_DUE
    invoice.save(update_fields=["state"])
    return invoice

