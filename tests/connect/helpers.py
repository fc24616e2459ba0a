"""Helpers of the ActivConnect tests: an account with the add-on, tokens, an API client."""

import datetime as dt

from accounts.actors import Actor
from billing.quotes import addon_grant_by_staff
from connect.services import api_token_create
from licensing.models import ActivityDay
from licensing.reports import today_utc
from tests.factories import StaffFactory, make_account
from tests.licensing.activity_helpers import add_addon, tracked_user

ALL_SCOPES = ["read_users", "read_activity", "read_billing"]
BASE = "/api/connect/v1"


def connect_account(*, addon=True, **kwargs):
    account, admin = make_account(plan="professional", licenses=10, **kwargs)
    if addon:
        # The way staff sell it: a quote's order and its invoice come with it.
        addon_grant_by_staff(account=account, addon_code="activconnect", price_cents=1200,
                             actor=Actor.for_user(StaffFactory()), reason="BI deal")
    return account, admin


def token_for(account, scopes=ALL_SCOPES, name="BI"):
    return api_token_create(account=account, name=name, scopes=scopes, actor=Actor.system("tests"))


class Api:
    def __init__(self, client, secret):
        self.client, self.secret = client, secret

    def get(self, path, accept="application/json", **params):
        return self.client.get(
            BASE + path, params, headers={"Authorization": f"Bearer {self.secret}", "Accept": accept}
        )

    def ok(self, path, **params):
        response = self.get(path, **params)
        assert response.status_code == 200, response.content
        return response.json()

    def walk(self, path, **params):
        """Every row of a resource, page after page."""
        rows, cursor = [], None
        while True:
            body = self.ok(path, **params, **({"cursor": cursor} if cursor else {}))
            rows += body["data"]
            cursor = body["next_cursor"]
            if not body["has_more"]:
                return rows


def activity_row(account, user, *, day=None, app="excel.exe", site="", url_path="", title="", seconds=60):
    return ActivityDay.objects.create(
        account=account, tracked_user=user, day=day or today_utc(), app=app, site=site,
        url_path=url_path, title=title, seconds=seconds, rollup_key=f"{app}{site}{url_path}{title}"[:32],
    )


def days_ago(n):
    return today_utc() - dt.timedelta(days=n)


__all__ = ["tracked_user", "add_addon"]
