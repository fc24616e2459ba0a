"""Hooks that higher apps subscribe to, so that accounts never imports them.

``account_created(account, actor)`` is sent inside the sign-up or provisioning transaction;
billing answers it by starting the account's trial (or its provisioned subscription).
"""

from django.dispatch import Signal

account_created = Signal()

# Deleting an account (accounts/closure.py). Each is sent inside the transaction of the change.
# ``account_closed(account, actor)``: closed at once; licensing stops the agents.
account_closed = Signal()
# ``account_reopened(account, actor, closed_at)``: an Admin cancelled the deletion in time.
account_reopened = Signal()
# ``account_erasing(account_ids, actor)``: the cooling-off is over; each app deletes its own
# data of these accounts, set-based (billing keeps invoices and orders: the law's record).
account_erasing = Signal()
