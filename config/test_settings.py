"""Settings for the test suite: the real ones, with fast hashing and plain static storage."""

import os

os.environ.setdefault("SQLITE_PATH", "test-db.sqlite3")

from config.settings import *  # noqa: E402,F403
from config.settings import Q_CLUSTER, STORAGES  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
WHITENOISE_AUTOREFRESH = True
Q_CLUSTER = {**Q_CLUSTER, "sync": False}
AXES_ENABLED = False
# The suite resets passwords freely from one address; tests/hardening sets the real limits.
PASSWORD_RESET_LIMIT_PER_IP = PASSWORD_RESET_LIMIT_PER_EMAIL = 1000
EMAIL_DELIVERY_SYNC = True  # the task runs inline in the on-commit callback: mail.outbox sees it
# The fuzzers send many generated credentials from one address; the throttle's own test sets it.
AGENT_AUTH_FAILURE_LIMIT = (1000, 60)
CONNECT_AUTH_FAILURE_LIMIT = (1000, 60)  # likewise for the ActivConnect API
