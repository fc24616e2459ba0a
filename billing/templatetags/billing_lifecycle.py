"""The Billing page's lifecycle panel builds its own context from the subscription the page
read (``billing.selectors.billing_page``: with its scheduled change and two flags); given none,
it reads it (``billing.selectors.lifecycle_subscription``, one query). The plans it may move to
come from the cached catalogue."""

from django import template
from django.utils import timezone

from billing import changes, reactivation, selectors, terms
from billing.lifecycle_forms import ScheduleChangeForm

register = template.Library()


@register.simple_tag(takes_context=True)
def lifecycle_panel(context, subscription=None):
    """``subscription``: as ``billing.selectors.billing_page`` or ``lifecycle_subscription`` read
    it (with its annotations); empty (a template without one), it is read here."""
    if not subscription:
        subscription = selectors.lifecycle_subscription(account=context["request"].account)
    if subscription is None:
        return {}
    renewing = (
        subscription.state in terms.RENEWING_STATES and subscription.plan.is_paid
        and subscription.term_end is not None
    )
    panel = {"subscription": subscription, "renewing": renewing,
             "open_quotes": subscription.open_quotes or 0}
    if renewing:
        last_day = changes.cancellation_last_day(subscription=subscription)
        panel.update(
            change=getattr(subscription, "scheduled_change", None),
            renews_on=subscription.term_end,
            cancellation_last_day=last_day,
            can_cancel=timezone.localdate() <= last_day,
            past_due=subscription.past_due,
            form=ScheduleChangeForm(subscription=subscription, plans=selectors.catalogue_plans()),
        )
    elif not subscription.plan.is_paid:
        panel["reactivation"] = reactivation.reactivation_offer(subscription=subscription)
    return panel
