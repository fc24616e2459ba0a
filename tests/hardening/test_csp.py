"""Every page carries the Content Security Policy, and no page relies on inline code it blocks.

Django 6.1's admin needs no relaxation: its templates load every script from a file and put the
request's CSP nonce on each <script> (checked below on every registered model's pages), and its
scripts change styles through the DOM, which style-src does not govern.
"""

import re

import pytest
from django.contrib import admin
from django.urls import reverse

from accounts.models import User

pytestmark = pytest.mark.django_db

# What the policy blocks: a <script> with a body but no nonce, an inline event handler, a style
# attribute, a <style> block without nonce, a javascript: URL.
INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)(?![^>]*\bnonce=)(?![^>]*type=\"application/json\")[^>]*>", re.I)
INLINE_STYLE_BLOCK = re.compile(r"<style\b(?![^>]*\bnonce=)[^>]*>", re.I)
STYLE_ATTRIBUTE = re.compile(r"<[a-z][^>]*\sstyle\s*=", re.I)
EVENT_HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I)
JAVASCRIPT_URL = re.compile(r"""(href|src|action)\s*=\s*["']\s*javascript:""", re.I)


def blocked_inline_code(html):
    found = []
    for name, pattern in [
        ("inline <script>", INLINE_SCRIPT),
        ("<style> block", INLINE_STYLE_BLOCK),
        ("style attribute", STYLE_ATTRIBUTE),
        ("event handler attribute", EVENT_HANDLER),
        ("javascript: URL", JAVASCRIPT_URL),
    ]:
        found += [f"{name}: {m.group(0)[:120]}" for m in pattern.finditer(html)]
    return found


def test_scanner_finds_what_the_policy_blocks():
    # A scanner that never fires would make every test below pass: prove it bites.
    assert blocked_inline_code('<script>alert(1)</script>')
    assert blocked_inline_code('<div style="color:red">')
    assert blocked_inline_code('<button onclick="x()">')
    assert blocked_inline_code('<a href="javascript:void(0)">')
    assert blocked_inline_code('<style>p{}</style>')
    assert not blocked_inline_code('<script src="/static/a.js"></script>')
    assert not blocked_inline_code('<script nonce="abc">x</script><style nonce="abc"></style>')


def assert_csp_clean(response):
    assert response.status_code == 200, response.status_code
    policy = response["Content-Security-Policy"]
    # (the nonce is listed only on pages that used it)
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    html = response.content.decode()
    assert blocked_inline_code(html) == []


@pytest.mark.parametrize(
    "url",
    ["/login/", "/signup/", "/pricing/", "/password-reset/", "/password-reset/sent/",
     "/password-reset/done/", "/admin/login/"],
)
def test_public_pages_carry_the_policy_without_inline_code(client, url):
    assert_csp_clean(client.get(url))


@pytest.mark.parametrize("url", ["/", "/members/"])
def test_customer_pages_carry_the_policy_without_inline_code(admin_client, url):
    assert_csp_clean(admin_client.get(url))


@pytest.fixture
def superuser_client(client):
    user = User.objects.create_superuser(email="root@ourcompany.example", password="x-Pass-12345")
    client.force_login(user)
    return client


def admin_urls():
    for model in admin.site._registry:
        meta = model._meta
        yield reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
        yield reverse(f"admin:{meta.app_label}_{meta.model_name}_add")
        if first := model._default_manager.order_by("pk").first():
            yield reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[first.pk])


def test_every_admin_page_carries_the_policy_without_inline_code(superuser_client, paid_account):
    urls = ["/admin/", *admin_urls()]
    problems, seen = {}, []
    for url in urls:
        response = superuser_client.get(url, follow=True)
        if response.status_code == 403:  # an admin that allows no adding
            continue
        assert response.status_code == 200, url
        seen.append(url)
        assert "Content-Security-Policy" in response, url
        if found := blocked_inline_code(response.content.decode()):
            problems[url] = found
    assert problems == {}
    assert any(url.endswith("/change/") for url in seen)  # objects' pages were walked too
