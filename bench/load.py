"""Load test of the customer pages and the agent API's check-ins against gunicorn with production
settings on PostgreSQL and Redis. ``make load`` runs it; it prints throughput and p50/p99
latency, then stops everything.

Steps: (re)create the PostgreSQL database bo_load and flush Redis database 5; migrate, seed the
demo, collect static files (production settings, dummy secrets: no payment is made); log the
Acme Admin in a few times (sessions made directly, no password hashing in the measured run);
make an account "Load agents" (Professional, 100 000 licenses, so compliance stays ok) with a few
agent keys;
start gunicorn (config/gunicorn.conf.py) on 127.0.0.1:8190; run locust headless
(bench/locustfile.py) at a fixed rate for a bounded time; print the figures; stop gunicorn.

Environment: LOAD_RATE (requests/s in total, default 40), LOAD_USERS (simulated visitors,
default 100: each sends LOAD_RATE/LOAD_USERS requests per second, so the offered rate holds
until a response takes longer than LOAD_USERS/LOAD_RATE seconds), LOAD_DURATION (seconds, default 30), WEB_CONCURRENCY (gunicorn workers, default 3),
LOAD_BATCH_RATE (batches of 100 check-in events per second, default 1, from LOAD_BATCH_AGENTS
agents, default 4), LOAD_SINGLE_RATE (single-event check-ins per second, default 10, from
LOAD_SINGLE_AGENTS agents, default 20), LOAD_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/bo_load),
LOAD_REDIS_URL (default redis://127.0.0.1:6379/5).
"""

import csv
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
BIN = Path(PYTHON).parent
PORT = 8190
HOST = f"http://127.0.0.1:{PORT}"
# gunicorn's output, access lines included (config/gunicorn.conf.py sends them to stdout).
SERVER_LOG = ROOT / "bench" / "gunicorn-load.log"

RATE = float(os.environ.get("LOAD_RATE", "40"))
USERS = int(os.environ.get("LOAD_USERS", "100"))
DURATION = int(os.environ.get("LOAD_DURATION", "30"))
DATABASE_URL = os.environ.get("LOAD_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bo_load")
REDIS_URL = os.environ.get("LOAD_REDIS_URL", "redis://127.0.0.1:6379/5")
BATCH_RATE = float(os.environ.get("LOAD_BATCH_RATE", "1"))
BATCH_AGENTS = int(os.environ.get("LOAD_BATCH_AGENTS", "4"))
SINGLE_RATE = float(os.environ.get("LOAD_SINGLE_RATE", "10"))
SINGLE_AGENTS = int(os.environ.get("LOAD_SINGLE_AGENTS", "20"))

SERVER_ENV = {
    **{k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL"}},
    "DJANGO_SETTINGS_MODULE": "config.settings",
    "DJANGO_ENV": "production",
    "SECRET_KEY": "load-test-only-secret-key-" + "0123456789abcdef" * 3,
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "SECURE_SSL_REDIRECT": "False",
    "PAYMENT_GATEWAY": "stripe",
    "STRIPE_SECRET_KEY": "sk_test_load_dummy_no_payment_is_made",
    "EMAIL_URL": "smtp://127.0.0.1:2525",
    "DATABASE_URL": DATABASE_URL,
    "REDIS_URL": REDIS_URL,
    "WEB_CONCURRENCY": os.environ.get("WEB_CONCURRENCY", "3"),
    "LOG_LEVEL": "WARNING",
    # The per-key rate limit guards against a runaway agent; here a few keys stand for a fleet.
    "AGENT_API_RATE_LIMIT_REQUESTS": "1000000",
}

MAKE_SESSIONS = """
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from accounts.models import User
user = User.objects.get(email="admin@acme.example.com")
keys = []
for _ in range(5):
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    keys.append(session.session_key)
print("SESSIONS=" + ",".join(keys))

from accounts.actors import Actor
from accounts.services import account_create
from licensing.services import agent_key_create
agents, _ = account_create(name="Load agents", admin_email="admin@agents.load.example.com",
                           actor=Actor.system("load"), plan_code="professional", licenses=100000)
print("AGENT_KEYS=" + ",".join(
    agent_key_create(account=agents, name=f"load {i}", actor=Actor.system("load"))[1] for i in range(4)
))
"""


def step(title):
    print(f"== {title}", flush=True)


# The demo seed puts Acme in its grace period, which emails its Admins: seeded with development
# settings (console mailer) since production's SMTP is a dummy address here.
SEED_ENV = {k: v for k, v in SERVER_ENV.items() if k not in {"DJANGO_ENV", "EMAIL_URL"}}


def manage(*args, capture=False, env=None):
    result = subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env or SERVER_ENV, check=True,
        capture_output=capture, text=True,
    )
    return result.stdout if capture else None


def recreate_database():
    import psycopg

    url = urlparse(DATABASE_URL)
    name = url.path.lstrip("/")
    admin = url._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def flush_redis():
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()


