from licensing.selectors import license_usage


def account_header(request):
    """The header of every customer page: the account and its ``used / licenses``."""
    account = getattr(request, "account", None)
    if not account:
        return {}
    return {"current_account": account, "usage": license_usage(account=account)}
