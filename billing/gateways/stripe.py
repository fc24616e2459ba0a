"""The Stripe gateway: a Customer per account, cards saved with SetupIntents (the card Element in
the browser, ``confirmCardSetup``: the number never reaches our server), charges as PaymentIntents
confirmed on the saved card, with 3-D Secure done in the browser (``confirmCardPayment``).

The parameters sent are the ones both Stripe and localstripe (the fake Stripe server the tests run)
accept. stripe-python talks HTTP through ``RequestsClient`` (chosen explicitly), so the recorded
response tests replay at the HTTP boundary with ``responses``; ``STRIPE_API_BASE`` points it at
localstripe.
"""

import stripe

from billing.gateways import (
    CardRefused,
    CardSetup,
    ChargeResult,
    ChargeState,
    RefundResult,
    SavedCard,
)

# Stripe's decline codes, worded for the customer.
DECLINE_MESSAGES = {
    "insufficient_funds": "Your card was declined: insufficient funds.",
    "expired_card": "Your card has expired.",
    "incorrect_cvc": "Your card's security code is incorrect.",
    "lost_card": "Your card was declined.",
    "stolen_card": "Your card was declined.",
    "authentication_required": "Your bank asks you to confirm this payment (3-D Secure).",
}
LOST_ANSWER = (
    "The payment service did not answer. We are confirming with it: a charge that went through "
    "is not made twice."
)


def _plain(obj):
    """A StripeObject (or None) as a plain dict."""
    if obj is None:
        return {}
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)


def _decline_message(error):
    body = (error.json_body or {}).get("error", {})
    code = body.get("decline_code") or error.code or ""
    return DECLINE_MESSAGES.get(code) or f"Your card was declined: {error.user_message or code}."


