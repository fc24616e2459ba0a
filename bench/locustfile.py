"""The load bench/load.py puts on the customer pages (run by it; see that file).

Each simulated visitor sends requests at a fixed rate (constant_throughput), so the total rate is
LOAD_RATE requests per second whatever the latency, as long as the server keeps up. Requests say
``X-Forwarded-Proto: https`` as the load balancer does in production, so the production security
middleware (HSTS, secure cookies) runs as deployed.
"""

import os
import random

import gevent
from locust import FastHttpUser, constant_throughput, task

USERS = int(os.environ["LOAD_USERS"])
RATE = float(os.environ["LOAD_RATE"])
SESSIONS = os.environ["LOAD_SESSIONS"].split(",")


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

    # --- CHECK-INS: to be added once the agent API (POST /api/agent/v1/checkins) has landed. ---
    # A second user class (AgentCheckins) posting batches of events with
    # `Authorization: Bearer <agent key>` at its own fixed rate; bench/load.py will create the
    # agent keys while seeding and pass them in LOAD_AGENT_KEYS, as it does LOAD_SESSIONS.
