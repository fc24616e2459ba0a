"""The screenshot walk's accounts, users and pages (issue 17): each page in its main states
(ok, grace, blocked, trial, Free, Viewer), the public pages, and the main staff admin pages."""

import os
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from accounts.actors import Actor
from accounts.models import Role
from licensing.models import AccountLicensing, TrackedUser
from support.services import case_open
from tests.factories import add_member, make_account

WIDTHS = (1280, 390)
CUSTOMER_PAGES = ["/", "/reports/", "/users/", "/agents/", "/billing/", "/cart/", "/support/",
                  "/members/", "/settings/", "/billing/details/"]


def artifacts_dir():
    """Where the screenshots go: $SCREENSHOT_DIR, else artifacts/screenshots/ (gitignored)."""
    path = Path(os.environ.get("SCREENSHOT_DIR") or Path(settings.BASE_DIR) / "artifacts" / "screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _over(account, *, state, ends, blocked_reason=""):
    for n in range(6):
        TrackedUser.objects.create(account=account, identity_kind="machine", identity_scope="pc",
                                   identity_name=f"u{n}", username=f"user{n}", machine_hostname=f"PC-{n}")
    AccountLicensing.objects.filter(account=account).update(
        used=6, state=state, blocked_reason=blocked_reason,
        over_since=timezone.now() - timedelta(days=10), grace_period_ends_at=ends,
    )


def walk_plan(staff_user):
    """[(state, user or None, [paths])]: who walks which pages."""
    ok, ok_admin = make_account(plan="professional", licenses=25, name="Okay Industries")
    for n in range(3):
        TrackedUser.objects.create(account=ok, identity_kind="domain", identity_scope="ACME",
                                   identity_name=f"person{n}", username=f"person{n}", domain="ACME",
                                   machine_hostname=f"LAPTOP-{n}")
    case = case_open(account=ok, user=ok_admin, subject="Reports are slow", description="Since Monday.",
                     severity="normal", channel="email", actor=Actor.for_user(ok_admin))
    viewer = add_member(ok, Role.VIEWER)
    grace, grace_admin = make_account(plan="professional", licenses=5, name="Grace Period Ltd")
    _over(grace, state="grace", ends=timezone.now() + timedelta(days=4))
    blocked, blocked_admin = make_account(plan="professional", licenses=5, name="Blocked Corp")
    _over(blocked, state="blocked", ends=timezone.now() - timedelta(days=1), blocked_reason="grace_expired")
    _, trial_admin = make_account(name="Trial Co")
    _, free_admin = make_account(plan="free", name="Free Folk")
    return [
        ("ok", ok_admin, [*CUSTOMER_PAGES, f"/support/cases/{case.pk}/"]),
        ("grace", grace_admin, ["/", "/cart/", "/billing/"]),
        ("blocked", blocked_admin, ["/", "/reports/"]),
        ("trial", trial_admin, ["/", "/billing/", "/cart/"]),
        ("free", free_admin, ["/", "/billing/", "/users/"]),
        ("viewer", viewer, ["/", "/reports/", "/users/"]),
        ("anonymous", None, ["/pricing/", "/signup/", "/login/"]),
        ("staff", staff_user, ["/admin/", "/admin/staff/staffaccount/", f"/admin/staff/staffaccount/{ok.pk}/change/",
                               "/admin/support/supportcase/", f"/admin/support/supportcase/{case.pk}/change/"]),
    ]
