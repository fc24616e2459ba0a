"""Every rule of the cart, with the message the Admin reads (through the service and the page)."""

import pytest

from accounts.actors import Actor
from accounts.services import ServiceError
from billing.cart import cart_open, cart_update
from billing.models import Cart
from tests.factories import make_account


def _update(account, admin, *, plan_code=None, licenses, addon_codes=()):
    cart = cart_open(account=account, actor=Actor.for_user(admin))
    return cart_update(cart=cart, plan_code=plan_code, licenses=licenses,
                       addon_codes=list(addon_codes), actor=Actor.for_user(admin))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("start", "plan_code", "licenses", "addon_codes", "message"),
    [
        ("trial", "essentials", 4, (), "Essentials needs at least 5 licenses (asked for 4)."),
        ("free", "professional", 3, (), "Professional needs at least 5 licenses (asked for 3)."),
        ("trial", "premium", 10, (), "Premium (legacy) is a legacy plan and can no longer be bought."),
        ("essentials", "advanced", 10, (), "Advanced (legacy) is a legacy plan and can no longer be bought."),
        ("essentials", "premium", 10, (), "Premium (legacy) is a legacy plan and can no longer be bought."),
        ("professional", "essentials", 10, (),
         "Moving from Professional to Essentials is a downgrade: it takes effect at your renewal. "
         "Schedule it on the Billing page (/billing/)."),
        ("professional", None, 8, (),
         "Fewer licenses (8 instead of 10) take effect at your renewal. Schedule it on the Billing page (/billing/)."),
        ("professional", "free", 10, (),
         "Moving from Professional to Free is a downgrade: it takes effect at your renewal. "
         "Schedule it on the Billing page (/billing/)."),
        ("free", None, 3, ("screen_details",), "Add-ons are only sold on paid plans: choose a paid plan too."),
        ("professional", None, 10, ("activconnect",),
         "ActivConnect API is sold by our staff: contact us for a quote (/billing/quotes/new/)."),
        ("professional", None, 10, ("data_history",),
         "Data History is sold by our staff: contact us for a quote (/billing/quotes/new/)."),
        ("professional", None, 10, (),
         "Your cart is empty: add licenses, choose a higher plan or add Screen Details."),
    ],
)
def test_cart_rule_and_its_message(start, plan_code, licenses, addon_codes, message):
    if start == "trial":
        account, admin = make_account()
    else:
        account, admin = make_account(plan=start, licenses=10 if start != "free" else 3)
    with pytest.raises(ServiceError) as error:
        _update(account, admin, plan_code=plan_code, licenses=licenses, addon_codes=addon_codes)
    assert str(error.value) == message
    assert not Cart.objects.filter(account=account, licenses__isnull=False).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("plan_code", "licenses", "screen_details"),
    [("professional", 10, False), (None, 12, False), ("professional", 12, True), (None, 10, True)],
)
def test_essentials_may_upgrade_add_or_both(plan_code, licenses, screen_details):
    account, admin = make_account(plan="essentials", licenses=10)
    cart = _update(account, admin, plan_code=plan_code, licenses=licenses,
                   addon_codes=["screen_details"] if screen_details else [])
    assert (cart.plan.code if cart.plan else None, cart.licenses, cart.screen_details) == (
        plan_code, licenses, screen_details)


@pytest.mark.django_db
def test_a_legacy_plan_may_add_licenses_to_itself():
    account, admin = make_account(plan="professional", licenses=10)
    from billing.models import Plan
    account.subscription.plan = Plan.objects.get(code="premium")
    account.subscription.save()
    cart = _update(account, admin, licenses=15)
    assert cart.licenses == 15


def test_the_cart_page_shows_the_rule_broken(admin_client):
    response = admin_client.post("/cart/", {"plan": "essentials", "licenses": 10})
    assert response.status_code == 400
    assert "is a downgrade: it takes effect at your renewal" in response.content.decode()
    assert 'href="/billing/"' in response.content.decode()


def test_the_cart_page_links_the_staff_only_add_ons_to_the_quote_form(admin_client):
    page = admin_client.get("/cart/").content.decode()
    assert "ActivConnect API: sold by our staff" in page
    assert 'href="/billing/quotes/new/"' in page
    assert 'value="screen_details"' in page and 'value="activconnect"' not in page


@pytest.mark.django_db
def test_added_licenses_pay_a_quoted_addon_at_its_quoted_price():
    """ActivConnect sold on a quote at $60 per user per year grows with added licenses at that
    price, and the new yearly price counts it (as the renewal will bill it)."""
    from billing.cart import cart_quote
    from billing.quotes import addon_grant_by_staff
    from tests.factories import StaffFactory

    account, _ = make_account(plan="professional", licenses=10)
    addon_grant_by_staff(account=account, addon_code="activconnect", price_cents=6000,
                         actor=Actor.for_user(StaffFactory()), reason="deal")
    subscription = account.subscription
    subscription.refresh_from_db()
    quote = cart_quote(subscription=subscription, plan=None, licenses=20, screen_details=False,
                       discount_percent=0, today=subscription.term_start)
    addon_line = next(line for line in quote.lines if line.addon_code == "activconnect")
    assert addon_line.unit_price_cents == 6000
    assert addon_line.quantity == 10
    assert quote.yearly_price_cents == 20 * 19 * 12 * 100 + 20 * 6000
