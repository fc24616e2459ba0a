import pytest

from billing.gateways.sandbox import SandboxGateway

GOOD_CARD = "4242 4242 4242 4242"
INSUFFICIENT_FUNDS_CARD = "4000000000009995"
DECLINED_CARD = "4000000000000002"
PROCESSING_ERROR_CARD = "4000000000000119"


@pytest.fixture(autouse=True)
def sandbox_gateway(settings):
    settings.PAYMENT_GATEWAY = "sandbox"
    SandboxGateway.reset()
    yield SandboxGateway
    SandboxGateway.reset()
