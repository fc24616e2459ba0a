"""When the database is unreachable (restarting, failing over, out of connections) a request
answers 503 Service Unavailable with Retry-After instead of a 500: the client (an agent, a
browser, the load balancer) is told to come back, and an agent retries its batch with the same
event ids, which the API stores once.

Two places catch it, because Django turns an exception into a response at every middleware
layer: ``DatabaseUnavailableMiddleware.process_exception`` for errors raised by a view, and
``server_error`` (``handler500`` in config/urls.py) for errors raised by a middleware (the session
or the current account looked up before the view runs). The agent API answers problem+json
itself (licensing/api.py) with the same status and header.

A transaction that lost a deadlock or a serialization failure more times than
``config.db.retry_on_conflict`` retries it is not an unreachable database: it answers 503 "busy,
retry" with a short Retry-After (``database_busy``).
"""

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.views.defaults import server_error as default_server_error

from config.db import TransactionConflict, conflict_reason

DATABASE_ERRORS = (OperationalError, InterfaceError, TransactionConflict)
RETRY_AFTER_SECONDS = 10
BUSY_RETRY_AFTER_SECONDS = 1
PROBLEM = "application/problem+json"

BUSY_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Busy, please retry</title></head>
<body><h1>Busy, please retry</h1>
<p>Someone else was changing the same data at the same moment. Nothing was changed by your
request: send it again.</p>
</body></html>
"""

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Back in a moment</title></head>
<body><h1>Back in a moment</h1>
<p>The service is briefly unavailable. Nothing you did was lost: try again in a few seconds.</p>
</body></html>
"""


def database_busy(request):
    """A transaction lost a race against another one, after its retries: nothing was changed."""
    if request.path.startswith("/api/"):
        response = JsonResponse(
            {"type": "about:blank", "title": "Busy", "status": 503,
             "detail": "Busy, retry: another request was changing the same data; nothing was recorded. "
                       "Send the same request again after the delay."},
            status=503, content_type=PROBLEM,
        )
    else:
        response = HttpResponse(BUSY_PAGE, status=503)
    response["Retry-After"] = str(BUSY_RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


def database_unavailable(request):
    """A response that needs no database: no template context, no session, no user."""
    if conflict_reason(sys.exc_info()[1]) is not None:
        return database_busy(request)
    if request.path.startswith("/api/"):
        response = JsonResponse(
            {"type": "about:blank", "title": "Service unavailable", "status": 503,
             "detail": "The database is unreachable; nothing was recorded. Retry after the delay."},
            status=503, content_type=PROBLEM,
        )
    else:
        response = HttpResponse(PAGE, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if conflict_reason(exception) is not None:
            return database_busy(request)
        if isinstance(exception, DATABASE_ERRORS):
            return database_unavailable(request)
        return None


def server_error(request):
    """handler500: a database error raised outside a view is a 503 too; anything else is the
    ordinary 500 page."""
    if isinstance(sys.exc_info()[1], DATABASE_ERRORS):
        return database_unavailable(request)
    return default_server_error(request)
