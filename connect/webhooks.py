"""Outbound webhooks: endpoints, events, signed deliveries in order, retries (docs/connect.md).

- An event is recorded once per account (``webhook_event_record``, inside the transaction of the
  change it tells about) with a delivery per subscribed endpoint; after the commit the task
  cluster is asked to deliver (``django_q.tasks.async_task``), and the minute job
  ``deliver_webhooks`` retries whatever is due, so a lost task only delays a delivery.
- Deliveries of one endpoint go out in the order of the account's events: the oldest pending one
  first, and none after it while it fails (a receiver never sees "paid" before "issued").
  One sender per endpoint at a time, by a lease on the endpoint row: no row lock is held while
  the receiver is called.
- At least once: a receiver that answered 2xx but whose answer was lost gets the event again;
  it dedupes on the ``Webhook-Id`` header (the event id, also in the body).
- Signed like Stripe's: ``Webhook-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>"
  with the endpoint's secret>``; receivers refuse a t older than 5 minutes (replay).
- Retries back off (``RETRY_DELAYS``); an endpoint failing for a day (``DISABLE_AFTER``) is
  disabled and the account's Admins are emailed.
- SSRF guard (``address_refusal``): the host is resolved and every address must be public;
  the connection goes to the address checked (no second lookup an attacker's DNS could change).
  ``WEBHOOKS_ALLOW_PRIVATE_ADDRESSES`` (DEBUG by default; tests) allows loopback and http.
"""

import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import secrets
import socket
import ssl
import time
import uuid
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.mail import email_queue
from accounts.selectors import admin_emails
from accounts.services import ServiceError, audit_record
from billing.models import Subscription
from connect.models import (
    DeliveryState,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
    WebhookEventType,
)
from connect.selectors import ACTIVCONNECT, account_has_activconnect

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10
LEASE = timedelta(minutes=2)
# After the first failure: 1 min, 5 min, 30 min, 2 h, then every 4 h until a day has passed.
RETRY_DELAYS = [timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2)]
RETRY_EVERY = timedelta(hours=4)
DISABLE_AFTER = timedelta(days=1)  # the issue: "disabled after a day of failures"
MAX_PER_RUN = 100
SIGNATURE_TOLERANCE_SECONDS = 300


# --- the SSRF guard ----------------------------------------------------------------------------

def _allow_private():
    return getattr(settings, "WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", settings.DEBUG)


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not (ip.is_multicast or ip.is_reserved)


def resolve_public(host: str, port: int) -> tuple[str | None, str]:
    """(an address of ``host`` to connect to, "") or (None, why it is refused): every address
    the host resolves to must be public (not private, loopback, link-local, reserved, shared)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError):
        return None, f"{host} does not resolve."
    addresses = sorted({info[4][0] for info in infos})
    if not addresses:
        return None, f"{host} does not resolve."
    if not _allow_private():
        private = [a for a in addresses if not _public(a)]
        if private:
            return None, f"{host} resolves to a private or reserved address ({private[0]}): refused."
    return addresses[0], ""


def url_refusal(url: str) -> str:
    """Why ``url`` may not be an endpoint, or "". HTTPS only in production (the secret and the
    payload travel in the request)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "This is not a valid URL."
    allowed = ("https", "http") if _allow_private() else ("https",)
    if parts.scheme not in allowed:
        return "The URL must start with https://."
    if not parts.hostname:
        return "The URL has no host."
    if parts.username or parts.password:
        return "The URL must not carry a user name or password: use the signature to authenticate us."
    address, why = resolve_public(parts.hostname, port or (443 if parts.scheme == "https" else 80))
    return why if address is None else ""


# --- signing -----------------------------------------------------------------------------------

