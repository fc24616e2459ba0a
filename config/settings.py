"""Settings, 12-factor, through django-environ.

DJANGO_ENV is ``development`` (default) or ``production``. Production refuses to start without
its secrets and passes ``manage.py check --deploy`` with no warning. The variables are listed in
the README.
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")

DJANGO_ENV = env.str("DJANGO_ENV", default="development")
if DJANGO_ENV not in {"development", "production"}:
    raise ImproperlyConfigured(f"DJANGO_ENV must be development or production, not {DJANGO_ENV!r}")
PRODUCTION = DJANGO_ENV == "production"


def required_in_production(name, default, **kwargs):
    """Production must be given its secrets; development gets a harmless default."""
    if PRODUCTION:
        if name not in env.ENVIRON:
            raise ImproperlyConfigured(f"{name} must be set when DJANGO_ENV=production")
        return env(name, **kwargs)
    return env(name, default=default, **kwargs)


SECRET_KEY = required_in_production(
    "SECRET_KEY", "development-only-secret-key-not-for-production-use-0123456789"
)
# Off unless DEBUG=1: `make run` looks like the product (error pages, no debug page listing
# the URL patterns). Static files are served by whitenoise either way.
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = required_in_production(
    "ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"], cast=list
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Links in emails point at the port `make run` serves on, unless SITE_URL says otherwise.
SITE_URL = env.str("SITE_URL", default=f"http://127.0.0.1:{env.str('PORT', default='8000')}")

INSTALLED_APPS = [
    "staff.admin_site.StaffAdminConfig",  # django.contrib.admin with the staff index (issue 17)
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_q",
    "axes",
    "accounts",
    "billing",
    "licensing",
    "support",
    "staff",
    "connect",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Errors under /api/ answered outside ninja (404, 405, bad Host) as problem+json too.
    "licensing.api.ApiProblemMiddleware",
    # Near the top: its process_exception runs last, after any other middleware had its say.
    "config.middleware.DatabaseUnavailableMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "config.throttling.PasswordResetThrottleMiddleware",
    "accounts.middleware.CurrentAccountMiddleware",
    "accounts.time_zones.TimeZoneMiddleware",
    # Before any view: a query string with NUL or another control character is a 400.
    "config.querystring.QueryStringValidationMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its lockout response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "licensing.context_processors.account_header",
                "billing.context_processors.catalogue",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# SQLite by default: one file, WAL so readers never wait for the writer, IMMEDIATE write
# transactions that queue on the lock instead of failing half-way with "database is locked",
# and a timeout for that queue. DATABASE_URL (postgres://...) switches to PostgreSQL, which is
# what production and several hosts use.
DATABASES = {
    "default": env.db(
        "DATABASE_URL", default=f"sqlite:///{env.str('SQLITE_PATH', default=str(BASE_DIR / 'db.sqlite3'))}"
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;"
        ),
    }
else:
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # Django's, with a health check that asks the server only when the socket says something
        # happened (config/postgresql/base.py): no round trip per request.
        DATABASES["default"]["ENGINE"] = "config.postgresql"
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # DATABASE_POOL=<max size>: psycopg's pool per process instead of persistent connections
    # (needs psycopg-pool; measured in docs/performance.md, not the default).
    if env.int("DATABASE_POOL", default=0):
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": 1, "max_size": env.int("DATABASE_POOL"), "timeout": 10,
        }
DATABASES["default"]["ATOMIC_REQUESTS"] = False
USING_SQLITE = DATABASES["default"]["ENGINE"].endswith("sqlite3")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and task queue ---------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "backoffice",
        }
    }

# django-q2: the ORM broker by default, Redis when REDIS_URL is set. On SQLite one worker keeps
# the broker's polling writes from fighting the web process for the file lock (django-q2 issue
# 144, "database is locked"); the IMMEDIATE transactions above make the rest wait their turn.
Q_CLUSTER = {
    "name": "backoffice",
    "workers": env.int("Q_WORKERS", default=1 if USING_SQLITE else 2),
    "timeout": 600,
    "retry": 900,
    "max_attempts": 3,
    "catch_up": False,
    "save_limit": 500,
    "poll": 2,
    "label": "Task queue",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

# Agent API: requests per agent key per window of seconds (429 with Retry-After beyond it).
AGENT_API_RATE_LIMIT = (
    env.int("AGENT_API_RATE_LIMIT_REQUESTS", default=600),
    env.int("AGENT_API_RATE_LIMIT_SECONDS", default=60),
)
# Seconds an agent key's account, plan and compliance are kept per process (licensing/agent_cache.py).
# Version stamps in the cache make a revocation or a plan change seen at once, which needs a cache
# shared by the workers: off without Redis.
AGENT_AUTH_CACHE_SECONDS = env.float("AGENT_AUTH_CACHE_SECONDS", default=5 if REDIS_URL else 0)

# --- Auth -------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

# Login throttling: 5 failures for one email from one address lock it for 15 minutes.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.25)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_FORM_FIELD = "username"
# The lockout counts by the login the email finds, whatever its letter case (accounts/lockout.py).
AXES_USERNAME_CALLABLE = "accounts.lockout.lockout_username"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
# 429 Too Many Requests with the friendly page; the same client address as every throttle here.
AXES_HTTP_RESPONSE_CODE = 429
# The pause is 15 minutes from the lockout, as the page promises: trying again during it does not
# extend it. A patient attacker gets 5 guesses per 15 minutes either way.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_CLIENT_IP_CALLABLE = "config.throttling.client_ip"
# How many proxies of ours (load balancer, ...) stand in front of gunicorn and append to
# X-Forwarded-For; 0 means REMOTE_ADDR is the client. See docs/deploy.md.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# Password-reset throttling (config/throttling.py): past these, the request is answered as usual
# but no email is sent.
PASSWORD_RESET_LIMIT_PER_IP = env.int("PASSWORD_RESET_LIMIT_PER_IP", default=10)
PASSWORD_RESET_LIMIT_PER_EMAIL = env.int("PASSWORD_RESET_LIMIT_PER_EMAIL", default=3)
PASSWORD_RESET_WINDOW = 60 * 60
# "Contact sales" (billing/sales_views.py): past these per window, the form says to try later.
CONTACT_SALES_LIMIT_PER_IP = env.int("CONTACT_SALES_LIMIT_PER_IP", default=5)
CONTACT_SALES_LIMIT_PER_EMAIL = env.int("CONTACT_SALES_LIMIT_PER_EMAIL", default=3)
CONTACT_SALES_WINDOW = 60 * 60

# --- Email ------------------------------------------------------------------------------------
# Django 6.1 mailers. Console by default; EMAIL_URL (smtp://user:pass@host:587,
# smtp+tls://...) switches to SMTP.
if PRODUCTION and "EMAIL_URL" not in env.ENVIRON:
    raise ImproperlyConfigured("EMAIL_URL must be set when DJANGO_ENV=production")
if "EMAIL_URL" in env.ENVIRON:
    _smtp = env.email_url("EMAIL_URL")
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": _smtp["EMAIL_HOST"],
                "port": _smtp["EMAIL_PORT"],
                "username": _smtp["EMAIL_HOST_USER"],
                "password": _smtp["EMAIL_HOST_PASSWORD"],
                "use_tls": _smtp.get("EMAIL_USE_TLS", False),
                "use_ssl": _smtp.get("EMAIL_USE_SSL", False),
                "timeout": 10,
            },
        }
    }
else:
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Back office <no-reply@example.com>")
SERVER_EMAIL = env.str("SERVER_EMAIL", default="root@localhost")
# Where "Contact sales" messages go (billing/sales.py); SERVER_EMAIL when empty.
STAFF_EMAIL = env.str("STAFF_EMAIL", default="")

# --- I18N, time --------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
# The staff admin reads datetimes in Central time, as the support plans are written; customer
# pages in their account's zone (accounts.time_zones). Every datetime format names its zone.
STAFF_TIME_ZONE = "America/Chicago"
FORMAT_MODULE_PATH = ["config.formats"]

# --- Static files: whitenoise, compressed, hashed names ----------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- Security ---------------------------------------------------------------------------------
from django.utils.csp import CSP  # noqa: E402

# Django's built-in Content Security Policy: our own scripts and styles only, no inline code
# (a per-request nonce is offered to templates that need one).
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
    "base-uri": [CSP.SELF],
    "object-src": [CSP.NONE],
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Sessions read from the cache (Redis in production), written through to the database: one
# query less on every page (issue 13); a cache miss or a flushed Redis falls back to the table.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SESSION_COOKIE_HTTPONLY = True
# No script of ours reads the CSRF cookie (forms carry the token), so scripts may not either.
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

if PRODUCTION:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# --- Payment -----------------------------------------------------------------------------------
PAYMENT_GATEWAY = env.str("PAYMENT_GATEWAY", default="stripe" if PRODUCTION else "sandbox")
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_PUBLISHABLE_KEY = env.str("STRIPE_PUBLISHABLE_KEY", default="")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
# Where stripe-python and stripe.js talk: Stripe itself, or localstripe in the tests.
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="")
STRIPE_JS_URL = env.str("STRIPE_JS_URL", default="https://js.stripe.com/v3/")
# An attempt still pending or unknown this long after it was made is asked about at the gateway
# by the reconciliation job (billing.reconciliation.payments_reconcile); longer than its 30 s timeout.
PAYMENT_RECONCILE_AFTER_SECONDS = env.int("PAYMENT_RECONCILE_AFTER_SECONDS", default=300)
if PAYMENT_GATEWAY == "stripe":
    from config.csp import with_stripe  # noqa: E402

    SECURE_CSP = with_stripe(SECURE_CSP, js_url=STRIPE_JS_URL, api_base=STRIPE_API_BASE)
if PRODUCTION and PAYMENT_GATEWAY == "sandbox":
    raise ImproperlyConfigured("PAYMENT_GATEWAY=sandbox is refused in production")
if PRODUCTION and PAYMENT_GATEWAY == "stripe" and not STRIPE_SECRET_KEY:
    raise ImproperlyConfigured("STRIPE_SECRET_KEY must be set when DJANGO_ENV=production")

# --- The seller on invoices and credit notes (billing/documents.py) ----------------------------
# Copied onto each invoice when it is issued: changing them changes the next invoices only.
# The defaults are the demo's made-up company; production sets its own.
SELLER = {
    "legal_name": env.str("SELLER_LEGAL_NAME", default="Workforce Analytics Example Inc."),
    # Lines of the postal address, separated by "|".
    "address": env.str(
        "SELLER_ADDRESS", default="100 Example Plaza, Suite 400|Austin, TX 78701|United States"
    ).split("|"),
    "tax_id": env.str("SELLER_TAX_ID", default="EIN 12-3456789"),
    # Where we sell from (ISO code): an EU business elsewhere is reverse-charged (billing/tax.py).
    "country": env.str("SELLER_COUNTRY", default="US"),
    "email": env.str("SELLER_BILLING_EMAIL", default="billing@example.com"),
    "bank_name": env.str("SELLER_BANK_NAME", default="Example National Bank"),
    "bank_account_name": env.str("SELLER_BANK_ACCOUNT_NAME", default="Workforce Analytics Example Inc."),
    "bank_account_number": env.str("SELLER_BANK_ACCOUNT_NUMBER", default="000123456789"),
    "bank_routing_number": env.str("SELLER_BANK_ROUTING_NUMBER", default="021000021"),
    "bank_swift": env.str("SELLER_BANK_SWIFT", default="EXAMUS33"),
    "bank_iban": env.str("SELLER_BANK_IBAN", default=""),
}

# --- Logging: to stdout, 12-factor ---------------------------------------------------------------
# Every record passes the redaction filter (config/logging.py) on its way out: no password,
# token, key, card number or SECRET_KEY reaches a log line, whoever logged it.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_secrets": {"()": "config.logging.RedactSecretsFilter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["redact_secrets"]},
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django_q": {"level": "WARNING"},
        # WeasyPrint logs each rendering step at INFO (invoice PDFs, billing/documents.py).
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}
# Extra regular expressions the log filter redacts (an app's own token formats).
# Agent keys (licensing.services.agent_key_create): "wa_" + a 10-hex prefix + "_" + the secret.
# The prefix stays readable (it names the key); the secret part never reaches a log.
LOG_REDACT_PATTERNS = [r"(?<=\bwa_[0-9a-f]{10}_)[A-Za-z0-9_-]{20,}"]
