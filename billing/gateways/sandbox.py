"""The sandbox gateway: no money moves. Test card numbers choose the outcome (README, Billing).

It keeps, in memory and per process, the successful charges it made (``SandboxGateway.charges``)
and the outcome of each idempotency key, like a real gateway: a key seen before returns its
first outcome without a new charge.
"""

import threading
import uuid

from billing.gateways import ChargeResult, ChargeState

SUCCESS_CARDS = {"4242424242424242", "5555555555554444"}
DECLINED_CARDS = {
    "4000000000009995": "Your card was declined: insufficient funds.",
    "4000000000000002": "Your card was declined.",
}
FAILING_CARDS = {
    "4000000000000119": "The payment service had a processing error; you were not charged. Try again.",
    "4000000000000408": "The payment service did not answer in time; you were not charged. Try again.",
}
# The charge goes through at the "bank", then the answer is lost on the way back: the caller
# sees a failure whose outcome is unknown. A retry with the same key returns the charge made.
CHARGED_THEN_TIMEOUT_CARDS = {
    "4000000000000259": "The payment service did not answer in time. Try again: a charge that "
                        "went through is not made twice.",
}


class SandboxGateway:
    name = "sandbox"
    charges = []  # (idempotency_key, amount_cents, reference) of every successful charge
    _outcomes = {}
    _lock = threading.Lock()

    @classmethod
    def reset(cls):
        with cls._lock:
            cls.charges.clear()
            cls._outcomes.clear()

    def charge(self, *, amount_cents, card, idempotency_key, description="", metadata=None):
        number = "".join(ch for ch in str(card) if ch.isdigit())
        with self._lock:
            if idempotency_key in self._outcomes:
                return self._outcomes[idempotency_key]
            if number in SUCCESS_CARDS:
                result = ChargeResult(ChargeState.SUCCEEDED, f"sbx_{uuid.uuid4().hex[:16]}")
                self.charges.append((idempotency_key, amount_cents, result.reference))
            elif number in CHARGED_THEN_TIMEOUT_CARDS:
                charged = ChargeResult(ChargeState.SUCCEEDED, f"sbx_{uuid.uuid4().hex[:16]}")
                self.charges.append((idempotency_key, amount_cents, charged.reference))
                self._outcomes[idempotency_key] = charged
                return ChargeResult(ChargeState.FAILED, "", CHARGED_THEN_TIMEOUT_CARDS[number],
                                    outcome_unknown=True)
            elif number in DECLINED_CARDS:
                result = ChargeResult(ChargeState.DECLINED, f"sbx_{uuid.uuid4().hex[:16]}",
                                      DECLINED_CARDS[number])
            elif number in FAILING_CARDS:
                # Not remembered: the outcome was not final, a retry with the same key goes through.
                return ChargeResult(ChargeState.FAILED, "", FAILING_CARDS[number])
            else:
                result = ChargeResult(
                    ChargeState.DECLINED, "",
                    "This card number is not a sandbox test card (see the README's Billing section).",
                )
            self._outcomes[idempotency_key] = result
            return result
