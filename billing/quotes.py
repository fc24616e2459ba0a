"""Quote requests: a customer Admin asks ("Get a quote"), staff price it, the customer (or staff
on their word) accepts, and staff turn the accepted quote into what it sells:

- a plan, ActivConnect or Data History: an order (kind quote, one per quote) with the quoted
  price on its lines, co-termed to the current term, the change applied to the subscription, and
  its invoice (open, net 30);
- a nonprofit discount: the account's discount;
- Premier or Signature support: the ``quote_accepted`` hook, which the support app answers by
  activating the support plan.
"""

from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from accounts.services import ServiceError, audit_record
from billing import notices, pricing, profiles, renewals, subscriptions
from billing.discounts import discount_rules_for
from billing.hooks import quote_accepted
from billing.invoices import series_next_number
from billing.models import (
    AddOn,
    LicenseEvent,
    Order,
    OrderKind,
    OrderLine,
    OrderState,
    Quote,
    QuoteState,
    QuoteTopic,
    Subscription,
)
from billing.services import subscription_snapshot
from billing.subscriptions import license_ledger_record
from billing.terms import QUOTE_SERIES, QUOTE_VALID_DAYS, TERM

ADDON_TOPICS = {QuoteTopic.ACTIVCONNECT: "activconnect", QuoteTopic.DATA_HISTORY: "data_history"}
SUPPORT_TOPICS = {QuoteTopic.PREMIER, QuoteTopic.SIGNATURE}
ORDER_TOPICS = {QuoteTopic.PLAN, *ADDON_TOPICS}


def _quote_snapshot(quote):
    return {
        "topic": quote.topic, "state": quote.state,
        "plan": quote.plan.code if quote.plan_id else None, "licenses": quote.licenses,
        "quoted_price_cents": quote.quoted_price_cents,
        "quoted_discount_percent": (
            str(quote.quoted_discount_percent) if quote.quoted_discount_percent is not None else None
        ),
    }


def _locked(quote):
    return Quote.objects.select_for_update(of=("self",)).select_related("account", "plan").get(pk=quote.pk)


def _audit(quote, actor, kind, summary, before=None):
    audit_record(
        account=quote.account, actor=actor, kind=kind, summary=summary,
        before=before or {}, after=_quote_snapshot(quote) | {"quote": quote.pk},
    )


def quote_request(*, account, topic, message, actor):
    """A customer Admin's "Get a quote". Staff see it in the admin's quote queue."""
    if topic not in QuoteTopic.values:
        raise ServiceError("Choose what you would like a quote for.")
    with transaction.atomic():
        quote = Quote.objects.create(
            account=account, topic=topic, message=message.strip(), requested_by=actor.user,
        )
        _audit(quote, actor, "quote.requested", f"Quote requested: {quote.get_topic_display()}")
    return quote


def quote_terms_problem(*, quote, price_cents, discount_percent, plan, licenses):
    """Why staff's terms for this quote cannot stand, or None. The admin's form shows the same."""
    if discount_percent is not None and not Decimal(0) <= discount_percent <= Decimal(100):
        return "A discount is between 0 and 100 percent."
    if quote.topic == QuoteTopic.NONPROFIT:
        if not discount_percent:
            return "A nonprofit quote needs the discount percentage."
        return None
    if price_cents is None or price_cents < 0:
        return "Fill in the quoted price (in cents)."
    if quote.topic == QuoteTopic.PLAN:
        if plan is None or not plan.is_paid:
            return "A plan quote needs a paid plan."
        current = Subscription.objects.select_related("plan").get(account_id=quote.account_id).plan
        if plan.is_legacy and plan.pk != current.pk:
            return f"{plan.name} is a legacy plan and can no longer be sold."
        if licenses is None or licenses < plan.min_licenses:
            return f"{plan.name} needs at least {plan.min_licenses} licenses."
    return None


