"""Helpers for the billing tests: orders as the checkout would leave them."""

from decimal import Decimal

from billing.models import Order, OrderKind, OrderLine, OrderState


def make_order(account, *, lines=((1, 22800, 365, 365),), state=OrderState.PAID, kind=OrderKind.CART,
               discount=Decimal(0), **fields):
    """An order with lines (quantity, unit cents/year, days, term days); totals from pricing."""
    from billing.pricing import line_amount_cents

    order = Order.objects.create(account=account, kind=kind, state=state, **fields)
    total = 0
    for i, (quantity, unit, days, term_days) in enumerate(lines):
        amount = line_amount_cents(
            quantity=quantity, unit_price_cents=unit, days=days, term_days=term_days,
            discount_percent=discount,
        )
        OrderLine.objects.create(
            order=order, description=f"line {i}", quantity=quantity, unit_price_cents=unit,
            days=days, term_days=term_days, discount_percent=discount, amount_cents=amount,
            sort_order=i,
        )
        total += amount
    order.total_cents = total
    order.save(update_fields=["total_cents"])
    return order
