import csv
import datetime as dt
import io

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from billing.models import Plan
from licensing.activity import activity_ingest
from licensing.models import AccountLicensing, ComplianceState
from tests.factories import add_member, make_account
from tests.licensing.activity_helpers import add_addon, at, tracked_user

NOW = dt.datetime(2026, 10, 15, 10, 0, tzinfo=dt.UTC)
TODAY = NOW.date()
YESTERDAY = TODAY - dt.timedelta(days=1)
BROWSING = [
    {"app": "chrome.exe", "url": "https://crm.example.com/deals/7", "title": "Deal 7 - CRM", "seconds": 1800},
    {"app": "outlook.exe", "url": None, "title": "Inbox", "seconds": 600},
]


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def account(paid_account):
    return paid_account[0]


def ingest(account, user, day=TODAY, items=BROWSING):
    activity_ingest(account=account, tracked_user=user, observed_at=at(day), items=items)


def export_lines(response):
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


# --- the page ----------------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["admin_client", "viewer_client"])
def test_every_member_sees_activity_by_user_and_day(who, request, account):
    client = request.getfixturevalue(who)
    eva, bob = tracked_user(account, "eva"), tracked_user(account, "bob", domain="SALES")
    ingest(account, eva)
    ingest(account, eva, YESTERDAY)
    ingest(account, bob, items=BROWSING[:1])

    response = client.get("/reports/")

    assert response.status_code == 200
    content = response.content.decode()
    rows = content.split('<tbody>')[1].split("</tbody>")[0].split("<tr>")[1:]
    assert len(rows) == 3  # eva today, bob today, eva yesterday
    # Newest day first, then by name.
    assert ["2026-10-15" in rows[0], "2026-10-15" in rows[1], "2026-10-14" in rows[2]] == [True] * 3
    assert ["CORP\\eva" in rows[0], "SALES\\bob" in rows[1], "CORP\\eva" in rows[2]] == [True] * 3
    eva_today = rows[0]
    assert "40 min" in eva_today  # 30 + 10 minutes
    assert "chrome.exe" in eva_today and "outlook.exe" in eva_today and "crm.example.com" in eva_today
    # Professional without Screen Details: no titles were kept, none are shown.
    assert "Deal 7" not in content and "/deals/7" not in content
    assert 'id="privacy-note"' in content


def test_an_alias_joins_two_profiles_in_the_report(admin_client, account):
    laptop = tracked_user(account, "eva", domain="LAPTOP-EVA", alias="Eva Green")
    desktop = tracked_user(account, "eva", domain="BOB-PC", alias="Eva Green")
    ingest(account, laptop, items=BROWSING[:1])
    ingest(account, desktop, items=BROWSING[1:])

    content = admin_client.get("/reports/").content.decode()

    assert content.count("Eva Green") == 1
    assert "40 min" in content
    assert "LAPTOP-EVA" not in content


def test_with_screen_details_the_report_shows_titles_and_urls(admin_client, account):
    add_addon(account, "screen_details")
    ingest(account, tracked_user(account, "eva"))
    content = admin_client.get("/reports/").content.decode()
    assert "Top windows" in content
    assert "Deal 7 - CRM" in content and "crm.example.com/deals/7" in content
    assert 'id="privacy-note"' not in content


def test_storage_used_is_on_the_reports_page(client, db):
    account, admin = make_account(plan="free")
    client.force_login(admin)
    ingest(account, tracked_user(account))
    storage = AccountLicensing.objects.get(account=account).storage_bytes
    content = client.get("/reports/").content.decode()
    assert f'<span id="storage-used">{storage}\xa0bytes</span> of 3.0\xa0GB' in content


# --- dates inside the data history -------------------------------------------------------------

def test_date_inputs_only_offer_the_data_history(client, db):
    account, admin = make_account(plan="free")
    client.force_login(admin)
    content = client.get("/reports/").content.decode()
    assert 'min="2026-09-15"' in content and 'max="2026-10-15"' in content
    assert 'value="2026-10-09"' in content  # the last week by default