def signature_header(*, secret: str, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


# --- endpoints ---------------------------------------------------------------------------------

def webhook_endpoint_create(*, account, url: str, events, actor) -> WebhookEndpoint:
    events = sorted(set(events))
    if not events or any(e not in WebhookEventType.values for e in events):
        raise ServiceError("Choose at least one event.")
    if not account_has_activconnect(account=account):
        raise ServiceError("Webhooks come with the ActivConnect API add-on: ask us for a quote at /billing/quotes/new/.")
    why = url_refusal(url)
    if why:
        raise ServiceError(why)
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.create(
            account=account, url=url, events=events, secret=f"whsec_{secrets.token_urlsafe(32)}",
            created_by=actor.user,
        )
        audit_record(account=account, actor=actor, kind="webhook.endpoint_created",
                     summary=f"Webhook endpoint {url} added", after={"url": url, "events": events})
    return endpoint


def webhook_endpoint_set_active(*, endpoint: WebhookEndpoint, active: bool, actor) -> WebhookEndpoint:
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        if endpoint.is_active == active:
            return endpoint
        endpoint.is_active = active
        endpoint.failing_since = None
        endpoint.disabled_at = None if active else timezone.now()
        endpoint.disabled_reason = "" if active else "disabled by an Admin"
        endpoint.save(update_fields=["is_active", "failing_since", "disabled_at", "disabled_reason"])
        audit_record(account=endpoint.account, actor=actor,
                     kind="webhook.endpoint_enabled" if active else "webhook.endpoint_disabled",
                     summary=f"Webhook endpoint {endpoint.url} {'enabled' if active else 'disabled'}")
    if active:
        _enqueue_on_commit(endpoint.pk)
    return endpoint


def webhook_endpoint_delete(*, endpoint: WebhookEndpoint, actor) -> None:
    with transaction.atomic():
        audit_record(account=endpoint.account, actor=actor, kind="webhook.endpoint_deleted",
                     summary=f"Webhook endpoint {endpoint.url} deleted")
        endpoint.delete()


def webhook_delivery_resend(*, delivery: WebhookDelivery, actor) -> WebhookDelivery:
    """The Resend button: the event goes to its endpoint again (once more, at least once), in
    its place in the order (it is older than anything pending after it)."""
    with transaction.atomic():
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            state=DeliveryState.PENDING, next_attempt_at=timezone.now(), last_error="",
        )
        audit_record(account=delivery.endpoint.account, actor=actor, kind="webhook.resent",
                     summary=f"Event {delivery.event.event_id} resent to {delivery.endpoint.url}")
    _enqueue_on_commit(delivery.endpoint_id)
    delivery.refresh_from_db()
    return delivery


# --- events ------------------------------------------------------------------------------------

def webhook_event_record(*, account, type: str, data: dict) -> WebhookEvent | None:
    """Records one event and a delivery for every active endpoint of the account that picked
    it; None when no endpoint wants it (nothing is stored). Call it inside the transaction of
    the change: the deliveries go out after the commit, and never for a change rolled back."""
    events = webhook_events_record(account_ids=[getattr(account, "pk", account)], type=type, data=data)
    return events[0] if events else None


def webhook_events_record(*, account_ids, type: str, data: dict) -> list[WebhookEvent]:
    """``webhook_event_record`` for many accounts at once (a job that blocked a thousand), in a
    fixed number of queries: the endpoints, the add-on, the events, the deliveries."""
    wanted = {}
    for pk, account_id, events in WebhookEndpoint.objects.filter(
        account_id__in=account_ids, is_active=True
    ).values_list("pk", "account_id", "events"):
        if type in events:
            wanted.setdefault(account_id, []).append(pk)
    if not wanted:
        return []
    entitled = set(
        Subscription.objects.filter(account_id__in=wanted, addons__addon__code=ACTIVCONNECT)
        .values_list("account_id", flat=True)
    )
    now = timezone.now()
    made = []
    for account_id in sorted(entitled):
        event_id = f"evt_{uuid.uuid4().hex}"
        made.append(WebhookEvent(
            account_id=account_id, event_id=event_id, type=type, created_at=now,
            payload={"id": event_id, "type": type, "created_at": now.isoformat(), "data": data},
        ))
    if not made:
        return []
    made = WebhookEvent.objects.bulk_create(made)
    if any(event.pk is None for event in made):  # a backend that returns no ids
        made = list(WebhookEvent.objects.filter(event_id__in=[e.event_id for e in made]).order_by("pk"))
    WebhookDelivery.objects.bulk_create(
        WebhookDelivery(endpoint_id=pk, event=event, next_attempt_at=now)
        for event in made for pk in wanted[event.account_id]
    )
    for event in made:
        for pk in wanted[event.account_id]:
            _enqueue_on_commit(pk)
    return made


def _enqueue_on_commit(endpoint_id):
    transaction.on_commit(lambda: _enqueue(endpoint_id))


def _enqueue(endpoint_id):
    from django_q.tasks import async_task

    try:
        async_task("connect.tasks.deliver_endpoint", endpoint_id,
                   sync=getattr(settings, "WEBHOOK_DELIVERY_SYNC", False))
    except Exception:  # the broker is down: the minute job delivers it
        logger.exception("webhooks of endpoint %s not handed to the task cluster; the job will send them", endpoint_id)


# --- delivery ----------------------------------------------------------------------------------

