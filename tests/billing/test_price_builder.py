"""One line builder (issue 12, item 3): the cart, the quotes, the renewal and staff's ARR price
the same subscription the same way, to the cent."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine

from billing import pricing
from billing.cart import cart_quote
from billing.lifecycle import billing_profile_set_discount, subscriptions_renew
from billing.models import AddOn, Order, OrderKind, Plan, Subscription
from billing.selectors import subscription_addons
from staff.selectors import accounts_with_metrics, annual_recurring_revenue_cents, arr_by_plan_cents
from tests.billing.lifecycle_support import JOB, add_addon, paid_account_since

pytestmark = pytest.mark.django_db

TERM_START = date(2026, 4, 15)


@pytest.fixture
def account():
    # 5 licenses, 12.34 % off, Screen Details at a quoted 3,335 cents a user a year: the lines'
    # exact amounts end in .4 and .305 cents, so rounding the sum once (114,550) and rounding
    # each line once (114,549, what the invoice says) differ by a cent.
    account, admin = paid_account_since(TERM_START, plan="professional", licenses=5)
    add_addon(account.subscription, "screen_details", unit_price_cents=3335)
    billing_profile_set_discount(account=account, percent=Decimal("12.34"), reason="nonprofit",
                                 actor=JOB)
    account.admin = admin
    return account


def test_staff_arr_is_what_the_renewal_invoices(account):
    with time_machine.travel(datetime(2027, 4, 15, 2, tzinfo=UTC), tick=False):
        subscriptions_renew(actor=JOB)
    renewal = Order.objects.get(account=account, kind=OrderKind.RENEWAL)
    listed = accounts_with_metrics().get(pk=account.pk)
    assert annual_recurring_revenue_cents(listed) == renewal.total_cents
    assert arr_by_plan_cents() == {"Professional": renewal.total_cents}
    # By hand: 5 x 22,800 x 0.8766 = 99,932.4 -> 99,932; 5 x 3,335 x 0.8766 = 14,617.305 -> 14,617.
    assert renewal.total_cents == 99_932 + 14_617


def test_the_cart_yearly_price_is_the_renewal_total(account):
    subscription = Subscription.objects.select_related("plan").get(account=account)
    quote = cart_quote(subscription=subscription, plan=None, licenses=9, screen_details=False,
                       discount_percent=Decimal("12.34"), today=date(2026, 10, 1))
    assert quote.yearly_price_cents == pricing.yearly_price_cents(
        plan=subscription.plan, licenses=9, discount_percent=Decimal("12.34"),
        addons=[pricing.addon_price(AddOn.objects.get(code="screen_details"), quoted_unit_cents=3335)],
    )
    # The kept add-on grows with the 2 added licenses at its quoted price, not the list price.
    addon_line = next(line for line in quote.lines if line.addon_code == "screen_details")
    assert (addon_line.quantity, addon_line.unit_price_cents) == (4, 3335)


def test_a_quoted_addon_price_never_lands_on_the_catalogue_row(account):
    subscription = Subscription.objects.get(account=account)
    [price] = subscription_addons(subscription=subscription)
    assert price.unit_cents == 3335
    assert not hasattr(price.addon, "quoted_unit_cents")
    assert AddOn.objects.get(code="screen_details").price_per_user_month_cents == 300


def test_an_upgrade_is_flagged_where_its_line_is_made():
    account, _ = paid_account_since(TERM_START, plan="essentials", licenses=7)
    subscription = Subscription.objects.select_related("plan").get(account=account)
    quote = cart_quote(subscription=subscription, plan=Plan.objects.get(code="professional"), licenses=None,
                       screen_details=False, discount_percent=0, today=date(2026, 10, 1))
    assert quote.is_upgrade
    assert [line.is_upgrade for line in quote.lines] == [True] + [False] * (len(quote.lines) - 1)
    more = cart_quote(subscription=subscription, plan=None, licenses=8, screen_details=False,
                      discount_percent=0, today=date(2026, 10, 1))
    assert not more.is_upgrade


def test_one_license_reads_singular():
    plan = Plan.objects.get(code="professional")
    sub = Subscription(plan=plan, licenses=10, state="active", term_start=TERM_START,
                       term_end=date(2027, 4, 15))
    term = pricing.term_for(sub, today=date(2026, 10, 1))
    [line] = pricing.price_lines(subscription=sub, term=term, discount_percent=0,
                                 change=pricing.Change(plan=plan, licenses=11))
    assert line.description == "1 additional Professional license"


@pytest.mark.parametrize("state,new", [("trialing", True), ("ended", True), ("active", False),
                                       ("cancelled", False), ("past_due", False)])
def test_one_new_term_predicate_for_cart_and_quotes(state, new):
    plan = Plan.objects.get(code="professional")
    sub = Subscription(plan=plan, licenses=10, state=state, term_start=TERM_START,
                       term_end=date(2027, 4, 15))
    assert pricing.starts_new_term(sub) is new
    assert pricing.term_for(sub, today=date(2026, 10, 1)).new is new
