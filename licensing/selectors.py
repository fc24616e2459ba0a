from billing.selectors import subscription_for


def license_usage(*, account):
    """``{"used", "licenses", "over"}`` for the avatar menu. Used is filled in by the licensing
    work (tracked users); until then it is 0."""
    subscription = subscription_for(account=account)
    licenses = subscription.licenses if subscription else 0
    used = 0
    return {"used": used, "licenses": licenses, "over": used > licenses}
