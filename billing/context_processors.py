from django.utils.functional import SimpleLazyObject

from billing import selectors
from billing.terms import CANCELLATION_NOTICE_DAYS, NET_DAYS

# The product's fixed terms (billing.terms) that pages name: no query.
BILLING_TERMS = {"net_days": NET_DAYS, "cancellation_notice_days": CANCELLATION_NOTICE_DAYS}


def catalogue(request):
    """``catalogue_terms`` for every template, read (one query) only by a page that names one;
    ``billing_terms``, the fixed terms, always (no query)."""
    return {"catalogue_terms": SimpleLazyObject(selectors.catalogue_terms), "billing_terms": BILLING_TERMS}
