"""A subscription's life after the purchase, by subject (issue 12: billing split by subject):

- ``billing.trials``: a trial that was not paid for becomes Free when it ends
  (``trials_expire``, ``trial_end_now``); no move to Free while an invoice is past due
  (``move_to_free_refusal``);
- ``billing.notices``: notices go out once each (3 and 1 days before a trial ends, 30 days before
  a renewal: ``notices_send`` and ``BillingNotice``);
- ``billing.changes``: changes scheduled for the renewal; a cancellation must be asked for at
  least 30 days before the anniversary (``cancellation_last_day``, ``scheduled_change_set``);
- ``billing.renewals``: the renewal starts the next term, applies the scheduled change once and
  issues one invoice (``subscription_renew``); overdue invoices become past due
  (``invoices_mark_past_due``);
- ``billing.profiles``: the account's discount and invoice eligibility;
- ``billing.payments`` and ``billing.subscriptions``: money and the subscription's writers.

This module only names them for callers that think of "the lifecycle" as one thing (the tests,
the docs); code in billing imports the module of the subject.
"""

from billing.changes import (  # noqa: F401
    cancellation_last_day,
    lower_plans_for,
    scheduled_change_set,
    scheduled_change_withdraw,
)
from billing.emails import format_day  # noqa: F401
from billing.notices import admin_emails, email_after_commit, notices_send  # noqa: F401
from billing.profiles import (  # noqa: F401
    billing_profile_set_discount,
    billing_profile_set_invoice_eligible,
    discount_percent_for,
    discount_problem,
)
from billing.renewals import (  # noqa: F401
    invoice_issue,
    invoices_mark_past_due,
    subscription_renew,
    subscriptions_renew,
)
from billing.subscriptions import (  # noqa: F401
    license_ledger_record,
    notify_subscription_changed,
    subscription_refresh_payment_state,
)
from billing.terms import (  # noqa: F401
    CANCELLATION_NOTICE_DAYS,
    FREE_PLAN_CODE,
    INVOICE_DUE_DAYS,
    RENEWAL_NOTICE_DAYS,
    RENEWING_STATES,
    TRIAL_LAST_NOTICE_DAYS,
    TRIAL_NOTICE_DAYS,
)
from billing.trials import move_to_free_refusal, trial_end_now, trials_expire  # noqa: F401
