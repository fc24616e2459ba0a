"""django-q2 entry points of accounts' jobs."""

from accounts import closure, mail, services
from accounts.actors import Actor


def deliver_queued_emails():
    return mail.emails_deliver_queued()


def erase_closed_accounts():
    return f"{closure.accounts_erase_due(actor=Actor.job('erase_closed_accounts'))} account(s) erased"


def purge_signup_requests():
    return f"{services.signup_requests_purge()} expired sign-up request(s) forgotten"
