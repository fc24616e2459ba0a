"""PostgreSQL restarted under check-in load: clients get 503 with Retry-After, not 500, and
after retrying every event is stored exactly once. ``make faults`` runs it.

Steps: (re)create the database bo_faults and flush Redis database 6; migrate (production
settings, dummy secrets); make an account with an agent key; start gunicorn
(config/gunicorn.conf.py) on 127.0.0.1:8191; CLIENTS agents each send BATCHES batches of
EVENTS events at a fixed pace, every event with its own event_id; a batch is sent again, the
same events, until it is answered 200 (after a 503 the client waits the Retry-After it was
given; after a connection error or a timeout, one second). RESTART_AFTER seconds in, PostgreSQL
is restarted (``pg_ctlcluster --skip-systemctl-redirect <version> main restart``: a fast
shutdown, which cuts every connection and rolls back open transactions). At the end it checks:

- the database holds exactly the event ids sent: none lost, none twice (count and set);
- every answer during the outage was a 503 carrying Retry-After; no 500;
- at least one 503 was seen (else the restart fell between requests: the run proves nothing).

It prints the figures and exits 1 if a check failed. CAUTION: the restart disturbs everything
else using this PostgreSQL server (other test runs): run it at a quiet moment; it is never part
of the test suite. ``--no-restart`` runs the same load without the restart (a dry run).

Environment: FAULTS_CLIENTS (8), FAULTS_BATCHES (40 per client), FAULTS_EVENTS (10 per batch),
FAULTS_RATE (batches per second per client, 4), FAULTS_RESTART_AFTER (seconds, 3),
FAULTS_DATABASE_URL (postgres://postgres@127.0.0.1:5432/bo_faults), FAULTS_REDIS_URL
(redis://127.0.0.1:6379/6).
"""

import argparse
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
BIN = Path(PYTHON).parent
PORT = 8191
SERVER_LOG = ROOT / "bench" / "gunicorn-faults.log"

CLIENTS = int(os.environ.get("FAULTS_CLIENTS", "8"))
BATCHES = int(os.environ.get("FAULTS_BATCHES", "40"))
EVENTS = int(os.environ.get("FAULTS_EVENTS", "10"))
RATE = float(os.environ.get("FAULTS_RATE", "4"))
RESTART_AFTER = float(os.environ.get("FAULTS_RESTART_AFTER", "3"))
DATABASE_URL = os.environ.get("FAULTS_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bo_faults")
REDIS_URL = os.environ.get("FAULTS_REDIS_URL", "redis://127.0.0.1:6379/6")

SERVER_ENV = {
    **{k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL"}},
    "DJANGO_SETTINGS_MODULE": "config.settings",
    "DJANGO_ENV": "production",
    "SECRET_KEY": "faults-run-only-secret-key-" + "0123456789abcdef" * 3,
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "SECURE_SSL_REDIRECT": "False",
    "PAYMENT_GATEWAY": "stripe",
    "STRIPE_SECRET_KEY": "sk_test_faults_dummy_no_payment_is_made",
    "EMAIL_URL": "smtp://127.0.0.1:2525",
    "DATABASE_URL": DATABASE_URL,
    "REDIS_URL": REDIS_URL,
    "WEB_CONCURRENCY": os.environ.get("WEB_CONCURRENCY", "3"),
    "LOG_LEVEL": "WARNING",
    "AGENT_API_RATE_LIMIT_REQUESTS": "1000000",
}

MAKE_KEY = """
from accounts.actors import Actor
from accounts.services import account_create
from licensing.services import agent_key_create
account, _ = account_create(name="Faults", admin_email="admin@faults.example.com",
                            actor=Actor.system("faults"), plan_code="professional", licenses=100000)
print("ACCOUNT=" + str(account.pk))
print("KEY=" + agent_key_create(account=account, name="faults", actor=Actor.system("faults"))[1])
"""


def step(title):
    print(f"== {title}", flush=True)


def recreate_database():
    import psycopg

    url = urlparse(DATABASE_URL)
    admin = url._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.path.lstrip("/")}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{url.path.lstrip("/")}"')


