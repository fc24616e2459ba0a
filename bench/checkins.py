"""Benchmark of the agent API: events/s for batches of 100, p50/p99 latency at a fixed rate of
single-event check-ins, compared with a bare Django JSON view measured in the same run.

    .venv/bin/python bench/checkins.py [--seconds 20] [--workers 4] [--clients 8] [--rate 40]
                                       [--repeat 3]

Starts gunicorn (production settings, PostgreSQL database ``bo_bench``, recreated) on
127.0.0.1:8137 and prints the figures. Needs PostgreSQL at BENCH_PG (default
postgres://postgres@127.0.0.1:5432).

Method: one gunicorn (sync workers) serves both the bare view and the API. A warm-up of batches
creates the 2,000 users (so the measured check-ins are the steady state of a fleet: known users
on known machines), then ANALYZE. Each round then measures (1) batches of 100 events, closed
loop, ``--clients`` threads; (2) a fixed rate (open loop) of ``--rate`` requests/s, the bare view
and single-event check-ins taking turns, after 3 s of the same traffic unmeasured; (3) the same
two requests one after the other from one client (no queueing: the server's own cost). The
load average is printed with each round: the machine is shared, so compare figures of the same
round only.
"""

import argparse
import http.client
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PORT = 8137
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
BENCH_DB = os.environ.get("BENCH_DB", "bo_bench")  # one per engineer on a shared server
DB_URL = f"{PG}/{BENCH_DB}"

ENV = {
    **os.environ,
    "DJANGO_ENV": "production",
    "DJANGO_SETTINGS_MODULE": "bench.settings",
    "SECRET_KEY": "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz-0123456789",
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "EMAIL_URL": "smtp://127.0.0.1:2525",
    "PAYMENT_GATEWAY": "stripe",
    "STRIPE_SECRET_KEY": "sk_test_bench",
    "SECURE_SSL_REDIRECT": "False",
    "DATABASE_URL": DB_URL,
    # Redis as in production (the agent-key cache and the rate limit use it); BENCH_REDIS_URL=""
    # measures without. Database 12, emptied at each run.
    "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12"),
    "AGENT_API_RATE_LIMIT_REQUESTS": "1000000",
    "LOG_LEVEL": "WARNING",
    "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
}
PY = str(ROOT / ".venv" / "bin" / "python")

SETUP = """
import django; django.setup()
from accounts.actors import Actor
from accounts.services import account_create
from licensing.services import agent_key_create
account, _ = account_create(name="Bench", slug="bench", admin_email="bench@example.com",
    actor=Actor.system("bench"), plan_code="professional", licenses=100000)
print(agent_key_create(account=account, actor=Actor.system("bench"))[1])
"""


def run(cmd, **kw):
    return subprocess.run(cmd, env=ENV, cwd=ROOT, check=True, capture_output=True, text=True, **kw)


def prepare():
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {BENCH_DB}")
    if ENV["REDIS_URL"]:
        import redis

        redis.Redis.from_url(ENV["REDIS_URL"]).flushdb()
    run([PY, "manage.py", "migrate", "-v0"])
    return run([PY, "-c", SETUP]).stdout.strip().splitlines()[-1]


def start_gunicorn(workers, worker_class="sync", threads=1):
    proc = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "gunicorn"), "config.wsgi", "-b", f"127.0.0.1:{PORT}",
         "-w", str(workers), "-k", worker_class, "--threads", str(threads),
         "--access-logfile", "-", "--log-level", "warning"],
        env=ENV, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=1)
            conn.request("GET", "/bench/bare")
            conn.getresponse().read()
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    sys.exit("gunicorn did not start")


def post(path, body, headers):
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
    started = time.perf_counter()
    conn.request("POST", path, body=body, headers=headers)
    response = conn.getresponse()
    data = response.read()
    elapsed = time.perf_counter() - started
    conn.close()
    if response.status != 200:
        raise RuntimeError(f"{path}: {response.status} {data[:300]!r}")
    return elapsed


