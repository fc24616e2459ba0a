from billing.selectors import subscription_for
from licensing.models import AccountLicensing, ComplianceState


def account_licensing(*, account):
    """The account's licensing row (used count, compliance), unsaved default if none yet."""
    return AccountLicensing.objects.filter(account=account).first() or AccountLicensing(account=account)


def data_access_blocked(*, account):
    """Reports, exports and the read API are closed while the account is blocked."""
    return account_licensing(account=account).state == ComplianceState.BLOCKED


def license_usage(*, account):
    """``{"used", "licenses", "over"}`` for the avatar menu, from the maintained counter."""
    subscription = subscription_for(account=account)
    licenses = subscription.licenses if subscription else 0
    used = account_licensing(account=account).used
    return {"used": used, "licenses": licenses, "over": used > licenses}
