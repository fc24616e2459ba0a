"""The Stripe gateway: one PaymentIntent created and confirmed in a single call.

stripe-python talks HTTP through ``RequestsClient`` (chosen explicitly), so the tests replay
recorded Stripe responses at the HTTP boundary with ``responses``.
"""

import stripe

from billing.gateways import ChargeResult, ChargeState

CURRENCY = "usd"
# Stripe's decline codes, worded for the customer.
DECLINE_MESSAGES = {
    "insufficient_funds": "Your card was declined: insufficient funds.",
    "expired_card": "Your card has expired.",
    "incorrect_cvc": "Your card's security code is incorrect.",
    "lost_card": "Your card was declined.",
    "stolen_card": "Your card was declined.",
}


class StripeGateway:
    name = "stripe"

    def __init__(self, *, api_key, timeout=30):
        self.client = stripe.StripeClient(
            api_key, http_client=stripe.RequestsClient(timeout=timeout), max_network_retries=0,
        )

    def charge(self, *, amount_cents, card, idempotency_key, description="", metadata=None):
        try:
            intent = self.client.v1.payment_intents.create(
                params={
                    "amount": int(amount_cents), "currency": CURRENCY, "payment_method": card,
                    "confirm": True, "description": description, "metadata": metadata or {},
                    "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
                },
                options={"idempotency_key": idempotency_key},
            )
        except stripe.CardError as error:
            error_body = (error.json_body or {}).get("error", {})
            reference = (error_body.get("payment_intent") or {}).get("id", "")
            code = error_body.get("decline_code") or error.code or ""
            message = DECLINE_MESSAGES.get(code) or f"Your card was declined: {error.user_message or code}."
            return ChargeResult(ChargeState.DECLINED, reference, message)
        except (stripe.APIConnectionError, stripe.RateLimitError) as error:
            return ChargeResult(
                ChargeState.FAILED, "",
                # A timeout may come after Stripe charged: do not promise "not charged"; the retry
                # reuses the idempotency key, so it returns that charge instead of making another.
                f"The payment service did not answer. Try again: a charge that went through is not "
                f"made twice. ({type(error).__name__})",
                outcome_unknown=isinstance(error, stripe.APIConnectionError),
            )
        except stripe.StripeError as error:
            return ChargeResult(
                ChargeState.FAILED, "",
                f"The payment service refused the request: {error.user_message or 'processing error'}.",
            )
        if intent.status == "succeeded":
            return ChargeResult(ChargeState.SUCCEEDED, intent.id)
        if intent.status in ("processing",):
            return ChargeResult(ChargeState.FAILED, intent.id,
                                "The payment is still processing; you were not charged yet.")
        return ChargeResult(
            ChargeState.DECLINED, intent.id,
            "Your card needs an extra confirmation we cannot do here: use another card.",
        )
