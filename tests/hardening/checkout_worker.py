"""A checkout in its own process, for tests/hardening/test_checkout_kills.py: it pays a cart with
the card on file and, at the named point, says so on stdout and waits to be SIGKILLed by its pid.

    python -m tests.hardening.checkout_worker <account> <cart> <user> <key> <point>

Points: placed (the attempt committed, the gateway not called yet), charged (the gateway charged,
its answer not booked), booking (inside the transaction that books the success, before its
commit), applied (after that commit).
"""

import sys
import time

import django


def _stop(point):
    print(f"AT {point}", flush=True)
    time.sleep(120)


def main(account_id, cart_id, user_id, key, point):
    django.setup()
    from accounts.actors import Actor
    from accounts.models import Account, User
    from billing import payments
    from billing.cart import cart_checkout
    from billing.gateways.sandbox import SandboxGateway

    if point == "placed":
        real = payments._charge
        payments._charge = lambda payment: (_stop(point), real(payment))[1]
    elif point == "charged":
        real_charge = SandboxGateway.charge

        def charge(self, **kwargs):
            result = real_charge(self, **kwargs)
            _stop(point)
            return result

        SandboxGateway.charge = charge
    elif point == "booking":
        real_paid = payments._order_paid
        payments._order_paid = lambda **kwargs: (_stop(point), real_paid(**kwargs))[1]
    elif point == "applied":
        real_settle = payments.payment_settle

        def settle(**kwargs):
            payment = real_settle(**kwargs)
            _stop(point)
            return payment

        payments.payment_settle = settle
    account = Account.objects.get(pk=account_id)
    actor = Actor.for_user(User.objects.get(pk=user_id))
    result = cart_checkout(account=account, cart_id=int(cart_id), actor=actor, idempotency_key=key,
                           use_card_on_file=True)
    print(f"DONE {result.order.state}", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
