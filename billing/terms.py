"""The billing constants, each defined once (issue 12: "constants defined once").

Numbers staff can change live in the catalogue (``Plan``); these are the product's fixed rules.
"""

from dateutil.relativedelta import relativedelta

# PRODUCT.md, "Billing and the cart": billed annually; everything co-terms to the annual term.
TERM = relativedelta(years=1)
# PRODUCT.md, "Billing and the cart": every new account gets 14 days of Professional.
TRIAL_DAYS = 14
TRIAL_PLAN_CODE = "professional"
# Not in PRODUCT.md: a trial may track up to 25 users before its grace period starts
# (docs/decisions.md). Staff can change a trial's licenses in the admin.
TRIAL_LICENSES = 25
# PRODUCT.md: invoice-eligible accounts pay "net 30"; renewal and quote invoices too.
NET_DAYS = 30

# The subscription's lifecycle (billing/trials.py, notices.py, changes.py, renewals.py).
FREE_PLAN_CODE = "free"
# PRODUCT.md, "Billing and the cart": a cancellation must arrive 30 days before the anniversary.
CANCELLATION_NOTICE_DAYS = 30
# Issue 4: trial ending 3 days and 1 day before; renewal coming 30 days before.
TRIAL_NOTICE_DAYS = 3
TRIAL_LAST_NOTICE_DAYS = 1
RENEWAL_NOTICE_DAYS = 30
# Issue 4: invoices (renewals, quotes) are payable net 30.
INVOICE_DUE_DAYS = NET_DAYS
# The states a paid subscription renews from (its ``state`` values).
RENEWING_STATES = ["active", "past_due", "cancelled"]
# Issue 14: a quote is valid 30 days from the day staff price it (renewed when they re-price it).
QUOTE_VALID_DAYS = 30
QUOTE_SERIES = "QT"