class StripeGateway:
    name = "stripe"

    def __init__(self, *, api_key, api_base="", timeout=30):
        options = {"base_addresses": {"api": api_base}} if api_base else {}
        self.client = stripe.StripeClient(
            api_key, http_client=stripe.RequestsClient(timeout=timeout), max_network_retries=0,
            **options,
        )

    # --- customers and cards --------------------------------------------------------------------

    def customer_for(self, *, account, email=""):
        customer = self.client.v1.customers.create(
            params={"name": account.name, "email": email, "metadata": {"account": account.slug}},
            options={"idempotency_key": f"customer-{account.pk}"},
        )
        return customer.id

    def card_setup_start(self, *, customer):
        intent = self.client.v1.setup_intents.create(
            params={"customer": customer, "usage": "off_session", "payment_method_types": ["card"]},
        )
        return CardSetup(client_secret=intent.client_secret)

    def card_setup_finish(self, *, customer, setup):
        """``setup`` is the SetupIntent id the browser confirmed; it must be this customer's."""
        setup = (setup or "").strip()
        if not setup.startswith("seti_"):
            raise CardRefused("Enter your card in the card field, then confirm again.")
        try:
            intent = self.client.v1.setup_intents.retrieve(setup)
        except stripe.StripeError:
            raise CardRefused("This card could not be saved: enter it again.") from None
        if intent.customer != customer:
            raise CardRefused("This card could not be saved: enter it again.")
        if intent.status != "succeeded" or not intent.payment_method:
            raise CardRefused("Your card was not confirmed by your bank: enter it again.")
        method_id = intent.payment_method if isinstance(intent.payment_method, str) else intent.payment_method.id
        method = self.client.v1.payment_methods.retrieve(method_id)
        if method.customer != customer:
            # localstripe's confirmCardSetup leaves the card unattached; Stripe attaches it.
            self.client.v1.payment_methods.attach(method_id, params={"customer": customer})
        card = method.card
        return SavedCard(payment_method=method_id, brand=card.brand or "card", last4=card.last4,
                         exp_month=int(card.exp_month), exp_year=int(card.exp_year))

    # --- charges ----------------------------------------------------------------------------------

    def charge(self, *, key, amount_cents, currency="usd", customer="", payment_method,
               off_session=False, metadata=None):
        params = {
            "amount": int(amount_cents), "currency": currency, "payment_method": payment_method,
            "confirm": True, "payment_method_types": ["card"],
            "metadata": {**(metadata or {}), "payment": key},
        }
        if customer:
            params["customer"] = customer
        if off_session:
            params["off_session"] = True
        try:
            intent = self.client.v1.payment_intents.create(
                params=params, options={"idempotency_key": key},
            )
        except stripe.CardError as error:
            body = (error.json_body or {}).get("error", {})
            intent = body.get("payment_intent") or {}
            if intent.get("status") == "requires_action" or error.code == "authentication_required":
                return ChargeResult(ChargeState.REQUIRES_ACTION, intent.get("id", ""),
                                    DECLINE_MESSAGES["authentication_required"],
                                    client_secret=intent.get("client_secret", ""))
            return ChargeResult(ChargeState.DECLINED, intent.get("id", ""), _decline_message(error))
        except (stripe.APIConnectionError, stripe.RateLimitError) as error:
            return ChargeResult(
                ChargeState.FAILED, "", f"{LOST_ANSWER} ({type(error).__name__})",
                outcome_unknown=isinstance(error, stripe.APIConnectionError),
            )
        except stripe.StripeError as error:
            return ChargeResult(
                ChargeState.FAILED, "",
                f"The payment service refused the request: {error.user_message or 'processing error'}.",
            )
        return self._result(intent)

    def charge_lookup(self, *, key, reference=""):
        """The PaymentIntent of this attempt: by its id when we have it, else found by the
        attempt's key in its metadata (Stripe's search; the recent ones where search is absent)."""
        try:
            if reference:
                return self._result(self.client.v1.payment_intents.retrieve(reference))
            try:
                found = self.client.v1.payment_intents.search(
                    params={"query": f"metadata['payment']:'{key}'"}
                ).data
            except stripe.InvalidRequestError:
                found = [
                    intent for intent in self.client.v1.payment_intents.list(params={"limit": 100}).data
                    if _plain(intent.metadata).get("payment") == key
                ]
        except stripe.StripeError as error:
            return ChargeResult(ChargeState.FAILED, reference, f"{LOST_ANSWER} ({type(error).__name__})",
                                outcome_unknown=True)
        return self._result(found[0]) if found else None

    def charge_cancel(self, *, reference):
        try:
            self.client.v1.payment_intents.cancel(reference)
        except stripe.StripeError:
            pass  # already charged or cancelled: the lookup that follows says which

    def refund(self, *, key, reference, amount_cents):
        """A Refund of the PaymentIntent ``reference``, with the Refund row's key as Stripe's
        idempotency key: a retry after a lost answer returns the first refund. The refunds of the
        PaymentIntent are asked first for one carrying the key (``metadata[refund]``), so a retry
        after Stripe forgot the key (24 hours) or on a server that ignores keys is still once."""
        try:
            made = [
                refund for refund in self.client.v1.refunds.list(
                    params={"payment_intent": reference, "limit": 100}).data
                if _plain(refund.metadata).get("refund") == key
            ]
            if made:
                return RefundResult(True, made[0].id)
            refund = self.client.v1.refunds.create(
                params={"payment_intent": reference, "amount": int(amount_cents),
                        "metadata": {"refund": key}},
                options={"idempotency_key": key},
            )
        except (stripe.APIConnectionError, stripe.APIError) as error:
            return RefundResult(False, "", f"{LOST_ANSWER} ({type(error).__name__})", outcome_unknown=True)
        except stripe.StripeError as error:
            return RefundResult(False, "", f"The payment service refused the refund: "
                                           f"{error.user_message or getattr(error, 'code', '') or 'error'}.")
        if getattr(refund, "status", "succeeded") in ("succeeded", "pending"):
            return RefundResult(True, refund.id)
        return RefundResult(False, refund.id, f"The refund {refund.status}.")

    @staticmethod
    def _result(intent):
        amount = getattr(intent, "amount_received", None) or intent.amount
        if intent.status == "succeeded":
            return ChargeResult(ChargeState.SUCCEEDED, intent.id, amount_cents=int(amount))
        if intent.status == "requires_action":
            return ChargeResult(ChargeState.REQUIRES_ACTION, intent.id,
                                DECLINE_MESSAGES["authentication_required"],
                                client_secret=intent.client_secret or "")
        if intent.status == "processing":
            return ChargeResult(ChargeState.FAILED, intent.id,
                                "The payment is still processing with your bank.", outcome_unknown=True)
        error = _plain(getattr(intent, "last_payment_error", None))
        if error.get("code") == "payment_intent_authentication_failure":
            return ChargeResult(ChargeState.FAILED, intent.id,
                                "Your bank's confirmation (3-D Secure) failed: you were not charged. "
                                "Try again or use another card.")
        message = error.get("message") or "Your card was declined."
        if intent.status == "canceled":
            return ChargeResult(ChargeState.FAILED, intent.id,
                                "The payment was cancelled before it was confirmed: you were not charged.")
        return ChargeResult(ChargeState.DECLINED, intent.id, message)


def webhook_event(*, payload, signature, secret):
    """The verified event (Stripe-Signature checked against the endpoint's secret), or raises
    ``ValueError`` / ``stripe.SignatureVerificationError``."""
    return stripe.Webhook.construct_event(payload, signature, secret)
