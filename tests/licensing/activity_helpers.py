"""Helpers of the activity tests: tracked users made directly (the check-in API is elsewhere)."""

import datetime as dt
import itertools

from billing.models import AddOn, SubscriptionAddOn
from licensing.models import AccountLicensing, IdentityKind
from tests.factories import TrackedUserFactory

_n = itertools.count(1)


def tracked_user(account, username=None, *, domain="CORP", alias=""):
    username = username or f"user{next(_n)}"
    return TrackedUserFactory(account=account, identity_kind=IdentityKind.DOMAIN, domain=domain,
                              username=username, alias=alias)


def add_addon(account, code, units=1):
    """``units`` rows of the add-on (Data History: one row = one unit of 12 months)."""
    addon = AddOn.objects.get(code=code)
    if units == 1:
        return SubscriptionAddOn.objects.create(subscription=account.subscription, addon=addon)
    # The catalogue allows one row per add-on; more units come from a second add-on of the
    # same kind, as staff would configure a bigger extension.
    rows = [SubscriptionAddOn.objects.create(subscription=account.subscription, addon=addon)]
    for i in range(1, units):
        extra = AddOn.objects.create(
            code=f"{code}_{i}", name=f"{addon.name} {i}", sales_channel=addon.sales_channel,
            extends_history_months=addon.extends_history_months,
        )
        rows.append(SubscriptionAddOn.objects.create(subscription=account.subscription, addon=extra))
    return rows


def at(day, hour=12):
    return dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC)


def storage_counter(account):
    row = AccountLicensing.objects.filter(account=account).first()
    return row.storage_bytes if row else 0
