import datetime as dt

import pytest

from licensing.activity import (
    activity_ingest,
    activity_ingest_batch,
    activity_move,
    storage_recompute,
)
from licensing.models import AccountLicensing, ActivityDay
from licensing.reports import ROW_OVERHEAD_BYTES, account_keeps_screen_details, storage_used_bytes
from tests.factories import make_account
from tests.licensing.activity_helpers import add_addon, at, storage_counter, tracked_user

DAY = dt.date(2026, 10, 15)
ITEMS = [
    {"app": "chrome.exe", "url": "https://mail.example.com/inbox/42?q=salary", "title": "Salary review - Mail", "seconds": 60},
    {"app": "chrome.exe", "url": "https://mail.example.com/drafts", "title": "Draft - Mail", "seconds": 30},
    {"app": "excel.exe", "url": None, "title": "budget.xlsx", "seconds": 120},
]


@pytest.fixture
def paid(db):
    return make_account(plan="professional", licenses=10)[0]


def rows(account):
    return list(
        ActivityDay.objects.filter(account=account)
        .order_by("day", "app", "site", "url_path", "title")
        .values("day", "app", "site", "url_path", "title", "seconds")
    )


def test_without_screen_details_only_the_app_and_the_domain_are_kept(paid):
    eva = tracked_user(paid, "eva")
    activity_ingest(account=paid, tracked_user=eva, observed_at=at(DAY), items=ITEMS)

    assert not account_keeps_screen_details(account=paid)
    assert rows(paid) == [
        # Two pages of one site are one row: no path, no title was stored.
        {"day": DAY, "app": "chrome.exe", "site": "mail.example.com", "url_path": "", "title": "", "seconds": 90},
        {"day": DAY, "app": "excel.exe", "site": "", "url_path": "", "title": "", "seconds": 120},
    ]
    assert not ActivityDay.objects.filter(title__contains="Salary").exists()


def test_with_screen_details_paths_and_titles_are_kept(paid):
    add_addon(paid, "screen_details")
    eva = tracked_user(paid, "eva")
    activity_ingest(account=paid, tracked_user=eva, observed_at=at(DAY), items=ITEMS)

    assert account_keeps_screen_details(account=paid)
    assert rows(paid) == [
        {"day": DAY, "app": "chrome.exe", "site": "mail.example.com", "url_path": "/drafts", "title": "Draft - Mail", "seconds": 30},
        {"day": DAY, "app": "chrome.exe", "site": "mail.example.com", "url_path": "/inbox/42?q=salary", "title": "Salary review - Mail", "seconds": 60},
        {"day": DAY, "app": "excel.exe", "site": "", "url_path": "", "title": "budget.xlsx", "seconds": 120},
    ]


def test_a_trial_keeps_the_strictest_privacy(trial_account):
    """PRODUCT.md: "Without it every plan, the trial included, keeps the strictest privacy"
    (issue 15): a trial collects no window titles or URLs unless Screen Details is bought."""
    account = trial_account[0]
    eva = tracked_user(account, "eva")
    activity_ingest(account=account, tracked_user=eva, observed_at=at(DAY), items=ITEMS[:1])
    assert not account_keeps_screen_details(account=account)
    assert rows(account)[0]["title"] == ""
    assert rows(account)[0]["url_path"] == ""
    assert rows(account)[0]["site"] == "mail.example.com"


def test_activity_rolls_up_per_user_per_utc_day(paid):
    eva, bob = tracked_user(paid, "eva"), tracked_user(paid, "bob")
    item = [{"app": "word.exe", "url": None, "title": None, "seconds": 100}]
    activity_ingest(account=paid, tracked_user=eva, observed_at=at(DAY, 9), items=item)
    activity_ingest(account=paid, tracked_user=eva, observed_at=at(DAY, 17), items=item)
    # 23:30 in New York on the 15th is the 16th in UTC.
    new_york = dt.timezone(dt.timedelta(hours=-5))
    activity_ingest(
        account=paid, tracked_user=eva,
        observed_at=dt.datetime(2026, 10, 15, 23, 30, tzinfo=new_york), items=item,
    )
    activity_ingest(account=paid, tracked_user=bob, observed_at=at(DAY), items=item)

    totals = {
        (r.tracked_user.username, r.day): r.seconds
        for r in ActivityDay.objects.filter(account=paid).select_related("tracked_user")
    }
    assert totals == {
        ("eva", DAY): 200,
        ("eva", DAY + dt.timedelta(days=1)): 100,
        ("bob", DAY): 100,
    }


