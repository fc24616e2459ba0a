import logging

from accounts.services import ServiceError
from support import services
from support.models import SupportCase

logger = logging.getLogger(__name__)


def follow_subscription(sender, account, actor, **kwargs):
    """Billing's ``subscription_changed``: Digital comes and goes with a paid plan."""
    services.support_plan_follow_subscription(account=account, actor=actor)


def activate_from_quote(sender, quote, actor, **kwargs):
    """Billing's ``quote_accepted``: an accepted Premier or Signature quote starts its plan."""
    if quote.topic not in services.QUOTE_TOPIC_PLANS:
        return
    try:
        services.support_plan_activate_from_quote(quote=quote, actor=actor)
    except ServiceError as error:
        # The quote stays accepted; staff see why in the log and activate from the admin.
        logger.warning("support plan of quote %s not activated: %s", quote.pk, error)


def erase_cases(sender, account_ids, actor, **kwargs):
    """Accounts' ``account_erasing`` (issue 15): their support cases and replies go, set-based;
    support plans and entitlement uses stay with the sales record."""
    SupportCase.objects.filter(account_id__in=account_ids).delete()
