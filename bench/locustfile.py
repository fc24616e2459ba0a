"""The load bench/load.py puts on the customer pages and the agent API (run by it; see that file).

Each simulated visitor sends requests at a fixed rate (constant_throughput), so the total rate is
LOAD_RATE requests per second whatever the latency, as long as the server keeps up. Requests say
``X-Forwarded-Proto: https`` as the load balancer does in production, so the production security
middleware (HSTS, secure cookies) runs as deployed.
"""

import os
import random
import uuid
from datetime import UTC, datetime

import gevent
from locust import FastHttpUser, constant_throughput, task

USERS = int(os.environ["LOAD_USERS"])
RATE = float(os.environ["LOAD_RATE"])
SESSIONS = os.environ["LOAD_SESSIONS"].split(",")
AGENT_KEYS = os.environ["LOAD_AGENT_KEYS"].split(",")
BATCH_AGENTS = int(os.environ["LOAD_BATCH_AGENTS"])
BATCH_RATE = float(os.environ["LOAD_BATCH_RATE"])
SINGLE_AGENTS = int(os.environ["LOAD_SINGLE_AGENTS"])
SINGLE_RATE = float(os.environ["LOAD_SINGLE_RATE"])
BATCH_SIZE = 100
# A fleet of machines and people, so events land on existing tracked users and machines (the
# steady state of an account), with a few new ones.
MACHINES = 400
USERNAMES = 1000


class CustomerPages(FastHttpUser):
    # geventhttpclient: a fraction of requests' CPU, so the client is not what is measured.
    wait_time = constant_throughput(RATE / USERS)
    default_headers = {"X-Forwarded-Proto": "https"}

    def on_start(self):
        # An Admin of Acme, logged in beforehand (bench/load.py made the sessions): the cookie is
        # Secure, so it is sent by hand over the plain-HTTP hop behind the "load balancer".
        self.session_cookie = f"sessionid={random.choice(SESSIONS)}"
        # Spread the visitors over one period: started together, they would stay in step and
        # send their requests in bursts of LOAD_USERS instead of a steady LOAD_RATE.
        gevent.sleep(random.uniform(0, USERS / RATE))

    @task(3)
    def pricing(self):
        self.client.get("/pricing/", name="/pricing/")

    @task(2)
    def login_page(self):
        self.client.get("/login/", name="/login/", headers={"Cookie": ""})

    @task(3)
    def dashboard(self):
        with self.client.get("/", name="/ (dashboard)", headers={"Cookie": self.session_cookie},
                             allow_redirects=False, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"dashboard answered {response.status_code}")



def checkin_event():
    n = random.randrange(USERNAMES)
    return {
        "event_id": uuid.uuid4().hex,  # unique: a repeat would be a duplicate, not new work
        "machine_id": f"LOAD-PC-{random.randrange(MACHINES):04d}",
        "hostname": f"load-pc-{random.randrange(MACHINES):04d}",
        "domain": "LOADCORP",
        "username": f"user{n:04d}",
        "observed_at": datetime.now(UTC).isoformat(),
        "activity": [{"app": random.choice(("Excel", "Outlook", "Chrome", "Teams")), "seconds": 300}],
    }


class _Agent(FastHttpUser):
    abstract = True

    def on_start(self):
        self.headers = {"Authorization": f"Bearer {random.choice(AGENT_KEYS)}",
                        "Content-Type": "application/json", "X-Forwarded-Proto": "https"}
        gevent.sleep(random.uniform(0, 1 / self.rate_each))

    def post_events(self, count, name):
        with self.client.post("/api/agent/v1/checkins", json={"events": [checkin_event() for _ in range(count)]},
                              headers=self.headers, name=name, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"check-ins answered {response.status_code}")
            else:
                accepted = sum(r["result"] == "accepted" for r in response.json()["results"])
                if accepted != count:
                    response.failure(f"{accepted} of {count} events accepted")


class AgentBatches(_Agent):
    """Agents that were offline, sending their backlog: batches of 100 events."""

    fixed_count = BATCH_AGENTS
    rate_each = BATCH_RATE / max(1, BATCH_AGENTS)
    wait_time = constant_throughput(rate_each)

    @task
    def batch(self):
        self.post_events(BATCH_SIZE, f"checkins x{BATCH_SIZE}")


class AgentSingles(_Agent):
    """Agents on line: one event at each logon."""

    fixed_count = SINGLE_AGENTS
    rate_each = SINGLE_RATE / max(1, SINGLE_AGENTS)
    wait_time = constant_throughput(rate_each)

    @task
    def single(self):
        self.post_events(1, "checkins x1")
