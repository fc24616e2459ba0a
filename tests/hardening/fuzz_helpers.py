"""What the fuzz tests share: bounded, reproducible hypothesis settings, row counts, and the
Django app as a WSGI callable that runs inside the test's transaction."""

import os

from django.test.client import ClientHandler
from hypothesis import HealthCheck, settings

# FUZZ_EXAMPLES=2000 runs every fuzz test that many examples (and randomly: a long local run
# should explore, CI should repeat itself).
FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "0") or 0)


def fuzz_settings(examples):
    """``examples`` in CI (derandomized: the same inputs every run), FUZZ_EXAMPLES if set."""
    return settings(
        max_examples=FUZZ_EXAMPLES or examples,
        derandomize=not FUZZ_EXAMPLES,
        deadline=None,
        database=None,
        print_blob=True,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.filter_too_much,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
    )


def row_counts(*models):
    return {model.__name__: model.objects.count() for model in models}


def count_deltas(before, after):
    return {name: after[name] - before[name] for name in before if after[name] != before[name]}


class InProcessWSGI:
    """The project as a WSGI application for schemathesis' werkzeug transport.

    Django's test ClientHandler instead of the real WSGIHandler: it keeps the request from
    closing the database connection, so every request runs inside the test's transaction (rolled
    back at the end of the test) like a request of the Django test client.
    """

    def __init__(self):
        self.handler = ClientHandler(enforce_csrf_checks=True)

    def __call__(self, environ, start_response):
        response = self.handler(environ)
        # ClientHandler has closed the response already (a streaming one closes once consumed).
        content = b"".join(response) if response.streaming else response.content
        headers = list(response.items())
        headers += [("Set-Cookie", cookie.output(header="").strip()) for cookie in response.cookies.values()]
        start_response(f"{response.status_code} {response.reason_phrase}", headers)
        return [content]
