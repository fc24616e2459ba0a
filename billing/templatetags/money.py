from decimal import Decimal

from django import template

register = template.Library()


@register.filter
def cents(value):
    """Integer cents as dollars: 190000 -> "$1,900.00"; None -> "" (priced on a quote)."""
    if value is None or value == "":
        return ""
    amount = Decimal(int(value)) / 100
    sign = "-" if amount < 0 else ""
    return f"{sign}${abs(amount):,.2f}"


@register.filter
def whole_cents(value):
    """Like ``cents`` but drops ".00" on whole amounts, for list prices: 1900 -> "$19"."""
    text = cents(value)
    return text[:-3] if text.endswith(".00") else text


@register.filter
def negate(value):
    """-value (an amount taken off a total: "Account credit applied -$50.00")."""
    return -int(value or 0)
