"""The sandbox gateway: no money moves. Test card numbers choose the outcome, as Stripe's test
cards do (README, Billing; the cart page lists them while the sandbox is on).

Its memory is in the database (``SandboxCharge``, ``SandboxCard``), like a real processor's: every
worker sees every charge, so a retry on another worker, or after a killed one, finds the first
outcome by the attempt's key instead of charging again.
"""

import uuid

from django.db import IntegrityError, transaction
from django.db.models import Sum

from billing.gateways import (
    CardRefused,
    CardSetup,
    ChargeResult,
    ChargeState,
    RefundResult,
    SavedCard,
)
from billing.models import SandboxCard, SandboxCharge, SandboxRefund

SUCCESS_CARDS = {"4242424242424242": "visa", "5555555555554444": "mastercard"}
DECLINED_CARDS = {
    "4000000000009995": "Your card was declined: insufficient funds.",
    "4000000000000002": "Your card was declined.",
    # Saved without trouble, declined when charged (a renewal that fails: dunning).
    "4000000000000341": "Your card was declined.",
}
FAILING_CARDS = {
    "4000000000000119": "The payment service had a processing error; you were not charged. Try again.",
    "4000000000000408": "The payment service did not answer in time; you were not charged. Try again.",
}
# The charge goes through at the "bank", then the answer is lost on the way back: the caller
# sees a failure whose outcome is unknown. Asking again with the same key returns the charge made.
CHARGED_THEN_TIMEOUT_CARDS = {
    "4000000000000259": "The payment service did not answer in time. We are confirming with it: "
                        "a charge that went through is not made twice.",
}
# 3-D Secure: the bank asks the cardholder to authenticate. The first only when the customer is
# present (an off-session renewal goes through, as after Stripe's setup); the second every time.
AUTHENTICATION_CARDS = {
    "4000002500003155": "Your bank asks you to confirm this payment (3-D Secure).",
    "4000002760003184": "Your bank asks you to confirm every payment (3-D Secure), even renewals.",
}
ALWAYS_AUTHENTICATE = {"4000002760003184"}


def card_digits(card):
    return "".join(ch for ch in str(card) if ch.isdigit())


def test_cards():
    """(number, what happens) of every sandbox test card, for the pages that list them."""
    rows = [(number, "The payment goes through.") for number in sorted(SUCCESS_CARDS)]
    for table in (DECLINED_CARDS, FAILING_CARDS, CHARGED_THEN_TIMEOUT_CARDS, AUTHENTICATION_CARDS):
        rows += sorted(table.items())
    return rows


def _reference():
    return f"sbx_{uuid.uuid4().hex[:16]}"


