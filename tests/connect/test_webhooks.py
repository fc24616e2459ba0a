"""Outbound webhooks (issue 16, item 2): signed, in order, retried until the receiver answers
2xx, disabled after a day of failures, never to a private address in production."""

import hashlib
import hmac
import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import time_machine
from django.core import mail
from django.test import override_settings
from django.utils import timezone

from accounts.actors import Actor
from accounts.models import Role
from accounts.services import audit_record
from connect.models import DeliveryState, WebhookDelivery, WebhookEndpoint, WebhookEvent
from connect.webhooks import (
    url_refusal,
    webhook_endpoint_create,
    webhook_endpoint_deliver,
    webhook_event_record,
    webhooks_deliver_due,
)
from tests.connect.helpers import connect_account
from tests.factories import add_member

pytestmark = pytest.mark.django_db


def allow_loopback():
    """Tests' receivers listen on 127.0.0.1: the guard allows it as under DEBUG."""
    return override_settings(WEBHOOKS_ALLOW_PRIVATE_ADDRESSES=True)


@pytest.fixture
def loopback(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True


class Receiver:
    """A real HTTP server on a loopback port, in a thread: answers ``statuses`` in turn (then
    200) and keeps every request it got."""

    def __init__(self, statuses=()):
        self.statuses, self.requests = list(statuses), []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def types(self):
        return [json.loads(body)["type"] for _headers, body in self.requests]


@pytest.fixture
def receiver():
    made = []

    def make(statuses=()):
        made.append(Receiver(statuses))
        return made[-1]

    yield make
    for r in made:
        r.close()


@pytest.fixture
def account():
    return connect_account()


def endpoint_for(account, url, events=("invoice.issued", "invoice.paid", "account.blocked", "subscription.changed",
                                       "user.tracked", "grace.started", "account.unblocked", "case.updated")):
    with allow_loopback():
        return webhook_endpoint_create(account=account, url=url, events=list(events), actor=Actor.system("tests"))


def verify(secret, headers, body, tolerance=300):
    """What a receiver runs (docs/connect.md), written apart from the code under test."""
    parts = dict(item.split("=", 1) for item in headers["Webhook-Signature"].split(","))
    expected = hmac.new(secret.encode(), parts["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"]) and abs(time.time() - int(parts["t"])) <= tolerance


@pytest.mark.usefixtures("loopback")
def test_a_delivery_is_signed_and_carries_its_event_id(account, receiver, django_capture_on_commit_callbacks):
    r = receiver()
    endpoint = endpoint_for(account[0], r.url)
    with django_capture_on_commit_callbacks(execute=False):
        event = webhook_event_record(account=account[0], type="invoice.paid", data={"number": "INV-1"})
    assert webhook_endpoint_deliver(endpoint_id=endpoint.pk) == 1
    (headers, body), = r.requests
    assert verify(endpoint.secret, headers, body)
    assert not verify("whsec_other", headers, body)
    assert not verify(endpoint.secret, headers, body + b" ")
    assert headers["Webhook-Id"] == event.event_id == json.loads(body)["id"]
    assert json.loads(body)["data"] == {"number": "INV-1"}
    delivery = WebhookDelivery.objects.get()
    assert delivery.state == DeliveryState.SUCCEEDED and delivery.last_status_code == 200


@pytest.mark.usefixtures("loopback")
def test_retries_with_backoff_until_the_receiver_answers_200(account, receiver):
    r = receiver(statuses=[500, 503])
    endpoint = endpoint_for(account[0], r.url)
    webhook_event_record(account=account[0], type="invoice.issued", data={})
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        assert webhooks_deliver_due() == 0
        delivery = WebhookDelivery.objects.get()
        assert (delivery.attempts, delivery.last_status_code, delivery.state) == (1, 500, "pending")
        assert webhooks_deliver_due() == 0  # not due yet: backing off
        assert len(r.requests) == 1
        traveller.shift(timedelta(minutes=1, seconds=1))
        assert webhooks_deliver_due() == 0
        traveller.shift(timedelta(minutes=5, seconds=1))
        assert webhooks_deliver_due() == 1
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.last_status_code, delivery.state) == (3, 200, "succeeded")
    assert len(r.requests) == 3 and len({h["Webhook-Id"] for h, _ in r.requests}) == 1
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None