def test_the_filter_refuses_a_date_outside_the_data_history(client, db):
    account, admin = make_account(plan="free")
    client.force_login(admin)
    ingest(account, tracked_user(account, "eva"), day=dt.date(2026, 9, 15))

    refused = client.get("/reports/", {"start": "2026-09-14", "end": "2026-10-15"})
    assert refused.status_code == 400
    assert "Your plan keeps 30 days of data history: choose a date from 2026-09-15 to 2026-10-15" in (
        refused.content.decode()
    )
    assert 'id="report"' not in refused.content.decode()

    future = client.get("/reports/", {"start": "2026-10-01", "end": "2026-10-16"})
    assert "Choose a date up to today, 2026-10-15." in future.content.decode()
    backwards = client.get("/reports/", {"start": "2026-10-10", "end": "2026-10-01"})
    assert "The start date is after the end date." in backwards.content.decode()

    accepted = client.get("/reports/", {"start": "2026-09-15", "end": "2026-09-15"})
    assert accepted.status_code == 200
    assert "CORP\\eva" in accepted.content.decode()


def test_the_export_refuses_dates_outside_the_data_history_too(client, db):
    account, admin = make_account(plan="free")
    client.force_login(admin)
    response = client.get("/reports/export.csv", {"start": "2026-01-01", "end": "2026-10-15"})
    assert response.status_code == 400
    assert "choose a date from 2026-09-15" in response.content.decode()


def test_pages_keep_the_dates(admin_client, account):
    for n in range(30):
        ingest(account, tracked_user(account, f"user{n:02d}"), YESTERDAY, BROWSING[:1])
    first = admin_client.get("/reports/", {"start": "2026-10-14", "end": "2026-10-14"}).content.decode()
    assert "Page 1 of 2" in first
    assert "?start=2026-10-14&amp;end=2026-10-14&amp;page=2" in first
    second = admin_client.get("/reports/", {"start": "2026-10-14", "end": "2026-10-14", "page": 2})
    assert second.content.decode().count("CORP\\user") == 5


@pytest.mark.parametrize("asked", ["9", "0", "-1", "9" * 40, "x"])
def test_a_page_outside_the_range_shows_the_first_in_at_most_8_queries(admin_client, account, asked):
    # The rows and the range's total come from one query; a page outside the range (or not a
    # number) is answered with the first page, read again with its total: one query more.
    for n in range(30):
        ingest(account, tracked_user(account, f"user{n:02d}"), YESTERDAY, BROWSING[:1])
    dates = {"start": "2026-10-14", "end": "2026-10-14"}
    admin_client.get("/reports/", dates)  # the catalogue's cache warm, as on a live site
    with CaptureQueriesContext(connection) as ctx:
        page = admin_client.get("/reports/", {**dates, "page": asked}).content.decode()
    assert "Page 1 of 2" in page and page.count("CORP\\user") == 25 and "CORP\\user00" in page
    assert len(ctx.captured_queries) <= 8


def test_a_page_past_the_end_of_a_single_page_shows_it(admin_client, account):
    ingest(account, tracked_user(account, "eva"))
    page = admin_client.get("/reports/", {"page": "3"}).content.decode()
    assert "CORP\\eva" in page and 'class="pagination"' not in page


def test_the_page_costs_the_same_queries_for_many_users(admin_client, account, django_assert_max_num_queries):
    for _ in range(3):
        ingest(account, tracked_user(account))
    with django_assert_max_num_queries(16) as few:
        admin_client.get("/reports/")
    for _ in range(40):
        ingest(account, tracked_user(account), YESTERDAY)
    with django_assert_max_num_queries(len(few)):
        admin_client.get("/reports/")


