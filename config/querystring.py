"""Query strings are validated before any view or admin page reads them (issue 11, item 6).

A NUL byte in a search box (``/users/<id>/merge/?q=%00``, an admin changelist's ``?q=%00`` or a
filter value, the admin's autocomplete ``term=%00``) reached PostgreSQL, which refuses NUL in
text, and answered 500. No page of ours has a use for a NUL or any other C0 control character
but tab in a query-string key or value, so such a request is answered 400 at once, with a page
that says why (problem+json under /api/), before any query runs.
"""

import json
import re

from django.http import HttpResponse
from django.template.loader import render_to_string

# C0 controls but tab, newline and carriage return (which a textarea's GET form may carry).
FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
DETAIL = "A search or filter in the address contains a control character (such as NUL) that cannot be searched for."


def _bad(request):
    for key, values in request.GET.lists():
        if FORBIDDEN.search(key) or any(FORBIDDEN.search(value) for value in values):
            return True
    return False


class QueryStringValidationMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.META.get("QUERY_STRING") and _bad(request):
            if request.path.startswith("/api/"):
                body = {"type": "about:blank", "title": "Bad Request", "status": 400, "detail": DETAIL}
                return HttpResponse(json.dumps(body), status=400, content_type="application/problem+json")
            return HttpResponse(
                render_to_string("400.html", {"detail": DETAIL}, request=request), status=400
            )
        return self.get_response(request)
