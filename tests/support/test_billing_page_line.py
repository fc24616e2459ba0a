"""The Billing page names the support plan the support app's rule gives the account."""

import pytest

pytestmark = pytest.mark.django_db


def test_a_premier_customer_sees_premier_and_its_end_on_the_billing_page(client, premier_account):
    account, admin = premier_account
    client.force_login(admin)
    page = client.get("/billing/").content.decode()
    assert "Premier until" in page and "Digital (included)" not in page


def test_a_trial_has_digital_support(client, trial_account):
    account, admin = trial_account
    client.force_login(admin)
    assert "Digital (included)" in client.get("/billing/").content.decode()
