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
from connect import selectors, services, webhooks
from connect.api import csv_cell
from connect.forms import ApiTokenForm, EventFilterForm, WebhookEndpointForm
from connect.models import ApiToken, WebhookDelivery, WebhookEndpoint


@admin_required
@require_http_methods(["GET", "POST"])
def integrations(request):
    posted_webhook = request.method == "POST" and "url" in request.POST
    form = ApiTokenForm(None if posted_webhook else request.POST or None)
    webhook_form = WebhookEndpointForm(request.POST if posted_webhook else None)
    new_secret = None
    if posted_webhook and webhook_form.is_valid():
        try:
            endpoint = webhooks.webhook_endpoint_create(
                account=request.account, url=webhook_form.cleaned_data["url"],
                events=webhook_form.cleaned_data["events"], actor=Actor.for_user(request.user),
            )
        except ServiceError as error:
            webhook_form.add_error("url", str(error))
        else:
            return redirect("webhook_endpoint", endpoint.pk)
    if request.method == "POST" and not posted_webhook and form.is_valid():
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
        "webhook_form": webhook_form,
        "endpoints": WebhookEndpoint.objects.filter(account=request.account),
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


# --- webhook endpoints --------------------------------------------------------------------------

DELIVERIES_SHOWN = 50


@admin_required
@require_http_methods(["GET", "POST"])
def webhook_endpoint(request, endpoint_id):
    endpoint = get_object_or_404(WebhookEndpoint, account=request.account, pk=endpoint_id)
    if request.method == "POST":
        action = request.POST.get("action")
        actor = Actor.for_user(request.user)
        if action in ("enable", "disable"):
            webhooks.webhook_endpoint_set_active(endpoint=endpoint, active=action == "enable", actor=actor)
            messages.success(request, f"Endpoint {'enabled' if action == 'enable' else 'disabled'}.")
        elif action == "delete":
            webhooks.webhook_endpoint_delete(endpoint=endpoint, actor=actor)
            messages.success(request, "Endpoint deleted: it receives nothing more.")
            return redirect("integrations")
        return redirect("webhook_endpoint", endpoint.pk)
    deliveries = (
        WebhookDelivery.objects.filter(endpoint=endpoint).select_related("event").order_by("-event_id")[:DELIVERIES_SHOWN]
    )
    return render(request, "connect/webhook_endpoint.html", {"endpoint": endpoint, "deliveries": deliveries})


@admin_required
@require_http_methods(["POST"])
def webhook_resend(request, endpoint_id, delivery_id):
    delivery = get_object_or_404(
        WebhookDelivery.objects.select_related("endpoint__account", "event"),
        endpoint__account=request.account, endpoint_id=endpoint_id, pk=delivery_id,
    )
    webhooks.webhook_delivery_resend(delivery=delivery, actor=Actor.for_user(request.user))
    messages.success(request, f"Event {delivery.event.event_id} will be sent again.")
    return redirect("webhook_endpoint", endpoint_id)
