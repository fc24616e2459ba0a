from django.utils.functional import SimpleLazyObject

from billing import selectors
from billing.catalogue_signals import catalogue_cached
from billing.terms import CANCELLATION_NOTICE_DAYS, NET_DAYS

# The product's fixed terms (billing.terms) that pages name: no query.
BILLING_TERMS = {"net_days": NET_DAYS, "cancellation_notice_days": CANCELLATION_NOTICE_DAYS}


def catalogue(request):
    """``catalogue_terms`` for every template, read only by a page that names one, from the
    cache until staff edit the catalogue; ``billing_terms``, the fixed terms, always (no query)."""
    return {"catalogue_terms": SimpleLazyObject(
        lambda: catalogue_cached("terms", selectors.catalogue_terms)
    ), "billing_terms": BILLING_TERMS}
