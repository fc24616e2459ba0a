import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

# The URL configuration (every view module) loaded now rather than at the first request, then
# everything loaded so far put out of the garbage collector's sight: it lives as long as the
# worker, and a full collection scanned all of it (issue 13: about 130,000 objects, an 89 ms
# pause of one request every few thousand on these CPUs; with the freeze the longest of 3,000
# check-ins in a row took 13 ms). The practice the gc module's documentation gives for servers.
from django.urls import get_resolver  # noqa: E402

get_resolver().url_patterns  # noqa: B018 - imports the views
gc.freeze()
