"""Error pages: 403, 404 and 500 in the site's layout, saying what happened and where to go."""

import pytest
from django.template.loader import get_template

pytestmark = pytest.mark.django_db


def test_a_404_for_a_logged_in_admin_is_the_site_page_not_the_debug_page(admin_client):
    response = admin_client.get("/no-such-page/")
    page = response.content.decode()
    assert response.status_code == 404
    assert 'class="topbar"' in page and "Dashboard" in page  # the layout, with the account's nav
    assert "Page not found" in page
    assert 'href="/"' in page
    assert "URLconf" not in page and "urlpatterns" not in page


def test_a_404_for_an_anonymous_visitor_offers_the_login(client):
    page = client.get("/no-such-page/").content.decode()
    assert "Page not found" in page and "Log in" in page


def test_a_viewer_on_the_cart_gets_a_403_that_names_who_can_do_it(viewer_client):
    response = viewer_client.get("/cart/")
    page = response.content.decode()
    assert response.status_code == 403
    assert 'class="topbar"' in page
    assert "Only the account's Admins can" in page
    assert 'href="/"' in page


def test_the_500_page_renders_without_a_request_or_a_context():
    page = get_template("500.html").render()
    assert "Something went wrong" in page
    assert 'href="/"' in page
