from billing.models import Cart, Invoice, InvoiceState, Order, OrderState, Plan, Subscription


def subscription_for(*, account):
    """The account's subscription with its plan, in one query."""
    return Subscription.objects.select_related("plan").filter(account=account).first()


def sold_plans():
    return Plan.objects.filter(is_sold=True).prefetch_related("eligible_addons")


def legacy_plans():
    return Plan.objects.filter(is_sold=False)


def open_cart(*, account):
    """The account's cart not yet paid (none, or its last attempt declined), if any."""
    return (
        Cart.objects.filter(account=account)
        .exclude(order__state__in=[OrderState.PAID, OrderState.INVOICED, OrderState.PENDING])
        .select_related("plan").order_by("-created_at").first()
    )


def invoices_for(*, account):
    return Invoice.objects.filter(account=account).select_related("series").order_by("-issued_at", "-pk")


def orders_for(*, account):
    return Order.objects.filter(account=account).order_by("-created_at", "-pk")


def subscription_addons(*, subscription):
    """The subscription's add-ons (AddOn rows), each with ``quoted_unit_cents``: the price per
    user per year it was sold at on a quote, or None for list-priced ones (the cart's and the
    renewal's prices both read it through ``billing.pricing.addon_yearly_unit_cents``)."""
    addons = []
    for row in subscription.addons.select_related("addon"):
        row.addon.quoted_unit_cents = row.unit_price_cents
        addons.append(row.addon)
    return addons


def has_past_due_invoice(*, account):
    return Invoice.objects.filter(account=account, state=InvoiceState.PAST_DUE).exists()
