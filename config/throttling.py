"""Who is asking (the client address behind our proxies) and the password-reset throttle.

Login throttling is django-axes' (settings.AXES_*). Password-reset requests are throttled here,
with a fixed-window counter in the shared cache (Redis in production), because no well-kept
library fits: django-ratelimit, the usual choice, has had no release since 2023 and declares no
Django 5 or 6 support, and the other packages are unmaintained or little used. This is a
dozen lines on Django's cache API (``add`` + ``incr``, atomic on Redis).
"""

import hashlib
import time

from django.conf import settings
from django.core.cache import cache
from django.shortcuts import redirect
from django.urls import reverse

from accounts.lockout import reset_identity


def client_ip(request):
    """The client's address: REMOTE_ADDR, or with TRUSTED_PROXY_COUNT proxies in front of
    gunicorn the address that the outermost of our proxies saw (X-Forwarded-For's entry that
    many places from the right). Left-hand entries are the client's to forge, so never them."""
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies:
        forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [a for a in forwarded if a]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR", "")


def _over_limit(scope, value, limit, window):
    bucket = int(time.time() // window)
    key = f"throttle:{scope}:{bucket}:{hashlib.sha256(value.encode()).hexdigest()}"
    cache.add(key, 0, timeout=window)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr: this request starts the window
        cache.set(key, 1, timeout=window)
        count = 1
    return count > limit


def over_limit(scope, value, limit, window):
    """Counts one request of ``value`` (a token id, an address) in ``scope``'s current window of
    ``window`` seconds; True past ``limit``. The one fixed-window counter of the site's own
    throttles (password resets, the ActivConnect API)."""
    return _over_limit(scope, value, limit, window)


class PasswordResetThrottleMiddleware:
    """Past PASSWORD_RESET_LIMIT_PER_IP requests from one address, or PASSWORD_RESET_LIMIT_PER_EMAIL
    for one email, per PASSWORD_RESET_WINDOW seconds, a reset request sends no email and answers
    with the same "check your email" redirect as one that did, so the answer tells nothing."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # Sign-up emails the address too (a confirmation link, or "someone tried to sign up with
        # your address", issue 11 item 9): the same limits, so neither floods a mailbox.
        scope = {reverse("password_reset"): "reset", reverse("signup"): "signup"}.get(request.path_info)
        if request.method == "POST" and scope:
            window = settings.PASSWORD_RESET_WINDOW
            # Counted by the login the reset finds, whatever the spelling (accounts.lockout).
            email = reset_identity(request.POST.get("email", "")[:254])
            # Both counters move on every request: a flood on one email from many addresses and
            # a sweep of many emails from one address are both held back.
            over_ip = _over_limit(f"{scope}-ip", client_ip(request), settings.PASSWORD_RESET_LIMIT_PER_IP, window)
            over_email = _over_limit(f"{scope}-email", email, settings.PASSWORD_RESET_LIMIT_PER_EMAIL, window)
            if over_ip or over_email:
                return redirect("password_reset_done" if scope == "reset" else "signup_sent")
        return self.get_response(request)