class SandboxGateway:
    name = "sandbox"

    # --- customers and cards --------------------------------------------------------------------

    def customer_for(self, *, account, email=""):
        return f"sbx_cus_{account.pk}"

    def card_setup_start(self, *, customer):
        return CardSetup()

    def card_setup_finish(self, *, customer, setup):
        number = card_digits(setup)
        known = (SUCCESS_CARDS.keys() | DECLINED_CARDS.keys() | FAILING_CARDS.keys()
                 | CHARGED_THEN_TIMEOUT_CARDS.keys() | AUTHENTICATION_CARDS.keys())
        if not number:
            raise CardRefused("Enter the card to charge.")
        if number not in known:
            raise CardRefused(
                "This card number is not a sandbox test card (the cart page lists them)."
            )
        card = SandboxCard.objects.create(id=f"sbx_pm_{uuid.uuid4().hex[:16]}", number=number,
                                          customer=customer)
        return SavedCard(payment_method=card.id, brand=SUCCESS_CARDS.get(number, "visa"),
                         last4=number[-4:], exp_month=12, exp_year=2034)

    # --- charges ----------------------------------------------------------------------------------

    def charge(self, *, key, amount_cents, currency="usd", customer="", payment_method,
               off_session=False, metadata=None):
        card = SandboxCard.objects.filter(id=payment_method).first()
        number = card.number if card else card_digits(payment_method)
        existing = SandboxCharge.objects.filter(key=key).first()
        if existing is not None:
            return self._result(existing)
        if number in FAILING_CARDS:
            # Not remembered: the outcome was not final, a retry with the same key goes through.
            return ChargeResult(ChargeState.FAILED, "", FAILING_CARDS[number])
        if number in SUCCESS_CARDS:
            state, message, lost = ChargeState.SUCCEEDED, "", False
        elif number in CHARGED_THEN_TIMEOUT_CARDS:
            state, message, lost = ChargeState.SUCCEEDED, CHARGED_THEN_TIMEOUT_CARDS[number], True
        elif number in AUTHENTICATION_CARDS and (not off_session or number in ALWAYS_AUTHENTICATE):
            state, message, lost = ChargeState.REQUIRES_ACTION, AUTHENTICATION_CARDS[number], False
        elif number in AUTHENTICATION_CARDS:
            state, message, lost = ChargeState.SUCCEEDED, "", False
        elif number in DECLINED_CARDS:
            state, message, lost = ChargeState.DECLINED, DECLINED_CARDS[number], False
        else:
            return ChargeResult(
                ChargeState.DECLINED, "",
                "This card number is not a sandbox test card (the cart page lists them).",
            )
        try:
            with transaction.atomic():
                row = SandboxCharge.objects.create(
                    key=key, reference=_reference(), amount_cents=amount_cents,
                    card_last4=number[-4:], customer=customer, off_session=off_session,
                    state=state, message=message, lost_answer=lost,
                )
        except IntegrityError:
            # The same key on another worker at the same instant: its charge is the one.
            return self._result(SandboxCharge.objects.get(key=key))
        if lost:
            return ChargeResult(ChargeState.FAILED, "", message, outcome_unknown=True)
        return self._result(row)

    def charge_lookup(self, *, key, reference=""):
        row = SandboxCharge.objects.filter(key=key).first()
        return None if row is None else self._result(row)

    def charge_cancel(self, *, reference):
        SandboxCharge.objects.filter(reference=reference, state=ChargeState.REQUIRES_ACTION).update(
            state="canceled", message="The payment was cancelled before it was confirmed."
        )

    def refund(self, *, key, reference, amount_cents):
        """Part or all of a succeeded charge back, once per key (as Stripe's idempotency keys)."""
        done = SandboxRefund.objects.filter(key=key).first()
        if done is not None:
            return RefundResult(True, done.reference)
        with transaction.atomic():
            charge = SandboxCharge.objects.select_for_update().filter(
                reference=reference, state=ChargeState.SUCCEEDED).first()
            if charge is None:
                return RefundResult(False, "", "No such charge to refund.")
            refunded = SandboxRefund.objects.filter(charge_reference=reference).aggregate(
                total=Sum("amount_cents"))["total"] or 0
            if amount_cents <= 0 or refunded + amount_cents > charge.amount_cents:
                return RefundResult(False, "", "The refund is more than is left of the charge.")
            row = SandboxRefund.objects.create(key=key, reference=f"sbx_re_{uuid.uuid4().hex[:12]}",
                                               charge_reference=reference, amount_cents=amount_cents)
        return RefundResult(True, row.reference)

    @staticmethod
    def refunds():
        """What the tests count: (key, charge reference, amount) of every refund made."""
        return [(r.key, r.charge_reference, r.amount_cents) for r in SandboxRefund.objects.order_by("pk")]

    def authenticate(self, *, reference, success):
        """The sandbox's stand-in for the bank's 3-D Secure page."""
        if success:
            SandboxCharge.objects.filter(reference=reference, state=ChargeState.REQUIRES_ACTION).update(
                state=ChargeState.SUCCEEDED, message=""
            )
        else:
            SandboxCharge.objects.filter(reference=reference, state=ChargeState.REQUIRES_ACTION).update(
                state=ChargeState.FAILED,
                message="The bank's confirmation failed: you were not charged. Try again or use another card.",
            )

    @staticmethod
    def _result(row):
        state = ChargeState.FAILED if row.state == "canceled" else row.state
        return ChargeResult(
            state, row.reference, "" if state == ChargeState.SUCCEEDED else row.message,
            amount_cents=row.amount_cents,
            client_secret=f"{row.reference}_secret" if state == ChargeState.REQUIRES_ACTION else "",
        )

    # What the tests count: every charge that went through, as (key, amount, reference).
    @staticmethod
    def charges():
        return [
            (row.key, row.amount_cents, row.reference)
            for row in SandboxCharge.objects.filter(state=ChargeState.SUCCEEDED).order_by("pk")
        ]

