"""Hooks that higher apps subscribe to, so that licensing never imports them.

``users_tracked(account, user_ids)`` is sent (inside the check-in's transaction) when agents made
new tracked users; ActivConnect's webhooks tell the customer.
"""

from django.dispatch import Signal

users_tracked = Signal()
