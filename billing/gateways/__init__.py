"""Payment gateways behind one small interface.

A gateway has a ``name`` and one method::

    charge(*, amount_cents, card, idempotency_key, description, metadata) -> ChargeResult

``card`` is what the customer gave: a test card number for the sandbox, a payment method id
(``pm_...``) for Stripe. ``idempotency_key`` makes a retried call return the first outcome
instead of charging again. The result is ``succeeded``, ``declined`` (the bank said no: a
definitive answer, worded for the customer) or ``failed`` (processing error, timeout: the
outcome is unknown or temporary). A gateway never raises for a refused or failed charge.

``settings.PAYMENT_GATEWAY`` selects one: ``sandbox`` (default outside production, which refuses
it) or ``stripe``.
"""

from dataclasses import dataclass

from django.conf import settings


class ChargeState:
    SUCCEEDED = "succeeded"
    DECLINED = "declined"
    FAILED = "failed"


@dataclass(frozen=True)
class ChargeResult:
    state: str
    reference: str = ""
    message: str = ""
    # A failure whose outcome is unknown (the answer was lost: a timeout after the request was
    # sent). The money may have moved: the cart stays frozen until the same request is repeated.
    outcome_unknown: bool = False

    @property
    def succeeded(self):
        return self.state == ChargeState.SUCCEEDED


def get_gateway(name=None):
    name = name or settings.PAYMENT_GATEWAY
    if name == "sandbox":
        from billing.gateways.sandbox import SandboxGateway

        return SandboxGateway()
    if name == "stripe":
        from billing.gateways.stripe import StripeGateway

        return StripeGateway(api_key=settings.STRIPE_SECRET_KEY)
    raise ValueError(f"Unknown PAYMENT_GATEWAY {name!r}: use sandbox or stripe.")
