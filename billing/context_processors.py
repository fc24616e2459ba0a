from django.utils.functional import SimpleLazyObject

from billing import selectors


def catalogue(request):
    """``catalogue_terms`` for every template, read (one query) only by a page that names one."""
    return {"catalogue_terms": SimpleLazyObject(selectors.catalogue_terms)}
