"""localstripe: a stateful fake Stripe server (PyPI, in the dev lock) that also serves a stand-in
stripe.js with the card Element, confirmCardSetup and confirmCardPayment (its 3-D Secure is a
dialog with "Complete authentication" / "Fail authentication"). Started once per test session
on a free loopback port, from an empty store, and stopped at the end.

Use it by importing the fixtures into a test module::

    from tests.localstripe import localstripe, stripe_on_localstripe  # noqa: F401
"""

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from config.csp import with_stripe


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def localstripe(tmp_path_factory):
    executable = shutil.which("localstripe", path=str(Path(sys.executable).parent))
    if executable is None:  # pragma: no cover - it is in the dev lock
        pytest.skip("localstripe is not installed (make install)")
    port = _free_port()
    log = tmp_path_factory.mktemp("localstripe") / "localstripe.log"
    with open(log, "wb") as out:
        process = subprocess.Popen([executable, "--port", str(port), "--from-scratch"],
                                   stdout=out, stderr=subprocess.STDOUT,
                                   cwd=tmp_path_factory.getbasetemp())
    base = f"http://localhost:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            requests.get(f"{base}/js.stripe.com/v3/", timeout=1).raise_for_status()
            break
        except requests.RequestException:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                pytest.fail(f"localstripe did not start: {log.read_text()[-2000:]}")
            time.sleep(0.1)
    yield base
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:  # pragma: no cover
        process.kill()


@pytest.fixture
def stripe_on_localstripe(settings, localstripe):
    """The project's Stripe gateway pointed at localstripe, with the CSP allowing its origin."""
    settings.PAYMENT_GATEWAY = "stripe"
    settings.STRIPE_SECRET_KEY = "sk_test_localstripe"
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_localstripe"
    settings.STRIPE_API_BASE = localstripe
    settings.STRIPE_JS_URL = f"{localstripe}/js.stripe.com/v3/"
    settings.SECURE_CSP = with_stripe(settings.SECURE_CSP, js_url=settings.STRIPE_JS_URL, api_base=localstripe)
    return localstripe


def confirm_setup_as_stripe_js(base, client_secret, number):
    """What localstripe's stripe.js does for confirmCardSetup, for tests without a browser."""
    seti = client_secret.split("_secret_")[0]
    response = requests.post(f"{base}/v1/setup_intents/{seti}/confirm", json={
        "key": "pk_test_localstripe", "use_stripe_sdk": True, "client_secret": client_secret,
        "payment_method_data": {"type": "card", "card": {"number": number, "exp_month": "12",
                                                         "exp_year": "2034", "cvc": "123"}},
    }, timeout=5)
    return response.json()


def authenticate_as_stripe_js(base, client_secret, success=True):
    """What localstripe's stripe.js does for confirmCardPayment (its 3-D Secure dialog)."""
    intent = client_secret.split("_secret_")[0]
    return requests.post(f"{base}/v1/payment_intents/{intent}/_authenticate?success={str(success).lower()}",
                         json={"key": "pk_test_localstripe", "client_secret": client_secret}, timeout=5).json()