@pytest.mark.usefixtures("loopback")
def test_deliveries_go_in_order_per_account(account, receiver):
    r = receiver(statuses=[500])
    endpoint = endpoint_for(account[0], r.url)
    webhook_event_record(account=account[0], type="invoice.issued", data={})
    webhook_event_record(account=account[0], type="invoice.paid", data={})
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        webhook_endpoint_deliver(endpoint_id=endpoint.pk)
        assert r.types() == ["invoice.issued"]  # "paid" waits behind the failed "issued"
        traveller.shift(timedelta(minutes=2))
        webhooks_deliver_due()
    assert r.types() == ["invoice.issued", "invoice.issued", "invoice.paid"]


@pytest.mark.usefixtures("loopback")
def test_an_endpoint_failing_for_a_day_is_disabled_and_admins_are_emailed(
    account, receiver, django_capture_on_commit_callbacks
):
    r = receiver(statuses=[500] * 50)
    endpoint = endpoint_for(account[0], r.url)
    webhook_event_record(account=account[0], type="invoice.issued", data={})
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller, django_capture_on_commit_callbacks(execute=True):
        for _ in range(12):
            webhooks_deliver_due()
            traveller.shift(timedelta(hours=4))
    endpoint.refresh_from_db()
    assert not endpoint.is_active and "failing for a day" in endpoint.disabled_reason
    assert [m.to for m in mail.outbox if "webhook" in m.subject.lower()] == [[account[1].email]]
    sent = len(r.requests)
    webhooks_deliver_due()
    assert len(r.requests) == sent  # disabled: nothing more is sent


# --- the SSRF guard ---------------------------------------------------------------------------------

@pytest.mark.parametrize("url", [
    "https://127.0.0.1/hook", "https://localhost/hook", "https://10.1.2.3/hook", "https://192.168.0.10/",
    "https://169.254.169.254/latest/meta-data/", "https://[::1]/", "https://[fd00::1]/", "https://100.64.0.1/",
    "https://0.0.0.0/", "https://[::ffff:127.0.0.1]/",
])
@override_settings(WEBHOOKS_ALLOW_PRIVATE_ADDRESSES=False)
def test_private_loopback_and_link_local_addresses_are_refused(url):
    assert "private or reserved" in url_refusal(url)


@override_settings(WEBHOOKS_ALLOW_PRIVATE_ADDRESSES=False)
def test_http_and_credentials_are_refused_and_a_public_address_allowed():
    assert "https://" in url_refusal("http://93.184.215.14/hook")
    assert "password" in url_refusal("https://user:pw@93.184.215.14/hook")
    assert url_refusal("https://93.184.215.14/hook") == ""
    assert "does not resolve" in url_refusal("https://no-such-host.invalid/hook")


def test_a_delivery_to_an_address_that_became_private_is_refused(account, receiver):
    """DNS may change after registration: the guard runs again at each delivery."""
    r = receiver()
    endpoint = endpoint_for(account[0], r.url)  # registered while loopback was allowed
    webhook_event_record(account=account[0], type="invoice.issued", data={})
    with override_settings(WEBHOOKS_ALLOW_PRIVATE_ADDRESSES=False):
        webhook_endpoint_deliver(endpoint_id=endpoint.pk)
    assert r.requests == []
    delivery = WebhookDelivery.objects.get()
    assert delivery.state == "pending" and "https://" in delivery.last_error


# --- events from the other apps -----------------------------------------------------------------

