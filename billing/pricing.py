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
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from billing.models import OrderLine, SubscriptionState
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
    is_upgrade: bool = False  # the move of existing licenses to a higher plan (set where made)
    discount_label: str = ""  # the discounts by name ("Nonprofit 20%, SPRING 10%")
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


# --- the term a purchase is priced for ----------------------------------------------------------


def starts_new_term(subscription) -> bool:
    """The one co-term / new-term predicate: a trial, Free, an ended subscription or one with no
    term buys a whole new annual term starting today; every other purchase is co-termed."""
    return (
        subscription.state in (SubscriptionState.TRIALING, SubscriptionState.ENDED)
        or not subscription.plan.is_paid
        or subscription.term_end is None
    )


@dataclass(frozen=True)
class Term:
    """The period a set of lines is priced for: ``days`` of ``term_days`` (both whole days)."""

    start: date
    end: date
    days: int
    term_days: int
    new: bool  # a new annual term starts (charged in full), else the rest of the current one


def term_for(subscription, *, today: date) -> Term:
    """A purchase made today: a new term from today, or today to the current anniversary."""
    if starts_new_term(subscription):
        days = term_days(term_start=today, term_end=today + TERM)
        return Term(start=today, end=today + TERM, days=days, term_days=days, new=True)
    return Term(
        start=subscription.term_start, end=subscription.term_end,
        days=days_left(today=today, term_end=subscription.term_end),
        term_days=term_days(term_start=subscription.term_start, term_end=subscription.term_end),
        new=False,
    )


def renewal_term(*, start: date, end: date) -> Term:
    days = term_days(term_start=start, term_end=end)
    return Term(start=start, end=end, days=days, term_days=days, new=True)


# --- unit prices ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AddOnPrice:
    """An add-on at the price per user per year it is sold at: the quote's price it was sold at,
    else its list price x 12. ActivConnect and Data History have no list price: 0 without a quote.
    The catalogue row is never changed to carry a price."""

    addon: object
    unit_cents: int

    @property
    def code(self):
        return self.addon.code

    @property
    def name(self):
        return self.addon.name


def addon_price(addon, *, quoted_unit_cents: int | None = None) -> AddOnPrice:
    if quoted_unit_cents is not None:
        return AddOnPrice(addon=addon, unit_cents=quoted_unit_cents)
    return AddOnPrice(addon=addon, unit_cents=yearly_unit_cents(addon.price_per_user_month_cents or 0))


def subscription_addon_prices(subscription) -> list[AddOnPrice]:
    """The subscription's add-ons, each at the price it was sold at (one query)."""
    return [
        addon_price(row.addon, quoted_unit_cents=row.unit_price_cents)
        for row in subscription.addons.select_related("addon").order_by("addon__sort_order", "addon_id")
    ]


# --- discounts ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DiscountRule:
    """A named percentage on the lines its scope names: every line, one plan's (``scope_code``
    the plan code) or one add-on's. Rules add up on a line, capped at 100 %."""

    name: str
    percent: Decimal
    scope: str = "all"
    scope_code: str = ""

    def applies_to(self, *, plan_code: str, addon_code: str) -> bool:
        if self.scope == "plan":
            return bool(plan_code) and plan_code == self.scope_code
        if self.scope == "addon":
            return bool(addon_code) and addon_code == self.scope_code
        return True


def _line_discount(discounts, *, base_percent, plan_code="", addon_code=""):
    """(percent, label) of one line: the base percent plus every rule that applies to it."""
    applied = [rule for rule in discounts if rule.applies_to(plan_code=plan_code, addon_code=addon_code)]
    percent = min(Decimal(base_percent) + sum((Decimal(rule.percent) for rule in applied), Decimal(0)), HUNDRED)
    label = ", ".join(f"{rule.name} {Decimal(rule.percent).normalize():f}%" for rule in applied)
    return percent, label


def amount_off_line(*, name: str, amount_off_cents: int, lines, term: Term) -> PriceLine | None:
    """A fixed amount off a purchase (a coupon), never more than the lines it follows."""
    off = min(int(amount_off_cents), sum(line.amount_cents for line in lines))
    if off <= 0:
        return None
    return PriceLine(description=f"{name}: amount off", quantity=1, unit_price_cents=-off,
                     days=term.term_days, term_days=term.term_days, discount_percent=Decimal(0),
                     discount_label=name)


# --- the one line builder -------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """What is bought: the plan and licenses after it, the add-ons the subscription keeps (they
    grow with added licenses, or renew with the term) and the add-ons bought now (for every
    license). ``plan_unit_cents``: a quote's price per user per year for all the licenses
    (sales-assisted), else the plan's list price (and an upgrade pays the difference).
    ``reference`` is said at the end of each line: the quote ("quote 12"), the renewal's dates."""

    plan: object
    licenses: int
    keep_addons: tuple = ()
    new_addons: tuple = ()
    plan_unit_cents: int | None = None
    reference: str = ""


