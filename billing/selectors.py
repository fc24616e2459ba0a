from billing.models import Plan, Subscription


def subscription_for(*, account):
    """The account's subscription with its plan, in one query."""
    return Subscription.objects.select_related("plan").filter(account=account).first()


def sold_plans():
    return Plan.objects.filter(is_sold=True).prefetch_related("eligible_addons")


def legacy_plans():
    return Plan.objects.filter(is_sold=False)