def test_each_row_shows_its_top_three_apps_and_sites_and_top_five_windows(admin_client, account):
    add_addon(account, "screen_details")
    eva = tracked_user(account, "eva")
    ingest(account, eva, items=[
        {"app": "chrome.exe", "url": f"https://site{n}.example.com/page{n}", "title": f"Page {n}",
         "seconds": 60 * (n + 1)}
        for n in range(7)
    ] + [{"app": "excel.exe", "url": None, "title": "", "seconds": 30},
         {"app": "word.exe", "url": None, "title": "", "seconds": 20},
         {"app": "notepad.exe", "url": None, "title": "", "seconds": 10}])

    content = admin_client.get("/reports/").content.decode()
    row = content.split("<tbody>")[1].split("</tbody>")[0]
    apps, sites, windows = (cell.split("</td>")[0] for cell in row.split("<td><ul>")[1:])

    # Chrome's 28 minutes are summed over its seven sites; the three small apps are ranked after it.
    assert [a.split(" <")[0] for a in apps.split("<li>")[1:]] == ["chrome.exe", "excel.exe", "word.exe"]
    assert "28 min" in apps
    assert [s.split(" <")[0] for s in sites.split("<li>")[1:]] == [
        "site6.example.com", "site5.example.com", "site4.example.com"]
    assert [w.split(" <")[0] for w in windows.split("<li>")[1:]] == [
        "Page 6", "Page 5", "Page 4", "Page 3", "Page 2"]


@pytest.mark.parametrize("plan, addons", [
    ("professional", ["screen_details", "data_history"]),
    ("free", []),
])
def test_the_page_answers_in_at_most_8_queries_whatever_the_plan(client, db, plan, addons,
                                                                 django_assert_max_num_queries):
    """Issue 13 (tests/test_page_queries.py walks a Professional account without add-ons): with
    Screen Details (the windows column) and Data History, and on Free (a storage limit), too."""
    account, admin = make_account(plan=plan, licenses=10 if plan != "free" else None)
    for code in addons:
        add_addon(account, code)
    for n in range(4):
        ingest(account, tracked_user(account, f"user{n}"))
    client.force_login(admin)
    client.get("/reports/")  # the catalogue the header names is cached from the first read
    with django_assert_max_num_queries(8):
        response = client.get("/reports/")
    content = response.content.decode()
    assert response.status_code == 200 and content.count("CORP\\user") == 4
    assert ("Deal 7 - CRM" in content) == ("screen_details" in addons)
    assert ("of 3.0\xa0GB" in content) == (plan == "free")
    assert ("+ 12 months of Data History" in content) == ("data_history" in addons)


# --- the export --------------------------------------------------------------------------------

def test_the_export_streams_every_row_of_the_dates(admin_client, account):
    add_addon(account, "screen_details")
    eva = tracked_user(account, "eva", alias="Eva Green")
    ingest(account, eva)
    ingest(account, eva, dt.date(2026, 10, 1))

    response = admin_client.get("/reports/export.csv", {"start": "2026-10-10", "end": "2026-10-15"})

    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["X-Export-Capped"] == "false"
    assert export_lines(response) == [
        ["date", "user", "app", "site", "url_path", "title", "seconds"],
        ["2026-10-15", "Eva Green", "chrome.exe", "crm.example.com", "/deals/7", "Deal 7 - CRM", "1800"],
        ["2026-10-15", "Eva Green", "outlook.exe", "", "", "Inbox", "600"],
    ]


def test_the_export_is_capped_at_the_plans_row_limit_and_says_so(admin_client, account):
    Plan.objects.filter(code="professional").update(export_row_limit=3)
    for _ in range(3):
        ingest(account, tracked_user(account))  # 6 rows

    page = admin_client.get("/reports/").content.decode()
    assert "more than your plan's 3 export rows" in page

    response = admin_client.get("/reports/export.csv")
    assert response["X-Export-Capped"] == "true"
    assert response["X-Export-Row-Limit"] == "3"
    lines = export_lines(response)
    assert len(lines) == 1 + 3 + 1
    assert lines[-1] == ["# Export capped at the plan's 3 rows: narrow the dates to export the rest."]


