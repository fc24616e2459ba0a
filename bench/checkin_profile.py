"""In-process cost of one check-in request: queries, wall and CPU time per request, and a
cProfile of the same requests (issue 13). Less sensitive to a busy machine than
bench/checkins.py, since CPU time is what it compares.

    .venv/bin/python bench/checkin_profile.py EVENTS REQUESTS [TOP]   # e.g. 100 200 40

Environment: DBURL (a database bench/checkins.py made, with its "bench" account; default
postgres://postgres@127.0.0.1:5432/bo_bench), ROOT (the checkout to measure, default this one),
REDIS_URL (as in production: the agent cache and the rate limit use it), PROF=0 (no profile),
SORT (pstats order, default cumulative).
"""

import cProfile
import json
import os
import pstats
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = os.environ.get("ROOT", str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, ROOT)
os.chdir(ROOT)
os.environ.update({
    "DJANGO_ENV": "production", "DJANGO_SETTINGS_MODULE": "bench.settings",
    "SECRET_KEY": "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz-0123456789",
    "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver", "EMAIL_URL": "smtp://127.0.0.1:2525",
    "PAYMENT_GATEWAY": "stripe", "STRIPE_SECRET_KEY": "sk_test_bench", "SECURE_SSL_REDIRECT": "False",
    "DATABASE_URL": os.environ.get("DBURL", "postgres://postgres@127.0.0.1:5432/bo_bench"),
    "AGENT_API_RATE_LIMIT_REQUESTS": "1000000", "LOG_LEVEL": "WARNING",
})

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from accounts.actors import Actor  # noqa: E402
from accounts.models import Account  # noqa: E402
from licensing.services import agent_key_create  # noqa: E402

n, requests = int(sys.argv[1]), int(sys.argv[2])
secret = agent_key_create(account=Account.objects.get(slug="bench"), actor=Actor.system("profile"))[1]
client = Client()
headers = {"Authorization": f"Bearer {secret}"}


def body(count):
    now = datetime.now(UTC).isoformat()
    users = [int.from_bytes(os.urandom(4)) % 2000 for _ in range(count)]
    return json.dumps({"events": [
        {"event_id": uuid.uuid4().hex, "machine_id": f"M-{u % 500}", "hostname": f"m-{u}", "domain": "BENCH",
         "username": f"user{u}", "observed_at": now,
         "activity": [{"app": "Excel", "url": "https://example.com/a", "title": "Q3", "seconds": 30}]}
        for u in users
    ]})


def post(data):
    response = client.post("/api/agent/v1/checkins", data, content_type="application/json", headers=headers)
    assert response.status_code == 200, response.content


bodies = [body(n) for _ in range(requests + 5)]
for data in bodies[:5]:  # warm: the key's cache entry, the connections
    post(data)
with CaptureQueriesContext(connection) as ctx:
    post(body(n))
print(f"queries per request: {len(ctx.captured_queries)}")
for query in ctx.captured_queries:
    print("   ", query["sql"][:110])
with connection.cursor() as cursor:
    cursor.execute("SELECT pg_backend_pid()")
    backend = cursor.fetchone()[0]


def backend_cpu():
    """The PostgreSQL backend's CPU seconds so far (it runs on this machine): utime + stime."""
    fields = Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


profile = os.environ.get("PROF", "1") == "1"
profiler = cProfile.Profile()
started, cpu, pg_cpu = time.perf_counter(), time.process_time(), backend_cpu()
if profile:
    profiler.enable()
for data in bodies[5:]:
    post(data)
if profile:
    profiler.disable()
elapsed, cpu, pg_cpu = time.perf_counter() - started, time.process_time() - cpu, backend_cpu() - pg_cpu
print(f"{n} events x {requests}: {elapsed / requests * 1000:.2f} ms wall, {cpu / requests * 1000:.2f} ms CPU "
      f"per request{' (profiled)' if profile else ''}, PostgreSQL {pg_cpu / requests * 1000:.2f} ms CPU, "
      f"load average {Path('/proc/loadavg').read_text().split()[0]}")
if profile:
    pstats.Stats(profiler).sort_stats(os.environ.get("SORT", "cumulative")).print_stats(
        int(sys.argv[3]) if len(sys.argv) > 3 else 40
    )
