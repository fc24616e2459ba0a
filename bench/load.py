"""Load test of the customer pages against gunicorn with production settings on PostgreSQL and
Redis. ``make load`` runs it; it prints throughput and p50/p99 latency, then stops everything.

Steps: (re)create the PostgreSQL database bo_load and flush Redis database 5; migrate, seed the
demo, collect static files (production settings, dummy secrets: no payment is made); log the
Acme Admin in a few times (sessions made directly, no password hashing in the measured run);
start gunicorn (config/gunicorn.conf.py) on 127.0.0.1:8190; run locust headless
(bench/locustfile.py) at a fixed rate for a bounded time; print the figures; stop gunicorn.

Environment: LOAD_RATE (requests/s in total, default 40), LOAD_USERS (simulated visitors,
default 100: each sends LOAD_RATE/LOAD_USERS requests per second, so the offered rate holds
until a response takes longer than LOAD_USERS/LOAD_RATE seconds), LOAD_DURATION (seconds, default 30), WEB_CONCURRENCY (gunicorn workers, default 3),
LOAD_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/bo_load),
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
"""


def step(title):
    print(f"== {title}", flush=True)


def manage(*args, capture=False):
    result = subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=SERVER_ENV, check=True,
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
    print(f"{'page':<16} {'requests':>9} {'failures':>9} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
    for row in rows:
        print(
            f"{row['Name']:<16} {row['Request Count']:>9} {row['Failure Count']:>9} "
            f"{float(row['Requests/s']):>8.1f} {row['50%']:>8} {row['99%']:>8}"
        )
    total = next(r for r in rows if r["Name"] == "Aggregated")
    return total


def server_times():
    """Milliseconds gunicorn spent on each request (the access log's %(M)sms), measured load
    excluded: what the server costs, apart from the client's own queueing on a busy machine."""
    times = []
    for line in SERVER_LOG.read_text().splitlines():
        if (match := re.search(r'" \d{3} \S+ (\d+)ms "', line)) and "/healthz" not in line:
            times.append(int(match.group(1)))
    times.sort()
    if not times:
        return "no access log lines"
    pick = lambda q: times[min(len(times) - 1, int(q * len(times)))]  # noqa: E731
    return f"server time (gunicorn) p50 {pick(0.5)} ms, p99 {pick(0.99)} ms over {len(times)} requests"


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
    manage("seed_demo")
    manage("collectstatic", "--noinput", "-v0")
    sessions = next(
        line.removeprefix("SESSIONS=")
        for line in manage("shell", "-c", MAKE_SESSIONS, capture=True).splitlines()
        if line.startswith("SESSIONS=")
    )

    step(f"gunicorn on {HOST} with {SERVER_ENV['WEB_CONCURRENCY']} workers")
    log = open(SERVER_LOG, "w")  # noqa: SIM115 (closed at the end)
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "config.wsgi:application", "--config", "config/gunicorn.conf.py",
         "--bind", f"127.0.0.1:{PORT}"],
        cwd=ROOT, env=SERVER_ENV, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        wait_until_up()
        step(f"locust: {RATE:g} requests/s from {USERS} visitors for {DURATION}s")
        before = os.getloadavg()[0]
        with tempfile.TemporaryDirectory() as tmp:
            prefix = f"{tmp}/load"
            subprocess.run(
                [str(BIN / "locust"), "-f", "bench/locustfile.py", "--headless", "--host", HOST,
                 "-u", str(USERS), "-r", str(USERS), "-t", f"{DURATION}s", "--csv", prefix,
                 "--only-summary", "--loglevel", "WARNING", "--exit-code-on-error", "0"],
                cwd=ROOT, check=True, capture_output=True,
                env={**os.environ, "LOAD_USERS": str(USERS), "LOAD_RATE": str(RATE), "LOAD_SESSIONS": sessions},
            )
            total = figures(prefix)
        print(
            f"\nthroughput {int(total['Request Count']) / DURATION:.1f} req/s (target {RATE:g}), "
            f"p50 {total['50%']} ms, p99 {total['99%']} ms, "
            f"failures {total['Failure Count']} of {total['Request Count']}"
        )
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
