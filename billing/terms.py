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