@pytest.mark.usefixtures("loopback")
def test_changes_elsewhere_become_events(account, receiver, client):
    from tests.licensing.conftest import Agent

    r = receiver()
    endpoint_for(account[0], r.url)
    audit_record(account=account[0], actor=Actor.job("t"), kind="compliance.blocked", summary="blocked")
    audit_record(account=account[0], actor=Actor.job("t"), kind="compliance.ok", summary="ok",
                 before={"state": "blocked"})
    audit_record(account=account[0], actor=Actor.job("t"), kind="member.joined", summary="not an event")
    Agent(client, account[0]).checkin({
        "event_id": "e1", "machine_id": "PC-1", "hostname": "pc-1", "domain": None, "username": "eva",
        "observed_at": timezone.now().isoformat(),
    })
    types = list(WebhookEvent.objects.order_by("pk").values_list("type", flat=True))
    assert types[:2] == ["account.blocked", "account.unblocked"]
    assert "user.tracked" in types and "member.joined" not in str(types)


def test_subscription_changed_becomes_an_event(account):
    from billing.quotes import addon_grant_by_staff
    from tests.factories import StaffFactory

    endpoint_for(account[0], "http://127.0.0.1:9/hooks", events=["subscription.changed"])
    addon_grant_by_staff(account=account[0], addon_code="data_history", price_cents=100,
                         actor=Actor.for_user(StaffFactory()), reason="deal")
    assert WebhookEvent.objects.filter(type="subscription.changed").exists()
    assert set(WebhookEvent.objects.values_list("type", flat=True)) == {"subscription.changed"}


def test_the_grace_expiry_job_blocking_accounts_sends_account_blocked(account):
    from licensing.compliance import grace_periods_expire
    from licensing.models import AccountLicensing

    endpoint_for(account[0], "http://127.0.0.1:9/hooks", events=["account.blocked"])
    other = connect_account()[0]  # blocked too, no endpoint: no event
    for a in (account[0], other):
        AccountLicensing.objects.update_or_create(account=a, defaults={
            "state": "grace", "grace_period_ends_at": timezone.now() - timedelta(minutes=1)})
    grace_periods_expire()
    event = WebhookEvent.objects.get()
    assert (event.account_id, event.type) == (account[0].pk, "account.blocked")
    assert WebhookDelivery.objects.filter(event=event).count() == 1


def test_no_event_is_stored_without_an_endpoint(account):
    assert webhook_event_record(account=account[0], type="invoice.paid", data={}) is None
    assert not WebhookEvent.objects.exists()


# --- pages ----------------------------------------------------------------------------------------

@pytest.mark.usefixtures("loopback")
def test_an_admin_registers_an_endpoint_sees_its_log_and_resends(client, account, receiver):
    r = receiver()
    client.force_login(account[1])
    response = client.post("/integrations/", {"url": r.url, "events": ["invoice.paid"]})
    endpoint = WebhookEndpoint.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/integrations/webhooks/{endpoint.pk}/"
    webhook_event_record(account=account[0], type="invoice.paid", data={})
    webhooks_deliver_due()
    page = client.get(f"/integrations/webhooks/{endpoint.pk}/").content.decode()
    assert "Delivered" in page and "200" in page and endpoint.secret in page
    delivery = WebhookDelivery.objects.get()
    client.post(f"/integrations/webhooks/{endpoint.pk}/deliveries/{delivery.pk}/resend/")
    webhooks_deliver_due()
    assert len(r.requests) == 2 and r.requests[0][0]["Webhook-Id"] == r.requests[1][0]["Webhook-Id"]


@override_settings(WEBHOOKS_ALLOW_PRIVATE_ADDRESSES=False)
def test_the_page_refuses_a_private_endpoint_with_a_reason(client, account):
    client.force_login(account[1])
    response = client.post("/integrations/", {"url": "https://169.254.169.254/", "events": ["invoice.paid"]})
    assert response.status_code == 200
    assert "private or reserved" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_only_admins_manage_endpoints(client, account):
    endpoint = WebhookEndpoint.objects.create(account=account[0], url="https://example.com/", events=["x"], secret="s")
    client.force_login(add_member(account[0], Role.VIEWER))
    assert client.get(f"/integrations/webhooks/{endpoint.pk}/").status_code == 403
    assert client.post(f"/integrations/webhooks/{endpoint.pk}/", {"action": "delete"}).status_code == 403
    assert WebhookEndpoint.objects.exists()