def test_more_people_days_than_the_limit_is_capped(admin_client, account):
    # Four (person, day) rows hold at least four export rows: capped at three, on the page and
    # in the export, whatever the counting.
    Plan.objects.filter(code="professional").update(export_row_limit=3)
    for _ in range(4):
        ingest(account, tracked_user(account), items=BROWSING[:1])  # one row each
    assert "more than your plan's 3 export rows" in admin_client.get("/reports/").content.decode()
    response = admin_client.get("/reports/export.csv")
    assert response["X-Export-Capped"] == "true"
    assert len(export_lines(response)) == 1 + 3 + 1


def test_aliased_rows_summed_within_the_limit_are_not_capped(admin_client, account):
    # Two profiles of one alias: two activity rows, one export row once summed. More activity
    # rows than the limit, but not more export rows.
    Plan.objects.filter(code="professional").update(export_row_limit=1)
    for domain in ("LAPTOP-EVA", "BOB-PC"):
        ingest(account, tracked_user(account, "eva", domain=domain, alias="Eva Green"), items=BROWSING[:1])
    assert 'id="export-capped"' not in admin_client.get("/reports/").content.decode()
    response = admin_client.get("/reports/export.csv")
    assert response["X-Export-Capped"] == "false"
    assert export_lines(response)[1:] == [
        ["2026-10-15", "Eva Green", "chrome.exe", "crm.example.com", "", "", "3600"]]


def test_exactly_the_limit_is_not_capped(admin_client, account):
    Plan.objects.filter(code="professional").update(export_row_limit=2)
    ingest(account, tracked_user(account))  # 2 rows
    assert 'id="export-capped"' not in admin_client.get("/reports/").content.decode()
    response = admin_client.get("/reports/export.csv")
    assert response["X-Export-Capped"] == "false"
    assert len(export_lines(response)) == 3


def test_a_title_cannot_become_a_spreadsheet_formula(admin_client, account):
    add_addon(account, "screen_details")
    ingest(account, tracked_user(account), items=[
        {"app": "notepad.exe", "url": None, "title": '=HYPERLINK("http://evil.example","x")', "seconds": 5},
    ])
    row = export_lines(admin_client.get("/reports/export.csv"))[1]
    assert row[5] == "'=HYPERLINK(\"http://evil.example\",\"x\")"


# --- tenants -----------------------------------------------------------------------------------

def test_another_accounts_activity_never_appears(admin_client, account):
    ingest(account, tracked_user(account, "ours"))
    other = make_account(plan="professional", licenses=5)[0]
    theirs = tracked_user(other, "theirs", domain="OTHERCO", alias="Their Person")
    ingest(other, theirs, items=[{"app": "secret-tool.exe", "url": "https://other.example", "title": "x", "seconds": 99}])

    page = admin_client.get("/reports/", {"account": other.pk, "tracked_user": theirs.pk}).content.decode()
    export = b"".join(admin_client.get("/reports/export.csv", {"account": other.pk}).streaming_content).decode()

    for text in (page, export):
        assert "ours" in text
        assert "Their Person" not in text and "OTHERCO" not in text and "secret-tool" not in text


def test_anonymous_visitors_go_to_login(client, db):
    assert client.get("/reports/")["Location"].startswith("/login/")
    assert client.get("/reports/export.csv")["Location"].startswith("/login/")


# --- blocked accounts --------------------------------------------------------------------------

def block(account, reason):
    AccountLicensing.objects.update_or_create(
        account=account, defaults={"state": ComplianceState.BLOCKED, "blocked_reason": reason, "used": 12}
    )