def wait_until_up(timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{HOST}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit("gunicorn did not answer /healthz in time")


def figures(csv_prefix):
    with open(f"{csv_prefix}_stats.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    print()
    print(f"{'request':<16} {'requests':>9} {'failures':>9} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
    for row in rows:
        print(
            f"{row['Name']:<16} {row['Request Count']:>9} {row['Failure Count']:>9} "
            f"{float(row['Requests/s']):>8.1f} {row['50%']:>8} {row['99%']:>8}"
        )
    return {row["Name"]: row for row in rows}


def summary(rows):
    pages = [r for name, r in rows.items() if name != "Aggregated" and not name.startswith("checkins")]
    page_count = sum(int(r["Request Count"]) for r in pages)
    page_failures = sum(int(r["Failure Count"]) for r in pages)
    print(f"\npages: {page_count / DURATION:.1f} req/s (target {RATE:g}), failures {page_failures} of {page_count}")
    events = 0
    for name, size, target in (("checkins x100", 100, BATCH_RATE), ("checkins x1", 1, SINGLE_RATE)):
        row = rows.get(name)
        if row is None:
            continue
        count = int(row["Request Count"])
        events += (count - int(row["Failure Count"])) * size
        print(f"{name}: {count / DURATION:.1f} req/s (target {target:g}), p50 {row['50%']} ms, "
              f"p99 {row['99%']} ms, failures {row['Failure Count']} of {count}")
    print(f"check-in events stored: {events / DURATION:.0f} events/s ({events} in {DURATION}s)")


def server_times():
    """Milliseconds gunicorn spent on each request (the access log's %(M)sms), measured load
    excluded: what the server costs, apart from the client's own queueing on a busy machine.
    One line for the pages, one per check-in batch size."""
    groups = {}
    for line in SERVER_LOG.read_text().splitlines():
        match = re.search(r'"(?:GET|POST) (\S+) [^"]*" \d{3} (\S+) (\d+)ms "', line)
        if not match or match.group(1) == "/healthz":
            continue
        if match.group(1).startswith("/api/agent/v1/checkins"):
            group = "checkins x100" if int(match.group(2).replace("-", "0")) > 2000 else "checkins x1"
        else:
            group = "pages"
        groups.setdefault(group, []).append(int(match.group(3)))
    if not groups:
        return "no access log lines"
    lines = []
    for group, times in sorted(groups.items()):
        times.sort()
        p50, p99 = (times[min(len(times) - 1, int(q * len(times)))] for q in (0.5, 0.99))
        lines.append(f"server time (gunicorn) {group}: p50 {p50} ms, p99 {p99} ms over {len(times)} requests")
    return "\n".join(lines)


def refuse_if_port_taken():
    import socket

    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", PORT)) == 0:
            raise SystemExit(f"127.0.0.1:{PORT} is in use: another load run? (it would drop its database)")


def main():
    refuse_if_port_taken()
    step(f"database {DATABASE_URL}, redis {REDIS_URL}")
    recreate_database()
    flush_redis()
    step("migrate, seed, collectstatic (production settings)")
    manage("migrate", "--noinput", "-v0")
    manage("seed_demo", capture=True, env=SEED_ENV)
    manage("collectstatic", "--noinput", "-v0")
    made = dict(
        line.split("=", 1) for line in manage("shell", "-c", MAKE_SESSIONS, capture=True).splitlines()
        if line.startswith(("SESSIONS=", "AGENT_KEYS="))
    )
    sessions, agent_keys = made["SESSIONS"], made["AGENT_KEYS"]

    step(f"gunicorn on {HOST} with {SERVER_ENV['WEB_CONCURRENCY']} workers")
    log = open(SERVER_LOG, "w")  # noqa: SIM115 (closed at the end)
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "config.wsgi:application", "--config", "config/gunicorn.conf.py",
         "--bind", f"127.0.0.1:{PORT}"],
        cwd=ROOT, env=SERVER_ENV, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        wait_until_up()
        step(f"locust: pages {RATE:g} requests/s from {USERS} visitors; check-ins {BATCH_RATE:g} "
             f"batches of 100/s and {SINGLE_RATE:g} single events/s from {BATCH_AGENTS + SINGLE_AGENTS} "
             f"agents; for {DURATION}s")
        before = os.getloadavg()[0]
        with tempfile.TemporaryDirectory() as tmp:
            prefix = f"{tmp}/load"
            subprocess.run(
                [str(BIN / "locust"), "-f", "bench/locustfile.py", "--headless", "--host", HOST,
                 "-u", str(USERS + BATCH_AGENTS + SINGLE_AGENTS), "-r", str(USERS + BATCH_AGENTS + SINGLE_AGENTS), "-t", f"{DURATION}s", "--csv", prefix,
                 "--only-summary", "--loglevel", "WARNING", "--exit-code-on-error", "0"],
                cwd=ROOT, check=True, capture_output=True,
                env={**os.environ, "LOAD_USERS": str(USERS), "LOAD_RATE": str(RATE), "LOAD_SESSIONS": sessions,
                     "LOAD_AGENT_KEYS": agent_keys, "LOAD_BATCH_AGENTS": str(BATCH_AGENTS),
                     "LOAD_BATCH_RATE": str(BATCH_RATE), "LOAD_SINGLE_AGENTS": str(SINGLE_AGENTS),
                     "LOAD_SINGLE_RATE": str(SINGLE_RATE)},
            )
            summary(figures(prefix))
        print(server_times())
        # Locust and gunicorn share this machine's CPUs (and so may other work): say how busy it was.
        print(f"machine: {os.cpu_count()} CPUs, load average {before:.1f} before, {os.getloadavg()[0]:.1f} after")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        log.close()
        step("stopped")


if __name__ == "__main__":
    main()