class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host, port, address, **kwargs):
        super().__init__(host, port, **kwargs)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to the address the guard checked, with the certificate checked for the host name."""

    def __init__(self, host, port, address, **kwargs):
        super().__init__(host, port, context=ssl.create_default_context(), **kwargs)
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def post_signed(*, url: str, secret: str, event: WebhookEvent) -> tuple[int | None, str]:
    """POSTs the event: (status code, "") or (None, why it could not be sent)."""
    parts = urlsplit(url)
    https = parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    if parts.scheme not in (("https", "http") if _allow_private() else ("https",)):
        return None, "The URL must start with https://."
    address, why = resolve_public(parts.hostname or "", port)
    if address is None:
        return None, why
    body = json.dumps(event.payload, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "ActivConnect-Webhooks/1",
        "Webhook-Id": event.event_id,
        "Webhook-Event": event.type,
        "Webhook-Signature": signature_header(secret=secret, body=body, timestamp=int(time.time())),
    }
    connection_class = _PinnedHTTPSConnection if https else _PinnedHTTPConnection
    connection = connection_class(parts.hostname, port, address, timeout=TIMEOUT_SECONDS)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        response.read(1024)  # the answer's body is not ours to keep
        return response.status, ""
    except (OSError, http.client.HTTPException) as error:
        return None, f"{type(error).__name__}: {error}"[:300]
    finally:
        connection.close()


def _retry_delay(attempts: int) -> timedelta:
    return RETRY_DELAYS[attempts - 1] if attempts <= len(RETRY_DELAYS) else RETRY_EVERY


def _claim(endpoint_id, now):
    """The endpoint's lease, or False when another sender holds it."""
    return WebhookEndpoint.objects.filter(
        Q(lease_until__isnull=True) | Q(lease_until__lt=now), pk=endpoint_id, is_active=True,
    ).update(lease_until=now + LEASE) == 1


def webhook_endpoint_deliver(*, endpoint_id: int, now=None) -> int:
    """Sends the endpoint's due deliveries in event order, stopping at the first failure.
    Returns how many were delivered. Safe to call twice, late, or from two workers."""
    now = now or timezone.now()
    if not _claim(endpoint_id, now):
        return 0
    delivered = 0
    try:
        endpoint = WebhookEndpoint.objects.select_related("account").get(pk=endpoint_id)
        for _ in range(MAX_PER_RUN):
            delivery = (
                WebhookDelivery.objects.select_related("event")
                .filter(endpoint_id=endpoint_id, state=DeliveryState.PENDING).order_by("event_id").first()
            )
            if delivery is None or delivery.next_attempt_at > now:
                break  # nothing due; a later one waits behind an earlier one that is not due
            status, error = post_signed(url=endpoint.url, secret=endpoint.secret, event=delivery.event)
            if _record_outcome(endpoint=endpoint, delivery=delivery, status=status, error=error, now=now):
                delivered += 1
            else:
                break
    finally:
        WebhookEndpoint.objects.filter(pk=endpoint_id).update(lease_until=None)
    return delivered


def _record_outcome(*, endpoint, delivery, status, error, now) -> bool:
    ok = status is not None and 200 <= status < 300
    with transaction.atomic():
        delivery.attempts += 1
        delivery.last_attempt_at = now
        delivery.last_status_code = status
        delivery.last_error = "" if ok else (error or f"answered {status}")[:300]
        if ok:
            delivery.state, delivery.delivered_at = DeliveryState.SUCCEEDED, now
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=None)
        else:
            delivery.next_attempt_at = now + _retry_delay(delivery.attempts)
        delivery.save(update_fields=[
            "attempts", "last_attempt_at", "last_status_code", "last_error", "state", "delivered_at",
            "next_attempt_at",
        ])
        if not ok:
            failing_since = endpoint.failing_since or now
            if endpoint.failing_since is None:
                WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(failing_since=now)
                endpoint.failing_since = now
            if now - failing_since >= DISABLE_AFTER:
                _disable_failing(endpoint=endpoint, reason=delivery.last_error, now=now)
    return ok


def _disable_failing(*, endpoint, reason, now):
    changed = WebhookEndpoint.objects.filter(pk=endpoint.pk, is_active=True).update(
        is_active=False, disabled_at=now, disabled_reason=f"failing for a day: {reason}"[:200],
    )
    if not changed:
        return
    from accounts.actors import Actor

    audit_record(account=endpoint.account, actor=Actor.job("deliver_webhooks"), kind="webhook.endpoint_disabled",
                 summary=f"Webhook endpoint {endpoint.url} disabled after a day of failed deliveries")
    site = getattr(settings, "SITE_URL", "").rstrip("/")
    email_queue(
        subject="A webhook endpoint was disabled",
        body=(
            f"Deliveries to {endpoint.url} have failed since {endpoint.failing_since:%Y-%m-%d %H:%M} UTC "
            f"(last: {reason}). We disabled the endpoint; events are kept and go out in order once "
            f"you enable it again on {site}/integrations/webhooks/{endpoint.pk}/."
        ),
        recipients=admin_emails(account_id=endpoint.account_id),
        key=f"webhook-disabled:{endpoint.pk}:{now:%Y%m%d%H%M%S}",
    )


def webhooks_deliver_due(*, now=None) -> int:
    """The minute job: every active endpoint with a due pending delivery gets a sender run."""
    now = now or timezone.now()
    endpoint_ids = (
        WebhookDelivery.objects.filter(
            state=DeliveryState.PENDING, next_attempt_at__lte=now, endpoint__is_active=True,
        ).values_list("endpoint_id", flat=True).distinct()
    )
    return sum(webhook_endpoint_deliver(endpoint_id=pk, now=now) for pk in list(endpoint_ids))
