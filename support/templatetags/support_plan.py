from django import template

from support.selectors import support_plan_current

register = template.Library()


@register.inclusion_tag("support/includes/plan_line.html")
def support_plan_line(account, subscription=None):
    """The account's support plan in one line, for pages of other apps (the Billing page): the
    support app's own rule decides, the billing app does not import it."""
    return {"support_plan": support_plan_current(account=account, subscription=subscription)}
