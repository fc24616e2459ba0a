"""Issue 15: a support case opened or answered is told to the one who opened it and the Admins."""

import pytest
from django.core import mail

from accounts.actors import Actor
from accounts.models import Role
from support import services
from tests.factories import UserFactory, add_member, make_account

pytestmark = pytest.mark.django_db


def test_opened_and_answered_cases_are_emailed(django_capture_on_commit_callbacks):
    account, admin = make_account(plan="professional", licenses=10)
    other_admin = add_member(account, Role.ADMIN)
    add_member(account, Role.VIEWER)
    with django_capture_on_commit_callbacks(execute=True):
        case = services.case_open(account=account, user=admin, actor=Actor.for_user(admin),
                                  subject="Reports are slow", description="since Monday",
                                  severity="normal", channel="email")
    (opened,) = mail.outbox
    assert sorted(opened.to) == sorted([admin.email, other_admin.email])
    assert opened.subject == f"Case #{case.pk} opened: Reports are slow"
    assert "first response by" in opened.body and "weekdays 8:00-18:00 CT" in opened.body
    assert f"/support/cases/{case.pk}/" in opened.body
    mail.outbox.clear()
    staff = UserFactory(is_staff=True)
    with django_capture_on_commit_callbacks(execute=True):
        services.case_reply_add(case=case, author=staff, body="We are on it.")
        services.case_reply_add(case=case, author=admin, body="Thanks")  # a customer's: no email
    (answered,) = mail.outbox
    assert sorted(answered.to) == sorted([admin.email, other_admin.email])
    assert "We are on it." in answered.body
