"""The screenshot walk (issue 17, docs/frontend.md): one Chromium session visits every page of
tests/frontend/walk.py at 1,280 and 390 px, saves a full-page screenshot of each under
artifacts/screenshots/ (or $SCREENSHOT_DIR), fails when a customer or public page is wider
than a 390 px phone's screen, and runs axe-core over each page at 1,280 px: no serious or
critical violation but the accepted ones of tests/frontend/axe.py."""

import re

import pytest

from tests.browser import chromium, login_as  # noqa: F401
from tests.frontend.axe import axe_violations, unaccepted
from tests.frontend.walk import WIDTHS, artifacts_dir, walk_plan

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def slug(path):
    return re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-") or "home"


def test_every_page_in_every_state_at_1280_and_390_px(chromium, live_server, admin_user):  # noqa: F811
    plan = walk_plan(admin_user)
    out = artifacts_dir()
    context = chromium.new_context(base_url=live_server.url)
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.live_server_url = live_server.url
    overflowing, errors, shots, violations = [], [], 0, []
    try:
        for state, user, paths in plan:
            context.clear_cookies()
            if user is not None:
                login_as(page, user)
            for path in paths:
                for width in WIDTHS:
                    page.set_viewport_size({"width": width, "height": 800 if width > 400 else 844})
                    response = page.goto(path)
                    if response.status >= 500:
                        errors.append(f"{state} {path}: {response.status}")
                    page.screenshot(path=str(out / f"{state}-{slug(path)}-{width}.png"), full_page=True)
                    shots += 1
                    if width > 400:
                        violations += [f"{state} {path}: {v}" for v in unaccepted(path, axe_violations(page))]
                    if width < 400 and state != "staff":
                        widths = page.evaluate(
                            "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
                        )
                        if widths[0] > widths[1]:
                            overflowing.append(f"{state} {path}: {widths[0]} px wide on a {widths[1]} px screen")
    finally:
        context.close()
    assert not errors, errors
    assert not violations, "axe-core, serious or critical:\n" + "\n".join(violations)
    assert not overflowing, "pages wider than a phone's screen:\n" + "\n".join(overflowing)
    assert shots == sum(len(paths) for _, _, paths in plan) * len(WIDTHS)