@pytest.mark.parametrize("role", [Role.ADMIN, Role.VIEWER])
@pytest.mark.parametrize("url", ["/reports/", "/reports/export.csv"])
def test_a_blocked_account_sees_why_and_what_to_do(client, account, role, url):
    ingest(account, tracked_user(account, "eva"))
    block(account, "grace_expired")
    client.force_login(add_member(account, role))

    response = client.get(url)

    assert response.status_code == 403
    content = response.content.decode()
    assert "The 14-day grace period ended" in content
    assert "Buy licenses" in content and "Reclaim users" in content
    assert "chrome.exe" not in content and "CORP\\eva" not in content
    if role == Role.ADMIN:
        assert 'href="/cart/"' in content and 'href="/users/"' in content
    else:
        assert "Ask an Admin" in content


@pytest.mark.parametrize(
    "reason, says",
    [
        ("free_over_limit", "The Free plan tracks at most 3 users"),
        ("storage_over_limit", "over the plan&#x27;s storage limit"),
    ],
)
def test_each_blocked_reason_is_explained(client, admin_client, account, reason, says):
    if reason == "free_over_limit":  # the reason names Free's cap: a Free account has it
        account, admin = make_account(plan="free")
        client.force_login(admin)
        admin_client = client
    block(account, reason)
    content = admin_client.get("/reports/").content.decode()
    assert says in content
    if reason.startswith("storage"):
        assert "Delete data" in content and "Upgrade" in content


def test_a_blocked_account_still_reaches_its_dashboard(admin_client, account):
    block(account, "grace_expired")
    assert admin_client.get("/").status_code == 200


def test_the_export_joins_aliased_profiles_like_the_page(admin_client, account):
    laptop = tracked_user(account, "eva", domain="LAPTOP-EVA", alias="Eva Green")
    desktop = tracked_user(account, "eva", domain="BOB-PC", alias="Eva Green")
    ingest(account, laptop, items=BROWSING[:1])
    ingest(account, desktop, items=BROWSING)
    lines = export_lines(admin_client.get("/reports/export.csv"))
    assert lines[1:] == [
        ["2026-10-15", "Eva Green", "chrome.exe", "crm.example.com", "", "", "3600"],
        ["2026-10-15", "Eva Green", "outlook.exe", "", "", "", "600"],
    ]


# --- what a plan may not show is not shown, whenever it was collected (issue 11, item 5) ------

def test_details_kept_with_screen_details_stay_hidden_once_it_is_gone_and_show_once_bought(client, db):
    # Merged with issue 15 (a trial collects no details any more): the details are collected
    # while the account holds Screen Details, then the add-on goes.
    from billing.models import SubscriptionAddOn

    account, admin = make_account(plan="professional", licenses=10)
    add_addon(account, "screen_details")
    client.force_login(admin)
    eva = tracked_user(account, "eva")
    ingest(account, eva, YESTERDAY)
    assert "Deal 7 - CRM" in client.get("/reports/").content.decode()  # shown while held

    SubscriptionAddOn.objects.filter(subscription__account=account).delete()
    page = client.get("/reports/").content.decode()
    assert "chrome.exe" in page and "crm.example.com" in page  # the app and the domain stay
    assert "Deal 7" not in page and "/deals/7" not in page and "Inbox" not in page
    assert 'id="privacy-note"' in page
    lines = export_lines(client.get("/reports/export.csv"))
    body = "\n".join(",".join(line) for line in lines)
    assert "chrome.exe" in body and "crm.example.com" in body
    assert "Deal 7" not in body and "/deals/7" not in body and "Inbox" not in body
    # The rows lose their hidden columns' values, not their time: 40 minutes in all.
    assert sum(int(line[-1]) for line in lines[1:]) == 2400

    add_addon(account, "screen_details")
    page = client.get("/reports/").content.decode()
    assert "Deal 7 - CRM" in page and "crm.example.com/deals/7" in page
    body = "\n".join(",".join(line) for line in export_lines(client.get("/reports/export.csv")))
    assert "Deal 7 - CRM" in body and "/deals/7" in body
