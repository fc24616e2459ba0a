"""The cart and its checkout: what an Admin buys in the app, priced, then paid exactly once.

The cart sells a plan upgrade, extra licenses and Screen Details (PRODUCT.md, "Billing and the
cart"). Every rule of what may be bought lives in ``cart_quote``; the checkout calls it again at
the moment of paying, so a rule or a price that changed since the page was shown is applied.
"""

import hashlib
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.services import ServiceError, audit_record
from billing import credits, discounts, payments, pricing, selectors
from billing.models import (
    AddOn,
    BillingProfile,
    Cart,
    Order,
    OrderKind,
    OrderLine,
    OrderState,
    Payment,
    PaymentState,
    Plan,
    SalesChannel,
    Subscription,
)
from billing.selectors import has_past_due_invoice
from billing.services import plan_for_purchase
from billing.tax import TAX_FIELDS, TaxRule, tax_rule_for
from billing.templatetags.money import cents as format_cents

SCREEN_DETAILS = "screen_details"
BILLING_PAGE = "/billing/"
QUOTE_PAGE = "/billing/quotes/new/"


class PaymentMethod:
    CARD = "card"
    INVOICE = "invoice"


@dataclass
class CartQuote:
    """The cart priced against the subscription as it is now: what the page shows, what the
    order snapshots."""

    plan: Plan
    licenses: int
    addons: list  # every add-on after the purchase (existing and new)
    new_addons: list
    lines: list
    discount_percent: Decimal
    starts_new_term: bool
    term_start: object
    term_end: object
    days: int
    term_days: int
    yearly_price_cents: int
    coupon: object = None
    renewal_discount_names: tuple = ()  # the discounts the new yearly price has, by name
    tax: TaxRule = field(default_factory=TaxRule)
    credit_available_cents: int = 0  # the account's credit balance (billing.credits)
    subtotal_cents: int = field(init=False)
    tax_cents: int = field(init=False)
    credit_applied_cents: int = field(init=False)
    total_cents: int = field(init=False)

    def __post_init__(self):
        # The lines (each rounded once), one tax line on their sum (rounded once), then the
        # account's credit, consumed first, up to what is due (issue 14).
        self.subtotal_cents = sum(line.amount_cents for line in self.lines)
        self.tax_cents = self.tax.amount_cents(self.subtotal_cents)
        due = self.subtotal_cents + self.tax_cents
        self.credit_applied_cents = max(0, min(self.credit_available_cents, due))
        self.total_cents = due - self.credit_applied_cents

    @property
    def is_upgrade(self):
        return any(line.is_upgrade for line in self.lines)

    @property
    def discount_names(self):
        """Every discount the lines carry, by name, once each (the page's summary)."""
        names = []
        for line in self.lines:
            for name in filter(None, line.discount_label.split(", ")):
                if name not in names:
                    names.append(name)
        return names


