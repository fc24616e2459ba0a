"""The Integrations page (API tokens) and the event log, for account Admins. Views parse, call a service, render."""

import csv

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from accounts.actors import Actor
from accounts.decorators import admin_required
from accounts.services import ServiceError
from connect import selectors, services
from connect.api import csv_cell
from connect.forms import ApiTokenForm, EventFilterForm
from connect.models import ApiToken


@admin_required
@require_http_methods(["GET", "POST"])
def integrations(request):
    form = ApiTokenForm(request.POST or None)
    new_secret = None
    if request.method == "POST" and form.is_valid():
        try:
            _token, new_secret = services.api_token_create(
                account=request.account, name=form.cleaned_data["name"], scopes=form.cleaned_data["scopes"],
                actor=Actor.for_user(request.user),
            )
        except ServiceError as error:
            form.add_error(None, str(error))
        else:
            form = ApiTokenForm()
    context = {
        "form": form,
        "tokens": ApiToken.objects.filter(account=request.account).order_by("-created_at", "-id"),
        "new_secret": new_secret,
        "has_addon": selectors.account_has_activconnect(account=request.account),
    }
    response = render(request, "connect/integrations.html", context)
    if new_secret:
        response["Cache-Control"] = "no-store"  # the token is shown once: never from a cache
    return response


@admin_required
@require_http_methods(["GET", "POST"])
def token_revoke(request, token_id):
    token = get_object_or_404(ApiToken, account=request.account, pk=token_id)
    if request.method == "POST":
        services.api_token_revoke(token=token, actor=Actor.for_user(request.user))
        messages.success(request, f"API token {token.prefix} revoked: tools using it are refused from now on.")
        return redirect("integrations")
    return render(request, "connect/token_revoke.html", {"token": token})


# --- the event log ------------------------------------------------------------------------------

EVENTS_PER_PAGE = 50
EXPORT_CHUNK_ROWS = 2000


def _event_filters(request):
    form = EventFilterForm(request.GET or None, kinds=selectors.event_kinds(account=request.account))
    if form.is_bound and not form.is_valid():
        return form, None
    data = form.cleaned_data if form.is_bound else {}
    return form, selectors.account_events(
        account=request.account, kind=data.get("kind", ""), who=data.get("who", ""),
        start=data.get("start"), end=data.get("end"),
    )


@admin_required
@require_http_methods(["GET"])
def events(request):
    form, rows = _event_filters(request)
    if rows is None:
        return render(request, "connect/events.html", {"form": form}, status=400)
    page = Paginator(rows, EVENTS_PER_PAGE).get_page(request.GET.get("page"))
    entries = [dict(zip(selectors.EVENT_COLUMNS, row, strict=True)) for row in page.object_list]
    return render(request, "connect/events.html", {"form": form, "page": page, "entries": entries})


class _Echo:
    def write(self, value):
        return value


@admin_required
@require_http_methods(["GET"])
def events_export(request):
    form, rows = _event_filters(request)
    if rows is None:
        return render(request, "connect/events.html", {"form": form}, status=400)

    def lines():
        writer = csv.writer(_Echo())
        yield writer.writerow(selectors.EVENT_COLUMNS)
        for row in rows.iterator(chunk_size=EXPORT_CHUNK_ROWS):
            yield writer.writerow([csv_cell(v) for v in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="event-log.csv"'
    return response
