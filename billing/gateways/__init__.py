"""Payment gateways behind one small interface (``billing.payments`` is its only caller).

A gateway has a ``name`` and these methods; none raises for a refused or failed charge::

    customer_for(*, account, email) -> str                      the gateway's customer id
    card_setup_start(*, customer) -> CardSetup                  where the browser enters a card
    card_setup_finish(*, customer, setup) -> SavedCard | raises CardRefused
    charge(*, key, amount_cents, currency, customer, payment_method, off_session, metadata)
        -> ChargeResult
    charge_lookup(*, key, reference) -> ChargeResult | None     None: nothing was charged
    charge_cancel(*, reference) -> None                         abandons an unauthenticated charge
    refund(*, key, reference, amount_cents) -> RefundResult     gives back part of a charge

``key`` is the payment attempt's own key (``billing.models.Payment.key``), sent as the
idempotency key and in the charge's metadata so that ``charge_lookup`` finds a charge whose
answer was lost. A result is ``succeeded``, ``declined`` (the bank said no, worded for the
customer), ``requires_action`` (3-D Secure: the customer authenticates in the browser with
``client_secret``; off-session, by the link we email), or ``failed``; ``outcome_unknown`` marks a
failure after which the money may have moved (a timeout).

``settings.PAYMENT_GATEWAY`` selects one: ``sandbox`` (default outside production, which refuses
it) or ``stripe``.
"""

from dataclasses import dataclass

from django.conf import settings


class ChargeState:
    SUCCEEDED = "succeeded"
    DECLINED = "declined"
    FAILED = "failed"
    REQUIRES_ACTION = "requires_action"


@dataclass(frozen=True)
class ChargeResult:
    state: str
    reference: str = ""
    message: str = ""
    # A failure whose outcome is unknown (the answer was lost: a timeout after the request was
    # sent). The money may have moved: the attempt stays open until the gateway is asked again.
    outcome_unknown: bool = False
    # What the gateway says it charged (None: it did not say).
    amount_cents: int | None = None
    client_secret: str = ""

    @property
    def succeeded(self):
        return self.state == ChargeState.SUCCEEDED


@dataclass(frozen=True)
class RefundResult:
    """A refund's outcome. ``key`` (the Refund row's) is the idempotency key: the same key again
    returns the first refund, never a second one. ``outcome_unknown``: the answer was lost."""

    succeeded: bool
    reference: str = ""
    message: str = ""
    outcome_unknown: bool = False


@dataclass(frozen=True)
class CardSetup:
    """What the browser needs to collect a card: for Stripe a SetupIntent's client secret (the
    card Element and ``confirmCardSetup``); for the sandbox nothing (a test card number typed)."""

    client_secret: str = ""


@dataclass(frozen=True)
class SavedCard:
    payment_method: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int


class CardRefused(Exception):
    """The card could not be saved; the message is worded for the customer."""


def get_gateway(name=None):
    name = name or settings.PAYMENT_GATEWAY
    if name == "sandbox":
        from billing.gateways.sandbox import SandboxGateway

        return SandboxGateway()
    if name == "stripe":
        from billing.gateways.stripe import StripeGateway

        return StripeGateway(api_key=settings.STRIPE_SECRET_KEY, api_base=settings.STRIPE_API_BASE)
    raise ValueError(f"Unknown PAYMENT_GATEWAY {name!r}: use sandbox or stripe.")
