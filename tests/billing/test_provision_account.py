import pytest
from django.core.management import CommandError, call_command

from accounts.models import Account

pytestmark = pytest.mark.django_db


def test_provisions_paid_account_with_annual_term(capsys):
    call_command("provision_account", "initech", "--plan", "essentials", "--licenses", "25",
                 "--admin-email", "bill@initech.example")
    account = Account.objects.get(slug="initech")
    sub = account.subscription
    assert (sub.plan.code, sub.licenses, sub.state) == ("essentials", 25, "active")
    assert (sub.term_end - sub.term_start).days in (365, 366)
    assert account.memberships.get().user.email == "bill@initech.example"
    assert "Essentials x 25" in capsys.readouterr().out


@pytest.mark.parametrize("args,message", [
    (["--plan", "enterprise", "--licenses", "10"], "Unknown plan 'enterprise'"),
    (["--plan", "premium", "--licenses", "10"], "legacy plan"),
    (["--plan", "advanced", "--licenses", "10"], "legacy plan"),
    (["--plan", "professional", "--licenses", "4"], "at least 5 licenses"),
])
def test_refuses_with_clear_error(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("provision_account", "newco", *args)
    assert not Account.objects.filter(slug="newco").exists()


def test_refuses_slug_in_use():
    call_command("provision_account", "taken", "--plan", "free", "--licenses", "0")
    with pytest.raises(CommandError, match="slug 'taken' is already in use"):
        call_command("provision_account", "taken", "--plan", "essentials", "--licenses", "5",
                     "--admin-email", "other@taken.example")


def test_free_plan_gets_three_licenses():
    call_command("provision_account", "smallco", "--plan", "free", "--licenses", "0")
    sub = Account.objects.get(slug="smallco").subscription
    assert (sub.plan.code, sub.licenses, sub.term_end) == ("free", 3, None)
