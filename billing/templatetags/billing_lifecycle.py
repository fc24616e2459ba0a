"""The Billing page's lifecycle panel builds its own context, so the page that includes
``billing/_lifecycle.html`` needs to pass nothing but the request. Two queries: the
subscription with its scheduled change and two flags, and the plans it may move to."""

from django import template
from django.db.models import Count, Exists, OuterRef, Q, Subquery
from django.utils import timezone

from billing import changes, reactivation, terms
from billing.lifecycle_forms import ScheduleChangeForm
from billing.models import Invoice, InvoiceState, Quote, QuoteState, Subscription

register = template.Library()


@register.simple_tag(takes_context=True)
def lifecycle_panel(context):
    request = context["request"]
    open_quotes = (
        Quote.objects.filter(account=OuterRef("account"))
        .exclude(state__in=[QuoteState.FULFILLED, QuoteState.DECLINED])
        .order_by().values("account").annotate(n=Count("pk")).values("n")
    )
    subscription = (
        Subscription.objects.select_related("plan", "scheduled_change__plan",
                                            "scheduled_change__requested_by")
        .annotate(
            past_due=Exists(Invoice.objects.filter(
                Q(account=OuterRef("account")), state=InvoiceState.PAST_DUE
            )),
            open_quotes=Subquery(open_quotes),
        )
        .filter(account=request.account).first()
    )
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
            form=ScheduleChangeForm(subscription=subscription),
        )
    elif not subscription.plan.is_paid:
        panel["reactivation"] = reactivation.reactivation_offer(subscription=subscription)
    return panel