def quote_set_terms(*, quote, actor, price_cents=None, discount_percent=None, plan=None,
                    licenses=None):
    """Staff's answer: the price (per user per year for plans and add-ons, for the year for
    support), an optional discount, and for a plan quote the plan and licenses. The quote becomes
    "quoted" and the account's Admins are told."""
    with transaction.atomic():
        quote = _locked(quote)
        if quote.state not in (QuoteState.REQUESTED, QuoteState.QUOTED):
            raise ServiceError(f"This quote is {quote.get_state_display().lower()}; its terms are final.")
        before = _quote_snapshot(quote)
        if discount_percent is not None:
            discount_percent = Decimal(str(discount_percent))
        problem = quote_terms_problem(
            quote=quote, price_cents=price_cents, discount_percent=discount_percent, plan=plan,
            licenses=licenses,
        )
        if problem:
            raise ServiceError(problem)
        quote.plan = plan if quote.topic == QuoteTopic.PLAN else None
        quote.licenses = licenses if quote.topic == QuoteTopic.PLAN else None
        quote.quoted_price_cents = price_cents if quote.topic != QuoteTopic.NONPROFIT else None
        quote.quoted_discount_percent = discount_percent
        quote.state = QuoteState.QUOTED
        quote.handled_by = actor.user
        if quote.number is None:
            quote.number = series_next_number(QUOTE_SERIES)[1]
        # Valid 30 days from the day it is priced (again): the customer reads the date.
        quote.expires_on = timezone.localdate() + timedelta(days=QUOTE_VALID_DAYS)
        quote.save()
        _audit(quote, actor, "quote.quoted", f"Quote {quote.pk} priced", before=before)
        notices.email_after_commit(
            recipients=notices.admin_emails(account=quote.account),
            subject=f"Your quote for {quote.get_topic_display()} is ready",
            template="billing/emails/quote_ready.txt", context={"quote": quote},
        )
    return quote


def quote_terms_seen(quote: Quote) -> str:
    """The terms as the quote's page shows them (price, discount, plan, licenses): the page
    carries them back so that accepting binds the customer to what they read."""
    discount = "" if quote.quoted_discount_percent is None else f"{Decimal(quote.quoted_discount_percent):.2f}"
    price = "" if quote.quoted_price_cents is None else str(quote.quoted_price_cents)
    return f"{price}|{discount}|{quote.plan_id or ''}|{quote.licenses or ''}"


def quote_accept(*, quote, actor, terms_seen: str | None = None):
    """The customer accepts the quoted terms (on the quote's page, or staff on their word).

    ``terms_seen`` (``quote_terms_seen`` of the page) refuses terms staff changed since."""
    with transaction.atomic():
        quote = _locked(quote)
        if quote.state != QuoteState.QUOTED:
            raise ServiceError("Only a quote with a price can be accepted.")
        if quote.is_expired():
            raise ServiceError(
                f"Quote {quote.display_number} expired on {quote.expires_on:%-d %B %Y}: ask us to "
                "renew it (reply to its email, or request a new quote)."
            )
        if terms_seen is not None and terms_seen != quote_terms_seen(quote):
            raise ServiceError(
                "Our team changed this quote since you saw it: read the new terms and accept "
                "again if they suit you."
            )
        before = _quote_snapshot(quote)
        quote.state = QuoteState.ACCEPTED
        quote.save(update_fields=["state", "updated_at"])
        _audit(quote, actor, "quote.accepted", f"Quote {quote.pk} accepted", before=before)
    return quote


# What a customer's acceptance sets up by itself: the order and its invoice (a plan, an add-on)
# or the discount. Premier and Signature wait for staff, who assign the success manager.
SELF_SERVE_TOPICS = {QuoteTopic.PLAN, *ADDON_TOPICS, QuoteTopic.NONPROFIT}


def quote_accept_by_customer(*, quote, actor, terms_seen):
    """The customer's "Accept this quote": accepted on the terms they read, then, for what needs
    no staff work, fulfilled at once (the order and its invoice). Returns (quote, order or None,
    why it waits for staff or ""). A fulfilment refused (say, the subscription changed since it
    was quoted) leaves the quote accepted for staff, and says so."""
    quote = quote_accept(quote=quote, actor=actor, terms_seen=terms_seen)
    if quote.topic not in SELF_SERVE_TOPICS:
        return quote, None, ""
    try:
        order = quote_fulfil(quote=quote, actor=actor)
    except ServiceError as error:
        return Quote.objects.get(pk=quote.pk), None, str(error)
    return Quote.objects.get(pk=quote.pk), order, ""