def test_the_batch_form_rolls_up_a_whole_request(paid, django_assert_max_num_queries):
    eva, bob = tracked_user(paid, "eva"), tracked_user(paid, "bob")
    entries = [(eva, at(DAY, h), ITEMS) for h in range(8, 18)] + [(bob.pk, at(DAY), ITEMS), (bob, at(DAY), [])]
    AccountLicensing.objects.get_or_create(account=paid)
    # The privacy rule, the upsert, the storage counter (and a savepoint around the last two).
    with django_assert_max_num_queries(5):
        activity_ingest_batch(account=paid, entries=entries)
    eva_rows = ActivityDay.objects.filter(tracked_user=eva)
    assert {r.app: r.seconds for r in eva_rows} == {"chrome.exe": 900, "excel.exe": 1200}
    assert ActivityDay.objects.filter(tracked_user=bob).count() == 2


def test_odd_urls_and_zero_seconds(paid):
    eva = tracked_user(paid, "eva")
    activity_ingest(account=paid, tracked_user=eva, observed_at=at(DAY), items=[
        {"app": "a", "url": "HTTPS://user:secret@Intranet.Example.com:8443/x", "title": None, "seconds": 5},
        {"app": "b", "url": "example.org/page", "title": None, "seconds": 5},
        {"app": "c", "url": "http://[not-an-ip/", "title": None, "seconds": 5},
        {"app": "d", "url": None, "title": None, "seconds": 0},
    ])
    assert {r["app"]: r["site"] for r in rows(paid)} == {
        "a": "intranet.example.com", "b": "example.org", "c": "",
    }
    assert not ActivityDay.objects.filter(site__contains="secret").exists()


def test_storage_grows_with_new_rows_only_and_matches_the_recomputation(paid):
    eva = tracked_user(paid, "eva")
    activity_ingest(account=paid, tracked_user=eva, observed_at=at(DAY), items=ITEMS)
    first = storage_counter(paid)
    expected = 2 * ROW_OVERHEAD_BYTES + len("chrome.exe") + len("mail.example.com") + len("excel.exe")
    assert first == expected == storage_used_bytes(account=paid)

    # Same keys again: seconds add up, storage does not move.
    activity_ingest(account=paid, tracked_user=eva, observed_at=at(DAY), items=ITEMS)
    assert storage_counter(paid) == first
    # A new day is new rows.
    activity_ingest(account=paid, tracked_user=eva, observed_at=at(DAY + dt.timedelta(days=1)), items=ITEMS)
    assert storage_counter(paid) == 2 * first == storage_used_bytes(account=paid)


def test_storage_counts_utf8_bytes_and_recompute_repairs_the_counter(paid):
    add_addon(paid, "screen_details")
    eva = tracked_user(paid, "eva")
    activity_ingest(account=paid, tracked_user=eva, observed_at=at(DAY), items=[
        {"app": "é", "url": "https://ü.example/ß", "title": "日本", "seconds": 1},
    ])
    expected = ROW_OVERHEAD_BYTES + 2 + len("ü.example".encode()) + len("/ß".encode()) + 6
    assert storage_counter(paid) == expected == storage_used_bytes(account=paid)

    AccountLicensing.objects.filter(account=paid).update(storage_bytes=1)
    storage_recompute(account_ids=[paid.pk])
    assert storage_counter(paid) == expected
    ActivityDay.objects.filter(account=paid).delete()
    storage_recompute()
    assert storage_counter(paid) == 0


def test_merge_moves_history_to_the_destination(paid):
    old, new = tracked_user(paid, "eva-old"), tracked_user(paid, "eva")
    item = [{"app": "word.exe", "url": None, "title": None, "seconds": 10}]
    activity_ingest(account=paid, tracked_user=old, observed_at=at(DAY), items=item)
    activity_ingest(account=paid, tracked_user=old, observed_at=at(DAY - dt.timedelta(days=1)), items=item)
    activity_ingest(account=paid, tracked_user=new, observed_at=at(DAY), items=item)

    activity_move(source=old, destination=new)

    assert not ActivityDay.objects.filter(tracked_user=old).exists()
    assert {r.day: r.seconds for r in ActivityDay.objects.filter(tracked_user=new)} == {
        DAY: 20, DAY - dt.timedelta(days=1): 10,
    }
    assert storage_counter(paid) == storage_used_bytes(account=paid)


def test_a_tracked_user_of_another_account_is_refused(paid):
    other = make_account(plan="professional", licenses=5)[0]
    stranger = tracked_user(other, "stranger")
    with pytest.raises(ValueError):
        activity_ingest(account=paid, tracked_user=stranger, observed_at=at(DAY), items=ITEMS)
    assert not ActivityDay.objects.exists()


def test_characters_a_database_cannot_hold_do_not_fail_the_check_in(paid):
    add_addon(paid, "screen_details")
    eva = tracked_user(paid, "eva")
    activity_ingest(account=paid, tracked_user=eva, observed_at=at(DAY), items=[
        {"app": "bad\x00app", "url": "https://ok.example/p\x00ath", "title": "lone \ud800 surrogate", "seconds": 5},
    ])
    row = ActivityDay.objects.get()
    assert (row.app, row.url_path, row.title) == ("badapp", "/path", "lone ? surrogate")
    assert storage_counter(paid) == storage_used_bytes(account=paid)
