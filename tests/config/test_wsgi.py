"""Issue 13: a web worker loads its views up front and freezes what it loaded, so that a full
garbage collection never has to scan the application's own objects in the middle of a request."""

import os
import subprocess
import sys

from django.conf import settings


def test_the_wsgi_module_loads_the_views_then_freezes_them():
    script = (
        "import gc, sys; import config.wsgi; "
        "print(gc.get_freeze_count(), 'licensing.api' in sys.modules, len(gc.get_objects()))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=settings.BASE_DIR, check=True, capture_output=True, text=True,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"},
    ).stdout.split()
    frozen, views_loaded, left = int(out[0]), out[1] == "True", int(out[2])
    assert views_loaded  # the agent API's module came with the URLs, before the freeze
    assert frozen > 50_000 and left < frozen / 10, out  # nearly everything out of the collector's sight