def cart_fingerprint(quote):
    """What the Admin confirms: every priced line, the plan and the licenses after, the total.
    The checkout page carries it; a cart whose lines changed since (in a second tab, or by a
    second Admin), even to the same total, is refused (issue 10)."""
    parts = [quote.plan.code, str(quote.licenses), str(quote.total_cents), quote.tax.fingerprint(),
             str(quote.tax_cents), str(quote.credit_applied_cents)]
    parts += [
        "|".join(map(str, (line.description, line.quantity, line.unit_price_cents, line.days,
                           line.term_days, f"{Decimal(line.discount_percent):.2f}", line.discount_label,
                           line.amount_cents)))
        for line in quote.lines
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def payment_in_doubt(*, cart):
    """The cart's last card payment whose money may still move (pending, outcome unknown, waiting
    for 3-D Secure) or that staff must review, if no later attempt settled it. While there is one the cart is frozen: it cannot change, be paid
    by invoice, or be paid for another amount; repeating the payment asks the gateway with the
    same key for the same amount, which returns the first charge if it was made."""
    order = Order.objects.filter(cart=cart).first()
    if order is None or order.state in (OrderState.PAID, OrderState.INVOICED):
        return None
    last = order.payments.order_by("-pk").first()
    frozen = (PaymentState.PENDING, PaymentState.UNKNOWN, PaymentState.REQUIRES_ACTION, PaymentState.REVIEW)
    if last is not None and last.state == PaymentState.REVIEW and last.refunded_cents >= (last.charged_cents or 0):
        return None  # staff refunded the charge of another amount: the cart is free again
    return last if last is not None and last.state in frozen else None


FROZEN = (
    "A card payment of {amount} for this cart is still being confirmed with the payment service "
    "(its answer was lost). Until it is settled the cart cannot change and cannot be paid another "
    "way: pay again with the same card to confirm it (you will not be charged twice)."
)


def invoice_eligible(*, account):
    return BillingProfile.objects.filter(account=account, invoice_eligible=True).exists()


starts_new_term = pricing.starts_new_term  # the one predicate (billing.pricing)


def cart_discounts(*, subscription, today=None, profile=discounts._UNSET):
    """(rules today, rules on the renewal day) of the account: what the cart prices with and
    what the new yearly price will have (a discount that ends before the renewal does not)."""
    today = today or timezone.localdate()
    term = pricing.term_for(subscription, today=today)
    rules, renewal_rules = discounts.discount_rules_on(account=subscription.account_id,
                                                       days=[today, term.end], profile=profile)
    return rules, renewal_rules


def cart_quote(*, subscription, plan, licenses, screen_details, discount_percent, today=None,
               current_addons=None, screen_details_addon=None, rules=(), renewal_rules=None,
               coupon=None, tax=None, credit_cents=0):
    """Checks every rule of the cart and prices it (``billing.pricing.price_lines``), or raises
    ServiceError saying why not. ``tax``: the account's ``billing.tax.TaxRule`` (none: no tax
    line); ``credit_cents``: its account credit balance, consumed first.

    ``plan``/``licenses`` None keep the current ones. ``current_addons``: the subscription's
    add-ons at their prices (``billing.pricing.AddOnPrice``), passed in when already loaded.
    ``discount_percent`` is added to every line; ``rules`` (``cart_discounts``) are the account's
    named discounts, ``renewal_rules`` those of the renewal day (for the new yearly price);
    ``coupon``: the coupon entered, checked again here.
    """
    today = today or timezone.localdate()
    current = subscription.plan
    if current_addons is None:
        current_addons = selectors.subscription_addons(subscription=subscription)
    if screen_details_addon is None and screen_details:
        screen_details_addon = AddOn.objects.get(code=SCREEN_DETAILS)
    discount = Decimal(discount_percent)
    term = pricing.term_for(subscription, today=today)

    if term.new:
        target = plan or (current if current.is_paid else None)
        if target is None or not target.is_paid:
            if screen_details:
                raise ServiceError("Add-ons are only sold on paid plans: choose a paid plan too.")
            raise ServiceError("Choose a paid plan to buy: Free has no licenses to buy.")
        target = plan_for_purchase(plan_code=target.code, licenses=licenses)
        target_licenses = licenses
        # A new term bills exactly what the cart holds: add-ons a trial had to try end with it.
        keep_addons = []
    else:
        target = plan or current
        target_licenses = subscription.licenses if licenses is None else licenses
        if target.pk != current.pk:
            if target.rank < current.rank:
                raise ServiceError(
                    f"Moving from {current.name} to {target.name} is a downgrade: it takes effect "
                    f"at your renewal. Schedule it on the Billing page ({BILLING_PAGE})."
                )
            if not target.is_paid:
                raise ServiceError(
                    f"A move to Free takes effect at your renewal. Schedule it on the Billing page "
                    f"({BILLING_PAGE})."
                )
            target = plan_for_purchase(plan_code=target.code, licenses=target_licenses)
        if target_licenses < subscription.licenses:
            raise ServiceError(
                f"Fewer licenses ({target_licenses} instead of {subscription.licenses}) take effect "
                f"at your renewal. Schedule it on the Billing page ({BILLING_PAGE})."
            )
        if target_licenses < target.min_licenses:
            raise ServiceError(
                f"{target.name} needs at least {target.min_licenses} licenses (asked for {target_licenses})."
            )
        if term.days <= 0:
            raise ServiceError(
                "Your term has reached its anniversary and is being renewed: try again tomorrow."
            )
        keep_addons = list(current_addons)

    new_addons = []
    if screen_details and not any(a.code == SCREEN_DETAILS for a in keep_addons):
        if not target.is_paid:
            raise ServiceError("Add-ons are only sold on paid plans.")
        addon = screen_details_addon
        if target.pk not in {p.pk for p in addon.eligible_plans.all()}:
            raise ServiceError(f"{addon.name} is not available on {target.name}.")
        if addon.price_per_user_month_cents is None:
            raise ServiceError(f"{addon.name} is priced on a quote: ask us ({QUOTE_PAGE}).")
        new_addons.append(pricing.addon_price(addon))

    all_addons = keep_addons + new_addons
    if coupon is not None:
        problem = discounts.coupon_problem(coupon, account=subscription.account_id, plan_code=target.code,
                                           addon_codes=[a.code for a in all_addons])
        if problem:
            raise ServiceError(f"Coupon {coupon.code}: {problem}")
    coupon_rules = discounts.coupon_rules(coupon)
    lines = pricing.price_lines(
        subscription=subscription, term=term, discount_percent=discount,
        discounts=tuple(rules) + coupon_rules,
        change=pricing.Change(plan=target, licenses=target_licenses, keep_addons=tuple(keep_addons),
                              new_addons=tuple(new_addons)),
    )
    if not lines:
        raise ServiceError(
            "Your cart is empty: add licenses, choose a higher plan or add Screen Details."
        )
    if coupon is not None and coupon.amount_off_cents:
        off = pricing.amount_off_line(name=f"Coupon {coupon.code} ({coupon.name})",
                                      amount_off_cents=coupon.amount_off_cents, lines=lines, term=term)
        lines += [off] if off else []
    if renewal_rules is None:
        renewal_rules = rules
    if coupon is not None and coupon.percent is not None and coupon.duration_terms > 1:
        renewal_rules = tuple(renewal_rules) + coupon_rules
    return CartQuote(
        plan=target, licenses=target_licenses, addons=all_addons, new_addons=new_addons,
        lines=lines, discount_percent=discount, starts_new_term=term.new,
        term_start=term.start, term_end=term.end, days=term.days, term_days=term.term_days,
        yearly_price_cents=pricing.yearly_price_cents(
            plan=target, licenses=target_licenses, addons=all_addons, discount_percent=discount,
            discounts=tuple(renewal_rules),
        ),
        coupon=coupon,
        renewal_discount_names=tuple(f"{rule.name} {Decimal(rule.percent).normalize():f}% discount"
                                     for rule in renewal_rules),
        tax=tax or TaxRule(), credit_available_cents=credit_cents,
    )


def cart_quote_for(*, cart, subscription=None, today=None):
    """Prices a saved cart for its account (the page and the checkout)."""
    subscription = subscription or Subscription.objects.select_related("plan").get(account_id=cart.account_id)
    rules, renewal_rules = cart_discounts(subscription=subscription, today=today)
    return cart_quote(
        subscription=subscription, plan=cart.plan, licenses=cart.licenses,
        screen_details=cart.screen_details, discount_percent=0, today=today, rules=rules,
        renewal_rules=renewal_rules, coupon=cart.coupon, tax=tax_rule_for(account=cart.account_id),
        credit_cents=credits.credit_balance_cents(account=cart.account_id),
    )


def cart_open(*, account, actor):
    """The account's open cart (no paid order yet), made on first use. Admins share it."""
    cart = selectors.open_cart(account=account)
    if cart is None:
        try:
            with transaction.atomic():
                cart = Cart.objects.create(account=account, created_by=actor.user)
        except IntegrityError:
            # Another click made it first (one open cart per account, by the database): use it.
            cart = selectors.open_cart(account=account)
    return cart


def cart_update(*, cart, plan_code, licenses, addon_codes, actor, coupon_code=None):
    """Saves what the Admin put in the cart, after checking it against every rule. A coupon
    code is checked with it (``None`` keeps the coupon already entered, "" removes it)."""
    addons = {a.code: a for a in AddOn.objects.filter(code__in=addon_codes)}
    for code in addon_codes:
        addon = addons.get(code)
        if addon is None:
            raise ServiceError(f"Unknown add-on {code!r}.")
        if addon.sales_channel == SalesChannel.STAFF:
            raise ServiceError(
                f"{addon.name} is sold by our staff: contact us for a quote ({QUOTE_PAGE})."
            )
    plan = None
    if plan_code:
        plan = Plan.objects.filter(code=plan_code).first()
        if plan is None:
            raise ServiceError(f"Unknown plan {plan_code!r}.")
    with transaction.atomic():
        cart = Cart.objects.select_for_update().get(pk=cart.pk)
        doubt = payment_in_doubt(cart=cart)
        if doubt is not None:
            raise ServiceError(FROZEN.format(amount=format_cents(doubt.amount_cents)))
        if hasattr(cart, "order") and cart.order.state in (OrderState.PAID, OrderState.INVOICED):
            raise ServiceError("This cart has already been paid.")
        subscription = Subscription.objects.select_related("plan").get(account_id=cart.account_id)
        if plan is not None and plan.pk == subscription.plan_id and not starts_new_term(subscription):
            plan = None
        coupon = cart.coupon
        if coupon_code is not None:
            coupon = discounts.coupon_find(coupon_code) if coupon_code.strip() else None
            if coupon_code.strip() and coupon is None:
                raise ServiceError(f"Coupon {coupon_code.strip().upper()}: this coupon code is not valid: "
                                   "check its spelling.")
        rules, renewal_rules = cart_discounts(subscription=subscription)
        cart_quote(
            subscription=subscription, plan=plan, licenses=licenses,
            screen_details=SCREEN_DETAILS in addon_codes, discount_percent=0, rules=rules,
            renewal_rules=renewal_rules, coupon=coupon,
        )
        cart.plan, cart.licenses, cart.coupon = plan, licenses, coupon
        cart.screen_details = SCREEN_DETAILS in addon_codes
        cart.save(update_fields=["plan", "licenses", "screen_details", "coupon", "updated_at"])
    return cart


@dataclass
class CheckoutResult:
    order: Order
    replayed: bool = False
    payment: Payment | None = None

    @property
    def succeeded(self):
        return self.order.state in (OrderState.PAID, OrderState.INVOICED)

    @property
    def needs_authentication(self):
        return self.payment is not None and self.payment.state == PaymentState.REQUIRES_ACTION

    @property
    def error(self):
        if self.succeeded:
            return ""
        if self.payment is not None and self.payment.is_open:
            return self.payment.message or FROZEN.format(amount=format_cents(self.payment.amount_cents))
        return self.order.failure_reason


def _order_snapshot(order):
    return {"order": order.pk, "state": order.state, "total_cents": order.total_cents}


def purchase_snapshot(quote):
    """What the order sets when paid (``Order.purchase``), from the quote the Admin confirmed."""
    return {
        "plan": quote.plan.code, "licenses": quote.licenses,
        "addons": sorted(addon.code for addon in quote.addons),
        "new_addons": sorted(addon.code for addon in quote.new_addons),
        "starts_new_term": quote.starts_new_term,
        "coupon": quote.coupon.code if quote.coupon is not None else "",
        "term_start": quote.term_start.isoformat(), "term_end": quote.term_end.isoformat(),
    }


def cart_checkout(*, account, cart_id, actor, idempotency_key, payment_method=PaymentMethod.CARD,
                  card="", use_card_on_file=False, expected_total_cents=None, expected_fingerprint=None):
    """Pays the cart: placed, then paid, then applied (billing.payments), never charged twice.

    ``card``: the card the customer entered (a confirmed SetupIntent id with Stripe, a test card
    number with the sandbox), saved as the card on file first; or ``use_card_on_file``.
    Transaction 1 (the cart row, then the subscription row, locked for milliseconds) checks every
    rule, places the order and commits a pending payment attempt; the gateway is called with no
    transaction open; transaction 2 books the outcome and, on success only, applies the purchase
    and issues the invoice. A replay (the same key, or the same cart once placed) returns the
    first order without charging again. While an attempt's outcome is unknown the cart is frozen:
    confirming again asks the gateway about that attempt instead of charging another.
    """
    idempotency_key = (idempotency_key or "").strip()[:64]
    if not idempotency_key:
        raise ServiceError("This form has expired: reload the cart and confirm again.")
    if not Cart.objects.filter(pk=cart_id, account=account).exists():
        raise ServiceError("This cart does not exist any more: reload the cart.")
    paying_by_card = payment_method == PaymentMethod.CARD
    replay = Order.objects.filter(account=account, idempotency_key=idempotency_key).first()
    if paying_by_card and card.strip() and not use_card_on_file and replay is None:
        # The card is saved at the processor before the order: its own short step, no lock held.
        payments.card_save(account=account, actor=actor, setup=card.strip())
        use_card_on_file = True
    with transaction.atomic():
        cart = Cart.objects.select_for_update().filter(pk=cart_id, account=account).first()
        if cart is None:
            raise ServiceError("This cart does not exist any more: reload the cart.")
        replay = (
            Order.objects.filter(account=account, idempotency_key=idempotency_key).first()
            or Order.objects.filter(cart=cart, state__in=[OrderState.PAID, OrderState.INVOICED]).first()
            # An attempt just made, on its way to the gateway (a double click, a second tab):
            # its page says what happens. An older one (its worker died) is retried below.
            or Order.objects.filter(cart=cart, state=OrderState.PENDING,
                                    payments__state=PaymentState.PENDING,
                                    payments__created_at__gt=timezone.now() - payments.reconcile_after()).first()
        )
        if replay is not None:
            return CheckoutResult(order=replay, replayed=True, payment=payments.open_payment(order=replay))

        subscription = (
            Subscription.objects.select_for_update(of=("self",)).select_related("plan")
            .get(account=account)
        )
        quote = cart_quote_for(cart=cart, subscription=subscription)
        if expected_total_cents is not None and int(expected_total_cents) != quote.total_cents:
            raise ServiceError(
                "The total changed since the cart was shown (prices, your discount or your "
                "subscription changed). Check the new total and confirm again."
            )
        fingerprint = cart_fingerprint(quote)
        if expected_fingerprint is not None and expected_fingerprint != fingerprint:
            raise ServiceError(
                "Your cart changed since you saw it (in another window, or by another Admin). "
                "Check what it holds now and confirm again."
            )
        doubt = payment_in_doubt(cart=cart)
        if doubt is not None and (
            not paying_by_card or quote.total_cents != doubt.amount_cents
            or doubt.state == PaymentState.REVIEW
        ):
            raise ServiceError(FROZEN.format(amount=format_cents(doubt.amount_cents)))
        if payment_method == PaymentMethod.INVOICE and not invoice_eligible(account=account):
            raise ServiceError(
                "Paying by invoice is for accounts our staff have approved: pay by card, or contact us."
            )
        if payment_method == PaymentMethod.INVOICE and has_past_due_invoice(account=account):
            raise ServiceError(
                "An invoice of this account is past due: pay it first (Billing page), then buy on "
                "invoice again, or pay this cart by card."
            )
        profile = BillingProfile.objects.filter(account=account).first()
        if paying_by_card and quote.total_cents > 0 and doubt is None and (
            not use_card_on_file or profile is None or not profile.has_card
        ):
            raise ServiceError("Enter the card to charge.")

        if doubt is not None:
            order, payment = doubt.order, doubt
        else:
            order = _order_place(cart=cart, quote=quote, actor=actor, idempotency_key=idempotency_key)
            if payment_method == PaymentMethod.INVOICE or quote.total_cents == 0:
                payments.order_fulfil(order=order, actor=actor,
                                      paid=payment_method != PaymentMethod.INVOICE)
                return CheckoutResult(order=order)
            payment = payments.payment_open(
                order=order, amount_cents=quote.total_cents, fingerprint=fingerprint,
                payment_method=profile.card_payment_method,
            )
    # Transaction 1 committed: the attempt exists before any money moves. No lock is held now.
    if doubt is not None:
        payment = payments.payment_retry(payment=payment, actor=actor)
    else:
        payment = payments.payment_run(payment=payment, actor=actor)
    order.refresh_from_db()
    return CheckoutResult(order=order, payment=payment)


def _order_place(*, cart, quote, actor, idempotency_key):
    """The cart's order with its lines snapshotted. A cart whose earlier attempt was declined
    keeps its one order (one per cart): it is priced again and tried with the new key."""
    order = Order.objects.filter(cart=cart).first()
    try:
        with transaction.atomic():
            if order is None:
                order = Order.objects.create(
                    account_id=cart.account_id, kind=OrderKind.CART, cart=cart,
                    idempotency_key=idempotency_key, created_by=actor.user,
                )
            else:
                order.lines.all().delete()
                order.idempotency_key, order.state = idempotency_key, OrderState.PENDING
                order.save(update_fields=["idempotency_key", "state"])
    except IntegrityError:
        # Only reachable without the cart lock (SQLite runs writers one at a time anyway).
        raise ServiceError("This cart is being paid in another window: reload the page.") from None
    order.purchase = purchase_snapshot(quote)
    OrderLine.objects.bulk_create(pricing.order_lines(quote.lines, order=order))
    order.total_cents = quote.total_cents
    quote.tax.copy_to(order, tax_cents=quote.tax_cents)
    order.credit_applied_cents, order.taxed_at = quote.credit_applied_cents, timezone.now()
    order.save(update_fields=["total_cents", "purchase", "credit_applied_cents", "taxed_at", *TAX_FIELDS])
    audit_record(
        account=order.account, actor=actor, kind="order.placed",
        summary=f"Order {order.pk} placed: {len(quote.lines)} lines",
        after={**_order_snapshot(order), "lines": [line.description for line in quote.lines]},
    )
    return order
