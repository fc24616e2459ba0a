"""Helpers for the billing tests: orders as the checkout would leave them."""

from decimal import Decimal

from billing.models import OrderKind, OrderState
from tests.factories import OrderFactory, OrderLineFactory


def make_order(account, *, lines=((1, 22800, 365, 365),), state=OrderState.PAID, kind=OrderKind.CART,
               discount=Decimal(0), **fields):
    """An order with lines (quantity, unit cents/year, days, term days); totals from pricing."""
    order = OrderFactory(account=account, kind=kind, state=state, **fields)
    made = [
        OrderLineFactory(order=order, description=f"line {i}", quantity=quantity, unit_price_cents=unit,
                         days=days, term_days=term_days, discount_percent=discount, sort_order=i)
        for i, (quantity, unit, days, term_days) in enumerate(lines)
    ]
    order.total_cents = sum(line.amount_cents for line in made)
    order.save(update_fields=["total_cents"])
    return order
