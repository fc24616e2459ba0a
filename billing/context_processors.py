from django.utils.functional import SimpleLazyObject

from billing import selectors
from billing.catalogue_signals import catalogue_cached


def catalogue(request):
    """``catalogue_terms`` for every template, read only by a page that names one, from the
    cache until staff edit the catalogue."""
    return {"catalogue_terms": SimpleLazyObject(
        lambda: catalogue_cached("terms", selectors.catalogue_terms)
    )}
