"""Money and proration: the one place where prices become amounts.

Integer cents in the database, ``Decimal`` here, rounded ROUND_HALF_UP once per line, never a
float. The formula (docs/billing.md, with a worked example):

    amount = quantity x price_per_user_month x 12 x (days / term_days) x (1 - discount% / 100)

where, for a purchase in the middle of an annual term, ``days = (term_end - today).days``
(today counts as a day of the term, the anniversary does not: the term is [term_start,
term_end)) and ``term_days = (term_end - term_start).days``. A purchase that starts a new term
(from a trial or Free) is charged for the whole year: ``days == term_days``.
"""

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from billing.terms import TERM  # noqa: F401 (pricing.TERM)

MONTHS_PER_YEAR = 12
HUNDRED = Decimal(100)
ONE_CENT = Decimal(1)


def yearly_unit_cents(price_per_user_month_cents):
    """The list price per user per year, in cents (prices are per user per month, billed annually)."""
    return int(price_per_user_month_cents or 0) * MONTHS_PER_YEAR


def line_amount_cents(*, quantity, unit_price_cents, days, term_days, discount_percent):
    """One line's amount in cents, rounded once (half up) after proration and discount.

    ``unit_price_cents`` is per user per year. Negative unit prices (credit notes) round
    symmetrically: ROUND_HALF_UP rounds away from zero.
    """
    if term_days <= 0:
        raise ValueError("a term has at least one day")
    exact = (
        Decimal(quantity) * Decimal(unit_price_cents) * Decimal(days) / Decimal(term_days)
        * (1 - Decimal(discount_percent) / HUNDRED)
    )
    return int(exact.quantize(ONE_CENT, rounding=ROUND_HALF_UP))


def days_left(*, today, term_end):
    """Days charged for a purchase made today: today counts, the anniversary does not."""
    return (term_end - today).days


def term_days(*, term_start, term_end):
    return (term_end - term_start).days


@dataclass
class PriceLine:
    """A priced line, before it is snapshotted onto an order (and from there an invoice)."""

    description: str
    quantity: int
    unit_price_cents: int  # per user per year, list price (for an upgrade: the difference)
    days: int
    term_days: int
    discount_percent: Decimal
    plan_code: str = ""
    addon_code: str = ""
    amount_cents: int = field(init=False)

    def __post_init__(self):
        self.discount_percent = Decimal(self.discount_percent)
        self.amount_cents = line_amount_cents(
            quantity=self.quantity, unit_price_cents=self.unit_price_cents, days=self.days,
            term_days=self.term_days, discount_percent=self.discount_percent,
        )

    @property
    def is_prorated(self):
        return self.days != self.term_days


def addon_yearly_unit_cents(addon):
    """An add-on's price per user per year on a subscription: the quoted price it was sold at
    (``quoted_unit_cents``, set by ``billing.selectors.subscription_addons``), else its list
    price. ActivConnect and Data History have no list price: without a quote they cost 0."""
    quoted = getattr(addon, "quoted_unit_cents", None)
    if quoted is not None:
        return quoted
    return yearly_unit_cents(addon.price_per_user_month_cents or 0)


def yearly_price_cents(*, plan, licenses, addons, discount_percent):
    """The new yearly price: every license on the plan plus each per-user add-on, discounted,
    each line rounded once (as the renewal will bill it)."""
    total = line_amount_cents(
        quantity=licenses, unit_price_cents=yearly_unit_cents(plan.price_per_user_month_cents),
        days=1, term_days=1, discount_percent=discount_percent,
    )
    for addon in addons:
        total += line_amount_cents(
            quantity=licenses, unit_price_cents=addon_yearly_unit_cents(addon),
            days=1, term_days=1, discount_percent=discount_percent,
        )
    return total
