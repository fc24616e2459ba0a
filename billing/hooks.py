"""Hooks that higher apps subscribe to, so that billing never imports them.

``subscription_changed(account, actor)`` is sent (inside the transaction) whenever the plan,
the licenses, the add-ons or the state of an account's subscription change. Licensing answers
by re-reading compliance; support by giving or taking the Digital support plan.
"""

from django.dispatch import Signal

subscription_changed = Signal()

# ``quote_accepted(quote, actor, account)`` is sent (inside the transaction) when staff turn an
# accepted Premier or Signature quote into its support plan (``billing.quotes.quote_fulfil``);
# support activates Premier or Signature from it.
quote_accepted = Signal()

# ``usage_requested(account)`` asks how many users the account uses; licensing answers with an
# int (its maintained counter). Billing asks before accepting a renewal change that would leave
# the account over its licenses (issue 15) and for the cart's ratio after paying.
usage_requested = Signal()


def users_used(*, account):
    """The account's users used, from whoever answers ``usage_requested`` (licensing); 0 alone."""
    answers = [used for _, used in usage_requested.send(sender=None, account=account) if used is not None]
    return max(answers, default=0)
