"""Reusable fixtures for browser tests: Debian's Chromium driven by Playwright's sync API.

Use them by importing into a test module (pytest only loads plugins from the top conftest)::

    from tests.browser import browser_page, login_as  # noqa: F401

    @pytest.mark.browser
    @pytest.mark.django_db(transaction=True)
    def test_something(browser_page, live_server):
        login_as(browser_page, user)
        browser_page.goto(live_server.url + "/")

The live server needs a transactional database, emptied after each test; tests/conftest.py
seeds the catalogue again for the next one.
Playwright's own browser download is impossible here: we launch /usr/bin/chromium, and the
tests are skipped (with the reason) where it is missing.
"""

import os
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections
from django.test import Client

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


@pytest.fixture
def chromium():
    # Function-scoped on purpose: while Playwright's sync API is running, an event loop runs in
    # this thread and asgiref gives Django's connections per-context storage, so a session-long
    # browser would hide the test database's serialized contents from later transactional tests.
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium to run browser tests")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - the package is in the lock
        pytest.skip("the playwright package is not installed")
    # Playwright's sync API runs an event loop in this thread; Django refuses ORM calls from a
    # thread with a running loop unless told it is safe (pytest-django's documented advice).
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()
        # Connections the test opened while the loop ran live in that context's storage: close
        # them here, or they outlive the test (and block dropping the test database).
        connections.close_all()


@pytest.fixture
def browser_page(chromium, live_server):
    """A fresh page (own cookies) pointed at the live server: ``page.goto("/path")`` works."""
    context = chromium.new_context(base_url=live_server.url)
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.live_server_url = live_server.url
    yield page
    context.close()


def login_as(page, user):
    """Logs ``user`` in without the login form: a real session, its cookie put in the browser."""
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{
        "name": settings.SESSION_COOKIE_NAME, "value": cookie.value,
        "url": page.live_server_url, "httpOnly": True,
    }])
