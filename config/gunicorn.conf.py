"""gunicorn settings, used by scripts/run, the container image and bench/load.py.

Environment: PORT / GUNICORN_BIND (where to listen), WEB_CONCURRENCY (worker processes),
GUNICORN_THREADS, GUNICORN_TIMEOUT, FORWARDED_ALLOW_IPS (the load balancer's addresses).

The access log records no header but the user agent and no query string: an agent's
``Authorization: Bearer <key>`` is never written (gunicorn's default format has no header either;
``%({authorization}i)s`` and ``%(u)s``, which decodes Basic auth, must never be added), and every
line, access or error, goes through the same redaction filter as Django's logs
(config/logging.py), which also hides the token of a password-reset or invitation link.
"""

import os

bind = os.environ.get("GUNICORN_BIND", f"127.0.0.1:{os.environ.get('PORT', '8000')}")
# Two per CPU by default: on 2 CPUs with PostgreSQL on the same host, 3 or 4 sync workers served
# the most check-ins and the lowest latency, 6 fewer (docs/performance.md, issue 13).
workers = int(os.environ.get("WEB_CONCURRENCY", str(2 * (os.cpu_count() or 1))))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
# A request that takes longer than this is a bug or a stuck database: the worker is replaced.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then, so a slow leak never takes a host down.
max_requests = 2000
max_requests_jitter = 200
# X-Forwarded-Proto is believed only from these (the load balancer); Django reads it through
# SECURE_PROXY_SSL_HEADER.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

# Both to stdout/stderr (12-factor). logconfig_dict below decides where lines go, so gunicorn's
# --access-logfile / --error-logfile options have no effect with this file.
accesslog = "-"
errorlog = "-"
# address, time, method, path (no query string), status, bytes, milliseconds, user agent
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms "%(a)s"'

logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_secrets": {"()": "config.logging.RedactSecretsFilter"}},
    "formatters": {
        "generic": {
            "format": "%(asctime)s [%(process)d] [%(levelname)s] %(message)s",
            "datefmt": "[%Y-%m-%d %H:%M:%S %z]",
        },
        "access": {"format": "%(message)s"},
    },
    "handlers": {
        "error_console": {
            "class": "logging.StreamHandler", "formatter": "generic",
            "stream": "ext://sys.stderr", "filters": ["redact_secrets"],
        },
        "access_console": {
            "class": "logging.StreamHandler", "formatter": "access",
            "stream": "ext://sys.stdout", "filters": ["redact_secrets"],
        },
    },
    "root": {"level": "INFO", "handlers": ["error_console"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["error_console"], "propagate": False},
        "gunicorn.access": {"level": "INFO", "handlers": ["access_console"], "propagate": False},
    },
}