def wait_until_up(timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit("gunicorn did not answer /healthz in time")


class Outcomes:
    """What the clients saw, shared by their threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.answers = Counter()  # "200", "503 with Retry-After", "503 without", "500", "connection error"
        self.results = Counter()  # per event: accepted / duplicate / other
        self.sent = []  # every event id, once, as generated
        self.latencies = []
        self.retry_afters = Counter()

    def add(self, **kwargs):
        with self.lock:
            for name, value in kwargs.items():
                target = getattr(self, name)
                if isinstance(target, list):
                    target.append(value)
                else:
                    target.update(value if isinstance(value, Counter) else [value])


def client(number, secret, outcomes, stop_at):
    period = 1 / RATE
    next_at = time.monotonic() + number * period / CLIENTS
    for b in range(BATCHES):
        events = [
            {
                "event_id": f"faults-{uuid.uuid4().hex}",
                "machine_id": f"FAULT-PC-{number:02d}",
                "hostname": f"fault-pc-{number:02d}",
                "domain": "FAULTS",
                "username": f"user{number:02d}-{b % 5}",
                "observed_at": datetime.now(UTC).isoformat(),
            }
            for _ in range(EVENTS)
        ]
        with outcomes.lock:
            outcomes.sent.extend(e["event_id"] for e in events)
        body = json.dumps({"events": events})
        while True:  # the same batch until it is stored
            time.sleep(max(0.0, next_at - time.monotonic()))
            next_at = max(next_at, time.monotonic()) + period
            started = time.monotonic()
            try:
                conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=15)
                conn.request("POST", "/api/agent/v1/checkins", body=body, headers={
                    "Authorization": f"Bearer {secret}", "Content-Type": "application/json",
                    "X-Forwarded-Proto": "https",
                })
                response = conn.getresponse()
                payload = response.read()
                status, retry_after = response.status, response.getheader("Retry-After")
                conn.close()
            except OSError:
                outcomes.add(answers="connection error")
                next_at = time.monotonic() + 1
                continue
            outcomes.add(latencies=time.monotonic() - started)
            if status == 200:
                outcomes.add(answers="200", results=Counter(r["result"] for r in json.loads(payload)["results"]))
                break
            if status == 503 and retry_after:
                outcomes.add(answers="503 with Retry-After", retry_afters=retry_after)
                next_at = time.monotonic() + int(retry_after)
            else:
                outcomes.add(answers=f"{status}" + (" without Retry-After" if status == 503 else ""))
                next_at = time.monotonic() + 1
            if time.monotonic() > stop_at:
                return


def restart_postgres():
    version = sorted(os.listdir("/etc/postgresql"), key=lambda v: float(v))[-1]
    started = time.monotonic()
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"], check=True)
    return version, time.monotonic() - started


def stored_event_ids(account_id):
    import psycopg

    with psycopg.connect(DATABASE_URL) as conn:
        return [row[0] for row in conn.execute(
            "SELECT event_id FROM licensing_checkinevent WHERE account_id = %s", [account_id])]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-restart", action="store_true", help="the same load without the restart")
    args = parser.parse_args()

    import socket

    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", PORT)) == 0:
            raise SystemExit(f"127.0.0.1:{PORT} is in use: another faults run?")

    step(f"database {DATABASE_URL}, redis {REDIS_URL}")
    recreate_database()
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    step("migrate (production settings), an account with an agent key")
    subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=SERVER_ENV, check=True)
    made = dict(
        line.split("=", 1)
        for line in subprocess.run([PYTHON, "manage.py", "shell", "-c", MAKE_KEY], cwd=ROOT, env=SERVER_ENV,
                                   check=True, capture_output=True, text=True).stdout.splitlines()
        if "=" in line
    )
    account_id, secret = int(made["ACCOUNT"]), made["KEY"]

    step(f"gunicorn on 127.0.0.1:{PORT} with {SERVER_ENV['WEB_CONCURRENCY']} workers")
    log = open(SERVER_LOG, "w")  # noqa: SIM115 (closed at the end)
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "config.wsgi:application", "--config", "config/gunicorn.conf.py",
         "--bind", f"127.0.0.1:{PORT}"],
        cwd=ROOT, env=SERVER_ENV, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    outcomes = Outcomes()
    restart = None
    try:
        wait_until_up()
        total = CLIENTS * BATCHES * EVENTS
        step(f"{CLIENTS} agents x {BATCHES} batches x {EVENTS} events = {total} events, "
             f"{CLIENTS * RATE:g} batches/s; PostgreSQL restart after {RESTART_AFTER:g}s"
             + (" (skipped: --no-restart)" if args.no_restart else ""))
        began = time.monotonic()
        stop_at = began + BATCHES / RATE + 180  # a client gives up on a batch after this
        threads = [threading.Thread(target=client, args=(n, secret, outcomes, stop_at)) for n in range(CLIENTS)]
        for thread in threads:
            thread.start()
        if not args.no_restart:
            time.sleep(RESTART_AFTER)
            version, seconds = restart_postgres()
            restart = f"PostgreSQL {version} restarted in {seconds:.1f}s at t={RESTART_AFTER:g}s"
            step(restart)
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - began
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        log.close()

    stored = stored_event_ids(account_id)
    sent = outcomes.sent
    missing = set(sent) - set(stored)
    extra = set(stored) - set(sent)
    twice = len(stored) - len(set(stored))
    latencies = sorted(outcomes.latencies)
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000  # noqa: E731

    print()
    print(f"events sent {len(sent)}, stored {len(stored)}, missing {len(missing)}, unexpected {len(extra)}, "
          f"stored twice {twice}")
    print("answers: " + ", ".join(f"{name} {count}" for name, count in sorted(outcomes.answers.items())))
    print("per event on the 200: " + ", ".join(f"{name} {count}" for name, count in sorted(outcomes.results.items())))
    if outcomes.retry_afters:
        print("Retry-After values: " + ", ".join(f"{v}s x{c}" for v, c in sorted(outcomes.retry_afters.items())))
    print(f"run {elapsed:.1f}s; request latency p50 {pick(0.5):.0f} ms, p99 {pick(0.99):.0f} ms")
    if restart:
        print(restart)
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")

    failures = []
    if len(stored) != len(sent) or missing or extra or twice:
        failures.append("the stored events are not exactly the events sent")
    bad = {k: v for k, v in outcomes.answers.items() if k not in {"200", "503 with Retry-After", "connection error"}}
    if bad:
        failures.append(f"answers other than 200 and 503 with Retry-After: {bad}")
    if not args.no_restart and not outcomes.answers["503 with Retry-After"]:
        failures.append("no 503 seen: the restart fell between requests, run again")
    for failure in failures:
        print(f"FAILED: {failure}")
    if not failures:
        print("OK: every event stored exactly once" + ("" if args.no_restart else "; the outage answered 503 with Retry-After"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
