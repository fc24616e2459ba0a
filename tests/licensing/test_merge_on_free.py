"""Free's merge page (issue 17): it does not promise a reclaimed license it cannot give, and
shows the ways that work on Free and the way back."""

import pytest

from licensing.models import TrackedUser
from tests.factories import make_account
from tests.licensing.conftest import event

pytestmark = pytest.mark.django_db


def test_merge_on_free_offers_the_ways_that_work_and_the_way_back(make_agent, client):
    account, admin = make_account(plan="free")
    make_agent(account).checkin(event("ann", domain="ACME"), event("bob", domain="ACME"))
    user = TrackedUser.objects.filter(account=account).first()
    client.force_login(admin)
    page = client.get(f"/users/{user.pk}/merge/").content.decode()
    assert "Merging users is available on paid plans only" in page
    assert "one license is reclaimed" not in page
    assert f'href="/users/{user.pk}/do-not-track/"' in page and f'href="/users/{user.pk}/delete/"' in page
    assert 'href="/cart/"' in page.split("</header>")[1]  # an upgrade, not only the header's button
    assert 'href="/users/"' in page.split("</header>")[1]