def quote_decline(*, quote, actor):
    with transaction.atomic():
        quote = _locked(quote)
        if quote.state not in (QuoteState.REQUESTED, QuoteState.QUOTED, QuoteState.ACCEPTED):
            raise ServiceError(f"This quote is {quote.get_state_display().lower()} already.")
        before = _quote_snapshot(quote)
        quote.state = QuoteState.DECLINED
        quote.save(update_fields=["state", "updated_at"])
        _audit(quote, actor, "quote.declined", f"Quote {quote.pk} declined", before=before)
    return quote


def quote_fulfil(*, quote, actor, today=None):
    """Staff turn an accepted quote into what it sells (see the module's docstring). Once only:
    the quote ends "fulfilled", and its order is one per quote by the database."""
    today = today or timezone.localdate()
    with transaction.atomic():
        quote = _locked(quote)
        if quote.state != QuoteState.ACCEPTED:
            raise ServiceError(
                f"Only an accepted quote can be fulfilled (this one is {quote.get_state_display().lower()})."
            )
        before = _quote_snapshot(quote)
        order = None
        if quote.topic in ORDER_TOPICS:
            order = _quote_order_fulfil(quote=quote, actor=actor, today=today)
        elif quote.topic == QuoteTopic.NONPROFIT:
            profiles.billing_profile_set_discount(
                account=quote.account, percent=quote.quoted_discount_percent,
                reason=f"nonprofit (quote {quote.pk})", actor=actor,
            )
        else:
            subscription = Subscription.objects.select_related("plan").get(account=quote.account)
            if subscription.is_trial or not subscription.plan.is_paid:
                raise ServiceError(
                    f"{quote.get_topic_display()} needs a paid plan: the account has none yet."
                )
            order = _support_quote_order(quote=quote, actor=actor, today=today)
            quote_accepted.send(sender=Quote, account=quote.account, quote=quote, actor=actor)
        quote.state = QuoteState.FULFILLED
        if actor.user is not None and actor.user.is_staff:
            quote.handled_by = actor.user  # a customer's self-served acceptance keeps staff's name
        quote.save(update_fields=["state", "handled_by", "updated_at"])
        _audit(
            quote, actor, "quote.fulfilled",
            f"Quote {quote.pk} fulfilled" + (f": order {order.pk}" if order else ""), before=before,
        )
    return order


def _quote_order_fulfil(*, quote, actor, today):
    subscription = (
        Subscription.objects.select_for_update().select_related("plan", "account")
        .get(account=quote.account)
    )
    before = subscription_snapshot(subscription)
    discount, rules = _quote_discounts(quote, today=today)
    term = pricing.term_for(subscription, today=today)
    reference = f"quote {quote.pk}"

    if quote.topic == QuoteTopic.PLAN:
        plan, licenses = quote.plan, quote.licenses
        if not term.new and (plan.rank < subscription.plan.rank or licenses < subscription.licenses):
            raise ServiceError(
                "Fewer licenses and lower plans take effect at the renewal: the customer schedules "
                "them on the Billing page."
            )
        # The quoted price covers every license; existing per-user add-ons grow with them.
        change = pricing.Change(
            plan=plan, licenses=licenses, plan_unit_cents=quote.quoted_price_cents,
            keep_addons=tuple(pricing.subscription_addon_prices(subscription)), reference=reference,
        )
        lines = pricing.price_lines(subscription=subscription, change=change, term=term,
                                    discount_percent=discount, discounts=rules)
        subscriptions.subscription_apply_quote(
            subscription=subscription, plan=plan, licenses=licenses,
            new_term=(term.start, term.end) if term.new else None,
        )
    else:
        addon = AddOn.objects.get(code=ADDON_TOPICS[quote.topic])
        if term.new:
            raise ServiceError(f"{addon.name} needs a paid plan: the account has none yet.")
        if subscription.addons.filter(addon=addon).exists():
            raise ServiceError(f"The account already has {addon.name}.")
        change = pricing.Change(
            plan=subscription.plan, licenses=subscription.licenses, reference=reference,
            new_addons=(pricing.addon_price(addon, quoted_unit_cents=quote.quoted_price_cents),),
        )
        lines = pricing.price_lines(subscription=subscription, change=change, term=term,
                                    discount_percent=discount, discounts=rules)
        subscriptions.subscription_apply_quote(subscription=subscription, addon=addon,
                                               addon_unit_price_cents=quote.quoted_price_cents)
    lines = pricing.order_lines(lines)
    order = _order_from_quote(quote=quote, lines=lines, actor=actor)
    subscription.refresh_from_db()
    audit_record(
        account=quote.account, actor=actor, kind="subscription.changed_by_quote",
        summary=f"{quote.get_topic_display()} from quote {quote.pk}",
        before=before, after=subscription_snapshot(subscription)
        | {"addons": sorted(subscription.addons.values_list("addon__code", flat=True))},
    )
    license_ledger_record(subscription=subscription, event=LicenseEvent.QUOTE, actor=actor, order=order)
    renewals.invoice_issue(order=order, actor=actor)
    subscriptions.notify_subscription_changed(subscription, actor)
    return order


