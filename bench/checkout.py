"""Benchmark of the checkout: wall time per checkout, how long the cart and subscription rows stay
locked, and what a second writer waits while a checkout is at the gateway.

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/bo_bench_checkout \\
        .venv/bin/python bench/checkout.py [--checkouts 100] [--latency-ms 400]

Uses BENCH_DATABASE_URL (a PostgreSQL database of its own, flushed; default: a fresh SQLite file),
the sandbox gateway, and N accounts each buying 5 more licenses with the card on file.

Figures: (1) checkout wall time p50/p90/max with the sandbox answering at once; (2) the lock
hold of each checkout transaction: from its first ``SELECT ... FOR UPDATE`` to its commit
(T1: place the order and the attempt; T2: book the outcome and apply it), p50/max; (3) with the
gateway answering after --latency-ms, a second connection locks the same subscription row while
the checkout is at the gateway: the time it waits (before: the whole gateway latency).
"""

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--checkouts", type=int, default=100)
    parser.add_argument("--latency-ms", type=int, default=400)
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="bench-checkout-")
    os.environ.setdefault("SQLITE_PATH", str(Path(tmp) / "bench.sqlite3"))
    if "BENCH_DATABASE_URL" in os.environ:
        os.environ["DATABASE_URL"] = os.environ["BENCH_DATABASE_URL"]
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ["PAYMENT_GATEWAY"] = "sandbox"
    os.environ.setdefault("AXES_ENABLED", "False")
    import django

    django.setup()
    import importlib

    from django.apps import apps
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.test.utils import setup_test_environment

    setup_test_environment()
    call_command("migrate", verbosity=0)
    if "BENCH_DATABASE_URL" in os.environ:
        call_command("flush", "--noinput", verbosity=0)
        importlib.import_module("billing.migrations.0002_seed_catalogue").seed(apps, None)

    from accounts.actors import Actor
    from billing import payments
    from billing.cart import cart_checkout, cart_open, cart_update
    from billing.gateways.sandbox import SandboxGateway
    from billing.models import Subscription
    from tests.factories import make_account

    # Lock hold: first FOR UPDATE of a transaction to its commit, measured on this connection.
    holds, state = [], {"locked_at": None}

    def watch(execute, sql, params, many, context):
        if state["locked_at"] is None and "FOR UPDATE" in sql and connection.in_atomic_block:
            state["locked_at"] = time.perf_counter()
        return execute(sql, params, many, context)

    real_commit = connection.commit

    def commit():
        real_commit()
        if state["locked_at"] is not None:
            holds.append(time.perf_counter() - state["locked_at"])
            state["locked_at"] = None

    connection.commit = commit

    buyers = []
    for i in range(args.checkouts):
        account, admin = make_account(plan="professional", licenses=10, name=f"Bench {i}")
        actor = Actor.for_user(admin)
        payments.card_save(account=account, actor=actor, setup="4242424242424242")
        cart = cart_update(cart=cart_open(account=account, actor=actor), plan_code=None, licenses=15,
                           addon_codes=[], actor=actor)
        buyers.append((account, actor, cart))

    walls = []
    with connection.execute_wrapper(watch):
        for account, actor, cart in buyers[: args.checkouts // 2]:
            holds_before = len(holds)
            started = time.perf_counter()
            result = cart_checkout(account=account, cart_id=cart.pk, actor=actor, idempotency_key="k",
                                   use_card_on_file=True)
            walls.append(time.perf_counter() - started)
            assert result.succeeded, result.error
            del holds_before

    ms = lambda seconds: f"{seconds * 1000:.1f} ms"  # noqa: E731
    print(f"database: {connection.vendor}; {len(walls)} checkouts, sandbox answering at once")
    print(f"checkout wall time: p50 {ms(statistics.median(walls))}, p90 {ms(_pct(walls, 0.9))}, "
          f"max {ms(max(walls))}")
    print(f"row lock hold per transaction ({len(holds)} transactions): p50 {ms(statistics.median(holds))}, "
          f"p90 {ms(_pct(holds, 0.9))}, max {ms(max(holds))}")

    # A second writer while the checkout is at a slow gateway.
    latency = args.latency_ms / 1000
    real_charge = SandboxGateway.charge

    def slow_charge(self, **kwargs):
        time.sleep(latency)
        return real_charge(self, **kwargs)

    SandboxGateway.charge = slow_charge
    waits, slow_walls = [], []
    for account, actor, cart in buyers[args.checkouts // 2:][:10]:
        done = {}

        def checkout(account=account, actor=actor, cart=cart, done=done):
            started = time.perf_counter()
            done["result"] = cart_checkout(account=account, cart_id=cart.pk, actor=actor,
                                           idempotency_key="k", use_card_on_file=True)
            done["wall"] = time.perf_counter() - started
            connection.close()

        thread = threading.Thread(target=checkout)
        thread.start()
        time.sleep(latency / 4)  # the checkout is at the gateway now
        started = time.perf_counter()
        with transaction.atomic():
            Subscription.objects.select_for_update().get(account=account)
            waits.append(time.perf_counter() - started)
        thread.join()
        assert done["result"].succeeded
        slow_walls.append(done["wall"])
    print(f"with the gateway answering after {args.latency_ms} ms: checkout p50 "
          f"{ms(statistics.median(slow_walls))}; a second writer locking the subscription meanwhile "
          f"waited p50 {ms(statistics.median(waits))}, max {ms(max(waits))} (the gateway's latency "
          f"if the lock were held across the call)")


if __name__ == "__main__":
    main()
