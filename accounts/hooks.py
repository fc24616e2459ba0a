"""Hooks that higher apps subscribe to, so that accounts never imports them.

``account_created(account, actor)`` is sent inside the sign-up or provisioning transaction;
billing answers it by starting the account's trial (or its provisioned subscription).
"""

from django.dispatch import Signal

account_created = Signal()
