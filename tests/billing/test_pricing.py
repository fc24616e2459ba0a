"""The proration formula of docs/billing.md, pinned in tables."""

from datetime import date
from decimal import Decimal

import pytest

from billing.cart import cart_quote
from billing.models import AddOn, Plan, SubscriptionAddOn
from billing.pricing import line_amount_cents
from tests.factories import make_account

TERM_START, TERM_END = date(2026, 1, 1), date(2027, 1, 1)  # 365 days
START, MIDDLE, LAST_DAY = date(2026, 1, 1), date(2026, 7, 2), date(2026, 12, 31)


@pytest.mark.parametrize(
    ("quantity", "unit", "days", "term_days", "discount", "cents"),
    [
        (5, 22800, 365, 365, "0", 114000),    # a whole term: 5 x $19 x 12
        (5, 22800, 183, 365, "0", 57156),     # 57156.16 rounds down
        (5, 22800, 1, 365, "0", 312),         # 312.33
        (5, 22800, 183, 365, "20", 45725),    # 45724.93 rounds up
        (1, 101, 1, 2, "0", 51),              # exactly half a cent rounds up
        (1, -101, 1, 2, "0", -51),            # credit notes round away from zero too
        (7, 3600, 100, 366, "12.5", 6025),    # leap-year term: 6024.59
        (10, 22800, 365, 365, "100", 0),
    ],
)
def test_line_amount_is_rounded_once_half_up(quantity, unit, days, term_days, discount, cents):
    assert line_amount_cents(
        quantity=quantity, unit_price_cents=unit, days=days, term_days=term_days,
        discount_percent=Decimal(discount),
    ) == cents


def _subscription(plan="professional", licenses=10, screen_details=False, discount=0):
    account, _ = make_account(plan=plan, licenses=licenses)
    subscription = account.subscription
    subscription.term_start, subscription.term_end = TERM_START, TERM_END
    subscription.save()
    if screen_details:
        SubscriptionAddOn.objects.create(subscription=subscription, addon=AddOn.objects.get(code="screen_details"))
    return subscription


def _lines(quote):
    return [(line.description, line.quantity, line.unit_price_cents, line.days, line.amount_cents)
            for line in quote.lines]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("today", "days", "licenses_cents", "addon_cents"),
    [
        (START, 365, 114000, 18000),
        (MIDDLE, 183, 57156, 9025),
        (LAST_DAY, 1, 312, 49),
    ],
)
def test_added_licenses_and_the_add_on_following_them_are_prorated(today, days, licenses_cents, addon_cents):
    subscription = _subscription(licenses=10, screen_details=True)
    quote = cart_quote(subscription=subscription, plan=None, licenses=15, screen_details=False,
                       discount_percent=0, today=today)
    assert _lines(quote) == [
        ("5 additional Professional licenses", 5, 22800, days, licenses_cents),
        ("Screen Details for the 5 additional licenses", 5, 3600, days, addon_cents),
    ]
    assert quote.total_cents == licenses_cents + addon_cents
    assert quote.yearly_price_cents == 15 * 22800 + 15 * 3600


@pytest.mark.django_db
def test_upgrade_pays_the_difference_on_existing_licenses_and_the_new_price_on_added_ones():
    subscription = _subscription(plan="essentials", licenses=10)
    quote = cart_quote(subscription=subscription, plan=Plan.objects.get(code="professional"),
                       licenses=12, screen_details=True, discount_percent=0, today=MIDDLE)
    assert _lines(quote) == [
        ("Upgrade 10 licenses from Essentials to Professional", 10, 10800, 183, 54148),
        ("2 additional Professional licenses", 2, 22800, 183, 22862),
        ("Screen Details for 12 licenses", 12, 3600, 183, 21659),  # 21659.18
    ]
    assert quote.total_cents == 54148 + 22862 + 21659


@pytest.mark.django_db
def test_the_discount_applies_to_every_line_and_is_recorded_on_it():
    subscription = _subscription(licenses=10, screen_details=True)
    quote = cart_quote(subscription=subscription, plan=None, licenses=15, screen_details=False,
                       discount_percent=Decimal("20"), today=MIDDLE)
    assert [(line.discount_percent, line.amount_cents) for line in quote.lines] == [
        (Decimal("20"), 45725), (Decimal("20"), 7220),
    ]
    assert quote.yearly_price_cents == (15 * 22800 + 15 * 3600) * 8 // 10


@pytest.mark.django_db
def test_from_a_trial_a_new_term_starts_today_and_is_charged_in_full():
    account, _ = make_account()  # 14-day Professional trial
    quote = cart_quote(subscription=account.subscription, plan=Plan.objects.get(code="essentials"),
                       licenses=5, screen_details=True, discount_percent=0, today=date(2026, 3, 10))
    assert quote.starts_new_term
    assert (quote.term_start, quote.term_end) == (date(2026, 3, 10), date(2027, 3, 10))
    assert _lines(quote) == [
        ("Essentials: 5 licenses for 12 months", 5, 12000, 365, 60000),
        ("Screen Details for 5 licenses", 5, 3600, 365, 18000),
    ]


@pytest.mark.django_db
def test_the_worked_example_of_docs_billing_md():
    subscription = _subscription(plan="essentials", licenses=10, screen_details=True)
    quote = cart_quote(subscription=subscription, plan=Plan.objects.get(code="professional"),
                       licenses=12, screen_details=False, discount_percent=Decimal("20"), today=MIDDLE)
    assert [line.amount_cents for line in quote.lines] == [43318, 18290, 2888]
    assert quote.total_cents == 64496
    assert quote.yearly_price_cents == 218880 + 34560
