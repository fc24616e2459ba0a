from django.utils.functional import SimpleLazyObject

from licensing.selectors import license_usage


def account_header(request):
    """The header and compliance banner of every customer page: the account, its
    ``used / licenses`` and its compliance state, from one query on the licensing row.

    ``usage`` is read when the page first shows it: a view that has read the licensing row
    already passes its own ``usage`` (``AccountStanding.usage``), which hides this one, and the
    header then costs no query."""
    account = getattr(request, "account", None)
    if not account:
        return {}
    return {"current_account": account, "usage": SimpleLazyObject(lambda: license_usage(account=account))}