def events(n, users, shard=None, shards=1):
    """A batch of ``n`` events of random users among ``users`` (4 users a machine). With
    ``shard``: only the users and machines of that shard (one of ``shards``), as the agents of
    a fleet each report their own machines' users."""
    now = datetime.now(UTC).isoformat()
    out = []
    for _ in range(n):
        u = int.from_bytes(os.urandom(4)) % users
        machine = f"M-{u % (users // 4 or 1)}"
        if shard is not None:
            u = shard + shards * (u // shards)
            machine = f"M-{shard}-{(u // shards) % (users // 4 // shards or 1)}"
        out.append({
            "event_id": uuid.uuid4().hex, "machine_id": machine,
            "hostname": f"m-{u}", "domain": "BENCH", "username": f"user{u}", "observed_at": now,
            "activity": [{"app": "Excel", "url": "https://example.com/a", "title": "Q3", "seconds": 30}],
        })
    return json.dumps({"events": out}).encode()


def throughput(secret, seconds, clients, users, batch=100, pool=400, sharded=False):
    """Closed loop: ``clients`` threads post batches back to back. The bodies are made before
    the clock starts, so the load generator spends its CPU on sending, not on JSON. ``sharded``:
    each client sends its own users' events (no two requests at once write the same rows)."""
    headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
    shards = [[events(batch, users, *((i, clients) if sharded else ())) for _ in range(pool // clients)]
              for i in range(clients)]
    done, latencies = [0], []
    lock = threading.Lock()

    def client(bodies):
        while time.perf_counter() < stop:
            with lock:
                if not bodies:
                    return
                body = bodies.pop()
            elapsed = post("/api/agent/v1/checkins", body, headers)
            with lock:
                done[0] += batch
                latencies.append(elapsed)

    started = time.perf_counter()
    stop = started + seconds
    threads = [threading.Thread(target=client, args=(shards[i],)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return done[0] / (time.perf_counter() - started), latencies


def fixed_rate(requests, rate, seconds):
    """Open loop: one request every 1/rate s, each on its own thread, taking turns through
    ``requests`` ({name: (path, make_body, headers)}) so that every kind sees the same machine
    load. Returns {name: [latency, ...]}."""
    names = list(requests)
    latencies = {name: [] for name in names}
    threads = []
    lock = threading.Lock()

    def one(name, body):
        path, _, headers = requests[name]
        elapsed = post(path, body, headers)
        with lock:
            latencies[name].append(elapsed)

    start = time.perf_counter()
    for i in range(int(rate * seconds)):
        name = names[i % len(names)]
        body = requests[name][1]()
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        t = threading.Thread(target=one, args=(name, body))
        t.start()
        threads.append(t)
    for t in threads:
        t.join()
    return latencies


def sequential(requests, count):
    """One client, one request at a time, taking turns: the server's cost without queueing."""
    latencies = {name: [] for name in requests}
    for i in range(count * len(requests)):
        name = list(requests)[i % len(requests)]
        path, make_body, headers = requests[name]
        latencies[name].append(post(path, make_body(), headers))
    return latencies


def loadavg():
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "?"


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] * 1000


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20)
    # 2 per CPU, as config/gunicorn.conf.py: on 2 CPUs 3 or 4 served the most, 6 fewer.
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rate", type=float, default=40, help="requests/s of the latency runs")
    parser.add_argument("--repeat", type=int, default=3, help="rounds on the same server")
    parser.add_argument("--sequential", type=int, default=300, help="requests of each kind, one at a time")
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--sharded", action="store_true",
                        help="each batch client sends its own users and machines, as a fleet's agents do")
    parser.add_argument("--worker-class", default="sync", help="gunicorn's: sync or gthread")
    parser.add_argument("--threads", type=int, default=1, help="threads per gthread worker")
    args = parser.parse_args()

    secret = prepare()
    proc = start_gunicorn(args.workers, args.worker_class, args.threads)
    try:
        headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
        # Warm-up: creates the users, so the measured runs are steady-state check-ins.
        throughput(secret, 5, args.clients, args.users, pool=200, sharded=args.sharded)
        # Fresh tables: give the planner statistics, as autovacuum does on a live database.
        run([PY, "manage.py", "dbshell", "--", "-c", "ANALYZE"])
        requests = {
            "bare": ("/bench/bare", lambda: b"{}", {"Content-Type": "application/json"}),
            # With --sharded, of a shard's users and machines too: the warm-up made those, and a
            # single check-in of the default's machine names would be of a new machine each time.
            "single": ("/api/agent/v1/checkins", lambda: events(1, args.users, *(
                (int.from_bytes(os.urandom(2)) % args.clients, args.clients) if args.sharded else ())), headers),
        }
        print(f"{args.workers} gunicorn {args.worker_class} workers x {args.threads} threads, {os.cpu_count()} CPUs, "
              f"load generator on the same machine; cache: {'Redis' if ENV.get('REDIS_URL') else 'per process'}, "
              f"database pool: {ENV.get('DATABASE_POOL') or 'no (CONN_MAX_AGE)'}")
        for round_ in range(1, args.repeat + 1):
            print(f"round {round_} (load average {loadavg()}):")
            eps, batch_lat = throughput(secret, args.seconds, args.clients, args.users, pool=int(args.seconds * 400),
                                        sharded=args.sharded)
            print(f"  batches of 100 events, {args.clients} clients{' (sharded)' if args.sharded else ''}: {eps:,.0f} events/s  ({len(batch_lat)} "
                  f"requests; latency p50 {pct(batch_lat, 50):.1f} ms, p99 {pct(batch_lat, 99):.1f} ms)")
            fixed_rate(requests, args.rate, 3)  # warm-up at the same rate, not measured
            started = time.perf_counter()
            runs = fixed_rate(requests, args.rate, args.seconds)
            achieved = sum(len(v) for v in runs.values()) / (time.perf_counter() - started)
            bare, single = runs["bare"], runs["single"]
            print(f"  fixed rate {args.rate:.0f} requests/s for {args.seconds:.0f} s ({achieved:.1f} answered/s, "
                  f"{len(bare)} + {len(single)} requests; load average {loadavg()}), taking turns:")
            print(f"    bare Django JSON view : p50 {pct(bare, 50):.2f} ms, p99 {pct(bare, 99):.2f} ms")
            print(f"    single-event check-in : p50 {pct(single, 50):.2f} ms, p99 {pct(single, 99):.2f} ms")
            print(f"    single-event / bare   : p50 {pct(single, 50) / pct(bare, 50):.2f}x, "
                  f"p99 {pct(single, 99) / pct(bare, 99):.2f}x")
            seq = sequential(requests, args.sequential)
            print(f"  one after the other, {args.sequential} each: bare p50 {pct(seq['bare'], 50):.2f} ms "
                  f"(p99 {pct(seq['bare'], 99):.2f}), single-event p50 {pct(seq['single'], 50):.2f} ms "
                  f"(p99 {pct(seq['single'], 99):.2f}): {pct(seq['single'], 50) / pct(seq['bare'], 50):.2f}x")
    finally:
        proc.terminate()
        proc.wait()


if __name__ == "__main__":
    main()
