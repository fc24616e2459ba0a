"""The staff admin's index and accounts list as staff read them (issue 17): sections named for
what they hold, the accounts list whole at 1,280 px."""

import re

import pytest

from tests.browser import browser_page, chromium, login_as  # noqa: F401
from tests.factories import make_account

pytestmark = pytest.mark.django_db


def sections(page):
    """{section caption: [model list URLs]} of the admin index."""
    found = {}
    for caption, body in re.findall(r'<caption>\s*<a [^>]*>(.*?)</a>\s*</caption>(.*?)</table>', page, re.S):
        found[caption.strip()] = re.findall(r'<th scope="row"[^>]*>\s*<a href="([^"]+)"', body)
    return found


def test_index_sections_hold_what_their_names_say(client, admin_user):
    client.force_login(admin_user)
    found = sections(client.get("/admin/").content.decode())
    assert found["Customer accounts"][:1] == ["/admin/staff/staffaccount/"]
    assert set(found["Customer accounts"]) == {
        "/admin/staff/staffaccount/", "/admin/accounts/invitation/", "/admin/accounts/auditentry/",
    }
    logins = found["Logins and staff roles"]
    assert "/admin/accounts/user/" in logins and "/admin/auth/group/" in logins
    assert "Staff" not in found
    everything = [url for urls in found.values() for url in urls]
    assert len(everything) == len(set(everything))  # each list once
    assert "/admin/staff/dailymetrics/" in found["Staff dashboard"]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_accounts_list_is_whole_at_1280_px(browser_page, admin_user):  # noqa: F811
    make_account(plan="professional", licenses=25, name="A rather long customer name, Incorporated")
    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 800})
    login_as(page, admin_user)
    page.goto("/admin/staff/staffaccount/")
    widths = page.evaluate("""() => {
        const table = document.querySelector('#result_list');
        const box = table.closest('.results') || table.parentElement;
        return {table: table.scrollWidth, box: box.clientWidth, page: document.documentElement.scrollWidth};
    }""")
    assert widths["table"] <= widths["box"] and widths["page"] <= 1280, widths
    last = page.locator("#result_list thead th").last
    assert last.is_visible() and last.bounding_box()["x"] + last.bounding_box()["width"] <= 1280
