from licensing.selectors import license_usage


def account_header(request):
    """The header and compliance banner of every customer page: the account, its
    ``used / licenses`` and its compliance state, from one query on the licensing row."""
    account = getattr(request, "account", None)
    if not account:
        return {}
    return {"current_account": account, "usage": license_usage(account=account)}
