"""Every email leaves through the task cluster, never from inside a request, a check-in or a job.

``email_queue`` writes an ``OutboundEmail`` row in the caller's transaction (so an email exists
exactly when the change it tells about was committed) and, on commit, hands its id to django-q2
(``async_task``). ``email_deliver`` sends it and marks it sent under the row's lock, so two
deliveries of one row send it once; a mailer that fails or hangs only delays the row, which
``deliver_queued_emails`` (every minute) retries with a growing pause: 1, 2, 4, ... minutes,
up to ``MAX_ATTEMPTS``, then the row is marked failed and kept for staff to read.

Attachments are named, not stored: ``attachments`` lists (dotted path of a loader, its
arguments), and the loader is called when the email is sent and returns (file name, bytes, MIME
type). A document that is made after the commit (an invoice PDF) is thus attached whenever it
is ready, and this app imports none of the apps whose documents it carries. A loader that
fails delays the email like a mailer that fails.

Delivery is at least once: a worker killed between the SMTP server's "accepted" and the commit
that marks the row sent would send it again (the window is one UPDATE long).
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from accounts.models import OutboundEmail, OutboundEmailState

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
RETRY_BASE = timedelta(minutes=1)


def email_queue(*, subject: str, body: str, recipients, key: str | None = None, attachments=None):
    """Queues one email to ``recipients`` (one message, as ``send_mail`` would). Returns the row, or None when there is nobody to send to or ``key`` was sent
    before. Call it inside the transaction that makes the change the email tells about.
    ``attachments``: [(loader's dotted path, [arguments]), ...], loaded when it is sent."""
    recipients = [r for r in dict.fromkeys(recipients) if r]
    if not recipients:
        return None
    try:
        with transaction.atomic():
            email = OutboundEmail.objects.create(
                key=key, subject=subject[:300], body=body, recipients="\n".join(recipients),
                attachments=[[str(path), list(args)] for path, args in attachments or []],
            )
    except IntegrityError:
        return None  # this event's email was queued before: one email per key
    transaction.on_commit(lambda: _enqueue(email.pk))
    return email


def email_queue_many(messages):
    """Queues many emails in three queries whatever their number (a set-based job's notices).
    ``messages``: [(subject, body, recipients, key), ...], each ``key`` required: one email per
    key, those sent before are skipped. Returns how many were queued now."""
    rows = {}
    for subject, body, recipients, key in messages:
        recipients = [r for r in dict.fromkeys(recipients) if r]
        if recipients and key:
            rows[key] = OutboundEmail(key=key, subject=subject[:300], body=body,
                                      recipients="\n".join(recipients))
    if not rows:
        return 0
    known = set(OutboundEmail.objects.filter(key__in=list(rows)).values_list("key", flat=True))
    new = [row for key, row in rows.items() if key not in known]
    OutboundEmail.objects.bulk_create(new, ignore_conflicts=True)  # a racing run: its rows win
    ids = list(OutboundEmail.objects.filter(key__in=[row.key for row in new], sent_at__isnull=True,
                                            attempts=0).values_list("pk", flat=True))
    transaction.on_commit(lambda: [_enqueue(pk) for pk in ids])
    return len(new)


def _enqueue(email_id):
    from django_q.tasks import async_task

    try:
        async_task(
            "accounts.mail.email_deliver", email_id,
            sync=getattr(settings, "EMAIL_DELIVERY_SYNC", False),
        )
    except Exception:  # the broker is down: the minute job finds the queued row
        logger.exception("email %s not handed to the task cluster; the retry job will send it", email_id)


def email_deliver(email_id):
    """Sends one queued email once. Safe to call twice, late, or from two workers."""
    with transaction.atomic():
        email = (
            OutboundEmail.objects.select_for_update()
            .filter(pk=email_id, state=OutboundEmailState.QUEUED).first()
        )
        if email is None:
            return False
        email.attempts += 1
        try:
            message = EmailMessage(email.subject, email.body, None, email.recipients.splitlines())
            for path, args in email.attachments or []:
                message.attach(*import_string(path)(*args))
            message.send()
        except Exception as error:  # SMTP down, refused, timed out: retried later
            email.last_error = f"{type(error).__name__}: {error}"[:300]
            if email.attempts >= MAX_ATTEMPTS:
                email.state = OutboundEmailState.FAILED
            email.next_attempt_at = timezone.now() + RETRY_BASE * 2 ** (email.attempts - 1)
            email.save(update_fields=["attempts", "last_error", "state", "next_attempt_at"])
            logger.warning("email %s not sent (attempt %s): %s", email.pk, email.attempts, error)
            return False
        email.state, email.sent_at, email.last_error = OutboundEmailState.SENT, timezone.now(), ""
        email.save(update_fields=["attempts", "state", "sent_at", "last_error"])
    return True


def emails_deliver_queued(*, now=None, limit=500):
    """The retry job: every queued email whose next attempt is due, oldest first."""
    now = now or timezone.now()
    due = list(
        OutboundEmail.objects.filter(state=OutboundEmailState.QUEUED, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "pk").values_list("pk", flat=True)[:limit]
    )
    return sum(email_deliver(pk) for pk in due)
