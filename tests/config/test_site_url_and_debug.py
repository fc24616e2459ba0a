"""SITE_URL follows PORT unless set; DEBUG is off unless DEBUG=1."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRINT = (
    "import django; django.setup(); from django.conf import settings; "
    "print(settings.SITE_URL, settings.DEBUG)"
)


def _settings(**extra):
    env = {k: v for k, v in os.environ.items()
           if k not in {"DJANGO_SETTINGS_MODULE", "DJANGO_ENV", "PORT", "SITE_URL", "DEBUG"}}
    env.update(DJANGO_SETTINGS_MODULE="config.settings", **extra)
    result = subprocess.run([sys.executable, "-c", PRINT], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    site_url, debug = result.stdout.split()
    return site_url, debug == "True"


def test_site_url_follows_port():
    assert _settings(PORT="18101")[0] == "http://127.0.0.1:18101"


def test_site_url_set_wins_over_port():
    assert _settings(PORT="18101", SITE_URL="https://bo.example.com")[0] == "https://bo.example.com"


def test_site_url_default_port_8000():
    assert _settings()[0] == "http://127.0.0.1:8000"


def test_debug_is_off_unless_asked_for():
    assert _settings()[1] is False
    assert _settings(DEBUG="1")[1] is True