def _plural(n, word):
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def price_lines(*, subscription, change: Change, term: Term, discount_percent,
                discounts=()) -> list[PriceLine]:
    """Every order line of the product is made here: the cart, the quotes, the renewal and
    staff's ARR call it. Integer cents, one rounding per line (``line_amount_cents``).

    A new term (or a renewal) bills the plan and every add-on for all the licenses; within a
    term, an upgrade bills the difference for the licenses held, added licenses bill the plan and
    each kept add-on for the rest of the term, and an add-on bought now bills all the licenses.
    Each line's discount is ``discount_percent`` plus the ``discounts`` (``DiscountRule``) whose
    scope names it, recorded by name on the line.
    """
    plan, licenses = change.plan, change.licenses
    suffix = f" ({change.reference})" if change.reference else ""
    period = "12 months" if term.new else f"the rest of the term, to {term.end:%Y-%m-%d}"
    lines = []

    def add(description, quantity, unit, *, is_upgrade=False, **codes):
        percent, label = _line_discount(discounts, base_percent=discount_percent, **codes)
        lines.append(PriceLine(
            description=description + suffix, quantity=quantity, unit_price_cents=unit,
            days=term.days, term_days=term.term_days, discount_percent=percent,
            discount_label=label, is_upgrade=is_upgrade, **codes,
        ))

    list_unit = yearly_unit_cents(plan.price_per_user_month_cents)
    if term.new or change.plan_unit_cents is not None:
        unit = list_unit if change.plan_unit_cents is None else change.plan_unit_cents
        add(f"{plan.name}: {_plural(licenses, 'license')} for {period}", licenses, unit,
            plan_code=plan.code)
        grown = licenses if term.new else licenses - subscription.licenses
    else:
        current = subscription.plan
        if plan.pk != current.pk:
            # No refunds (PRODUCT.md): a move to a plan ranked higher never gives money back.
            difference = max(plan.price_per_user_month_cents - current.price_per_user_month_cents, 0)
            add(f"Upgrade {_plural(subscription.licenses, 'license')} from {current.name} to {plan.name}",
                subscription.licenses, yearly_unit_cents(difference), plan_code=plan.code,
                is_upgrade=True)
        grown = licenses - subscription.licenses
        if grown > 0:
            add(f"{grown} additional {plan.name} {'license' if grown == 1 else 'licenses'}", grown,
                list_unit, plan_code=plan.code)
    if grown > 0:
        # PRODUCT.md: per-user add-ons grow with the licenses (prorated within a term).
        for price in change.keep_addons:
            label = (f"{price.name} for {_plural(grown, 'license')}" if term.new
                     else f"{price.name} for the {grown} additional {'license' if grown == 1 else 'licenses'}")
            add(label, grown, price.unit_cents, addon_code=price.code)
    for price in change.new_addons:
        add(f"{price.name} for {_plural(licenses, 'license')}", licenses, price.unit_cents,
            addon_code=price.code)
    return lines


def list_amount_cents(line) -> int:
    """A snapshotted line's amount before its discount (an invoice's "list price" subtotal)."""
    return line_amount_cents(quantity=line.quantity, unit_price_cents=line.unit_price_cents,
                             days=line.days, term_days=line.term_days, discount_percent=0)


def service_line(*, description, unit_cents, term: Term, discount_percent) -> PriceLine:
    """A line sold once for the term, not per license (a Premier or Signature support plan)."""
    return PriceLine(description=description, quantity=1, unit_price_cents=unit_cents,
                     days=term.days, term_days=term.term_days, discount_percent=discount_percent)


def yearly_price_cents(*, plan, licenses, addons, discount_percent, discounts=()) -> int:
    """The yearly price after a change (as the renewal will bill it): every license on the plan
    plus each per-user add-on (``AddOnPrice``), discounted, each line rounded once. ``discounts``:
    the rules in effect on the renewal day."""
    percent, _ = _line_discount(discounts, base_percent=discount_percent, plan_code=plan.code)
    total = line_amount_cents(
        quantity=licenses, unit_price_cents=yearly_unit_cents(plan.price_per_user_month_cents),
        days=1, term_days=1, discount_percent=percent,
    )
    for price in addons:
        percent, _ = _line_discount(discounts, base_percent=discount_percent, addon_code=price.code)
        total += line_amount_cents(
            quantity=licenses, unit_price_cents=price.unit_cents, days=1, term_days=1,
            discount_percent=percent,
        )
    return total


def order_lines(lines, *, order=None) -> list:
    """The order's snapshot of priced lines (``OrderLine`` rows, not saved), in their order."""
    return [
        OrderLine(
            order=order, description=line.description, plan_code=line.plan_code,
            addon_code=line.addon_code, quantity=line.quantity,
            unit_price_cents=line.unit_price_cents, days=line.days, term_days=line.term_days,
            discount_percent=line.discount_percent, discount_label=line.discount_label,
            amount_cents=line.amount_cents, sort_order=i,
        )
        for i, line in enumerate(lines)
    ]


# --- tax (the rule of which rate applies: billing/tax.py) ----------------------------------------


def tax_amount_cents(*, taxable_cents: int, percent) -> int:
    """A tax line's amount: the taxable lines' sum (each line already rounded) x percent,
    rounded once, half up (away from zero for a credit note's negative sum)."""
    exact = Decimal(taxable_cents) * Decimal(percent) / HUNDRED
    return int(exact.quantize(ONE_CENT, rounding=ROUND_HALF_UP))


def tax_included_cents(*, gross_cents: int, percent) -> int:
    """The tax inside an amount that includes it (a credit of "$100 back"): gross - net, where
    net = gross / (1 + percent/100) rounded once; so net + tax == gross to the cent."""
    net = (Decimal(gross_cents) * HUNDRED / (HUNDRED + Decimal(percent))).quantize(
        ONE_CENT, rounding=ROUND_HALF_UP)
    return gross_cents - int(net)
