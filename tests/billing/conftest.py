import pytest

from billing.gateways.sandbox import SandboxGateway
from tests.localstripe import localstripe, stripe_on_localstripe  # noqa: F401  (fixtures)

GOOD_CARD = "4242 4242 4242 4242"
INSUFFICIENT_FUNDS_CARD = "4000000000009995"
DECLINED_CARD = "4000000000000002"
PROCESSING_ERROR_CARD = "4000000000000119"


class SandboxLedger:
    """What the sandbox "processor" charged, read from its table (every worker writes there)."""

    @property
    def charges(self):
        return SandboxGateway.charges()


@pytest.fixture(autouse=True)
def sandbox_gateway(settings):
    settings.PAYMENT_GATEWAY = "sandbox"
    return SandboxLedger()