def _quote_discount(quote):
    """The discount of a line sold for the term (support): the quote's own, else the account's."""
    if quote.quoted_discount_percent is not None:
        return quote.quoted_discount_percent
    return profiles.discount_percent_for(account=quote.account)


def _quote_discounts(quote, *, today):
    """(percent, rules) a quote's lines are priced with: the quote's own discount replaces the
    account's; without one, every discount of the account in effect today applies."""
    if quote.quoted_discount_percent is not None:
        return quote.quoted_discount_percent, ()
    return 0, discount_rules_for(account=quote.account_id, day=today)


def _order_from_quote(*, quote, lines, actor):
    """The order of a quote (one per quote, by the database) with its snapshotted lines."""
    order = Order.objects.create(
        account=quote.account, kind=OrderKind.QUOTE, state=OrderState.INVOICED, quote=quote,
        total_cents=sum(x.amount_cents for x in lines), created_by=actor.user,
    )
    for x in lines:
        x.order = order
    OrderLine.objects.bulk_create(lines)
    audit_record(
        account=quote.account, actor=actor, kind="order.created",
        summary=f"Order {order.pk} from quote {quote.pk}: {order.total_cents} cents",
        after={"order": order.pk, "quote": quote.pk, "total_cents": order.total_cents},
    )
    return order


def _support_quote_order(*, quote, actor, today):
    """Premier or Signature is sold for 12 months at the quoted price: an order of one line and
    its invoice (open, net 30), beside the activation the quote_accepted hook makes."""
    if quote.quoted_price_cents is None:
        raise ServiceError("This quote has no price yet: set its terms before fulfilling it.")
    line = pricing.service_line(
        description=f"{quote.get_topic_display()}, 12 months from {today:%d %b %Y} (quote {quote.pk})",
        unit_cents=quote.quoted_price_cents, term=pricing.renewal_term(start=today, end=today + TERM),
        discount_percent=_quote_discount(quote),
    )
    [line] = pricing.order_lines([line])
    order = _order_from_quote(quote=quote, lines=[line], actor=actor)
    renewals.invoice_issue(order=order, actor=actor)
    return order


def addon_grant_by_staff(*, account, addon_code, price_cents, actor, reason):
    """Staff grant ActivConnect or Data History on a sales-assisted deal. It goes the way of a
    quote (requested, priced, accepted, fulfilled), so it is co-termed, ordered and invoiced
    exactly as a customer's accepted quote is. ``price_cents``: per user per year."""
    topics = {"activconnect": QuoteTopic.ACTIVCONNECT, "data_history": QuoteTopic.DATA_HISTORY}
    if addon_code not in topics:
        raise ServiceError("Staff grant ActivConnect or Data History; Screen Details is sold in the cart.")
    if not (reason or "").strip():
        raise ServiceError("Say why (the deal or the quote it comes from).")
    with transaction.atomic():
        quote = quote_request(account=account, topic=topics[addon_code], message=reason, actor=actor)
        quote = quote_set_terms(quote=quote, actor=actor, price_cents=price_cents)
        quote = quote_accept(quote=quote, actor=actor)
        return quote_fulfil(quote=quote, actor=actor)
