"""django-q2 entry points of ActivConnect (thin: they call the services)."""

from connect.webhooks import webhook_endpoint_deliver, webhooks_deliver_due


def deliver_endpoint(endpoint_id):
    return webhook_endpoint_deliver(endpoint_id=endpoint_id)


def deliver_webhooks():
    return webhooks_deliver_due()
