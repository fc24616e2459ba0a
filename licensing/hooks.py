"""Hooks that higher apps subscribe to, so that licensing never imports them.

``users_tracked(account, user_ids)`` is sent (inside the check-in's transaction) when agents made
new tracked users; ActivConnect's webhooks tell the customer.

``grace_periods_expired(account_ids)`` is sent (inside the job's transaction) when the hourly job
blocked accounts whose grace period ran out; it writes their audit rows in bulk (no ``post_save``),
so ActivConnect hears of them here.
"""

from django.dispatch import Signal

users_tracked = Signal()
grace_periods_expired = Signal()
