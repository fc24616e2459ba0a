"""The Billing page's lifecycle panel builds its own context, so the page that includes
``billing/_lifecycle.html`` needs to pass nothing but the request."""

from django import template
from django.utils import timezone

from billing import lifecycle
from billing.lifecycle_forms import ScheduleChangeForm
from billing.models import Invoice, InvoiceState, Quote, ScheduledChange, Subscription

register = template.Library()


@register.simple_tag(takes_context=True)
def lifecycle_panel(context):
    request = context["request"]
    account = request.account
    subscription = Subscription.objects.select_related("plan").filter(account=account).first()
    if subscription is None:
        return {}
    renewing = (
        subscription.state in lifecycle.RENEWING_STATES and subscription.plan.is_paid
        and subscription.term_end is not None
    )
    panel = {
        "subscription": subscription,
        "renewing": renewing,
        "open_quotes": Quote.objects.filter(account=account).exclude(
            state__in=["fulfilled", "declined"]
        ).count(),
    }
    if renewing:
        last_day = lifecycle.cancellation_last_day(subscription=subscription)
        panel.update(
            change=ScheduledChange.objects.select_related("plan")
            .filter(subscription=subscription).first(),
            renews_on=subscription.term_end,
            cancellation_last_day=last_day,
            can_cancel=timezone.localdate() <= last_day,
            past_due=Invoice.objects.filter(account=account, state=InvoiceState.PAST_DUE).exists(),
            form=ScheduleChangeForm(subscription=subscription),
        )
    return panel
