"""django-q2 entry points of accounts' jobs."""

from accounts import mail


def deliver_queued_emails():
    return mail.emails_deliver_queued()
