"""Discounts that end, and coupons (issue 14, item 6): a discount has a scope and an end; a coupon
entered in the cart is checked, priced by name, and used once; the nonprofit discount is
reviewed yearly."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine

from accounts.actors import Actor
from accounts.services import ServiceError
from billing.cart import cart_checkout, cart_open, cart_quote_for, cart_update
from billing.discounts import discount_reviewed, discounts_due_for_review
from billing.lifecycle import billing_profile_set_discount, subscriptions_renew
from billing.models import (
    BillingProfile,
    Coupon,
    CouponRedemption,
    Discount,
    Order,
    OrderKind,
    Subscription,
)
from tests.billing.conftest import GOOD_CARD
from tests.billing.lifecycle_support import JOB, add_addon, paid_account_since
from tests.factories import make_account

pytestmark = pytest.mark.django_db

TERM_START = date(2026, 4, 15)
MID_TERM = datetime(2026, 10, 14, 12, tzinfo=UTC)  # 183 days left of 365
RENEWAL_MORNING = datetime(2027, 4, 15, 2, tzinfo=UTC)


@pytest.fixture
def account():
    account, admin = paid_account_since(TERM_START, plan="professional", licenses=10)
    account.admin = admin
    return account


def cart(account, *, licenses=12, addon_codes=(), coupon_code=None):
    actor = Actor.for_user(account.admin)
    return cart_update(cart=cart_open(account=account, actor=actor), plan_code=None, licenses=licenses,
                       addon_codes=list(addon_codes), actor=actor, coupon_code=coupon_code)


def lines(quote):
    return [(line.description.split(" for")[0], line.discount_percent, line.discount_label) for line in quote.lines]


def test_a_scoped_discount_applies_to_its_add_on_only_and_ends(account):
    add_addon(account.subscription, "screen_details")
    Discount.objects.create(account=account, name="Launch offer", percent=50, scope="addon",
                            scope_code="screen_details", starts_on=date(2026, 10, 1), ends_on=date(2026, 11, 1))
    with time_machine.travel(MID_TERM, tick=False):
        quote = cart_quote_for(cart=cart(account))
        assert lines(quote) == [
            ("2 additional Professional licenses", 0, ""),
            ("Screen Details", 50, "Launch offer 50%"),
        ]
        # It ends before the renewal: the new yearly price has no discount.
        assert quote.yearly_price_cents == 12 * 22800 + 12 * 3600
    with time_machine.travel(datetime(2026, 11, 1, 12, tzinfo=UTC), tick=False):
        assert [line.discount_percent for line in cart_quote_for(cart=cart(account)).lines] == [0, 0]


def test_a_discount_for_two_terms_is_on_the_next_renewal_and_not_the_one_after(account):
    Discount.objects.create(account=account, name="Two-year deal", percent=10,
                            starts_on=TERM_START, ends_on=TERM_START.replace(year=2028))
    with time_machine.travel(RENEWAL_MORNING, tick=False):
        subscriptions_renew(actor=JOB)
    with time_machine.travel(RENEWAL_MORNING.replace(year=2028), tick=False):
        subscriptions_renew(actor=JOB)
    first, second = Order.objects.filter(account=account, kind=OrderKind.RENEWAL).order_by("renewal_term_start")
    assert [(line.discount_percent, line.discount_label) for line in first.lines.all()] == [(10, "Two-year deal 10%")]
    assert first.invoices.get().lines.get().discount_label == "Two-year deal 10%"
    assert [line.discount_percent for line in second.lines.all()] == [0]


def test_the_standing_discount_is_named_on_the_lines_and_adds_to_a_scoped_one(account):
    billing_profile_set_discount(account=account, percent=20, reason="nonprofit", actor=JOB)
    Discount.objects.create(account=account, name="Plan promo", percent=5, scope="plan",
                            scope_code="professional", starts_on=TERM_START)
    with time_machine.travel(MID_TERM, tick=False):
        quote = cart_quote_for(cart=cart(account))
    assert lines(quote) == [("2 additional Professional licenses", 25, "Nonprofit 20%, Plan promo 5%")]


def test_a_percent_coupon_is_priced_by_name_and_used_once(account, sandbox_gateway):
    Coupon.objects.create(code="spring10", name="Spring offer", percent=10)
    with time_machine.travel(MID_TERM, tick=False):
        the_cart = cart(account, coupon_code=" Spring10 ")
        assert the_cart.coupon.code == "SPRING10"
        quote = cart_quote_for(cart=the_cart)
        assert lines(quote) == [("2 additional Professional licenses", 10, "Spring offer 10%")]
        result = cart_checkout(account=account, cart_id=the_cart.pk, actor=Actor.for_user(account.admin),
                               idempotency_key="k1", card=GOOD_CARD)
        assert result.succeeded and result.order.total_cents == quote.total_cents
        assert CouponRedemption.objects.get(account=account).order == result.order
        with pytest.raises(ServiceError, match="Your account has used this coupon already"):
            cart(account, licenses=14, coupon_code="SPRING10")
    # A one-term coupon leaves nothing for the renewal.
    assert not Discount.objects.filter(account=account).exists()


@pytest.mark.parametrize("coupon, says", [
    (dict(code="GONE", name="x", percent=10, expires_at=datetime(2026, 10, 1, tzinfo=UTC)), "expired on"),
    (dict(code="FULL", name="x", percent=10, max_redemptions=0), "used as many times"),
    (dict(code="OFF", name="x", percent=10, is_active=False), "not valid"),
    (dict(code="ESS", name="x", percent=10, scope="plan", scope_code="essentials"), "another plan"),
])
def test_a_coupon_that_cannot_be_used_says_why_and_changes_nothing(account, coupon, says):
    Coupon.objects.create(**coupon)
    with time_machine.travel(MID_TERM, tick=False), pytest.raises(ServiceError, match=says):
        cart(account, coupon_code=coupon["code"])
    with pytest.raises(ServiceError, match="not valid: check its spelling"):
        cart(account, coupon_code="NO-SUCH-CODE")


def test_an_amount_off_coupon_is_a_line_and_never_makes_the_total_negative(account):
    Coupon.objects.create(code="FIFTY", name="Welcome", amount_off_cents=5_000)
    Coupon.objects.create(code="HUGE", name="Too much", amount_off_cents=10_000_000)
    with time_machine.travel(MID_TERM, tick=False):
        quote = cart_quote_for(cart=cart(account, coupon_code="FIFTY"))
        assert quote.lines[-1].description == "Coupon FIFTY (Welcome): amount off"
        assert quote.lines[-1].amount_cents == -5_000
        assert quote.total_cents == quote.lines[0].amount_cents - 5_000
        assert cart_quote_for(cart=cart(account, coupon_code="HUGE")).total_cents == 0


def test_a_coupon_for_two_terms_discounts_the_next_renewal(account, sandbox_gateway):
    Coupon.objects.create(code="TWOYEARS", name="Two years at 15%", percent=15, duration_terms=2)
    with time_machine.travel(MID_TERM, tick=False):
        the_cart = cart(account, coupon_code="TWOYEARS")
        quote = cart_quote_for(cart=the_cart)
        assert quote.yearly_price_cents == 12 * 22800 * 85 // 100  # the renewal keeps it
        cart_checkout(account=account, cart_id=the_cart.pk, actor=Actor.for_user(account.admin),
                      idempotency_key="k1", card=GOOD_CARD)
    discount = Discount.objects.get(account=account)
    assert (discount.starts_on, discount.ends_on) == (date(2027, 4, 15), date(2028, 4, 15))
    with time_machine.travel(RENEWAL_MORNING, tick=False):
        subscriptions_renew(actor=JOB)
    renewal = Order.objects.get(account=account, kind=OrderKind.RENEWAL)
    assert renewal.total_cents == 12 * 22800 * 85 // 100


def test_the_invoice_page_names_each_discount(admin_client, paid_account, sandbox_gateway):
    account, admin = paid_account
    account.admin = admin
    Coupon.objects.create(code="SPRING10", name="Spring offer", percent=10)
    the_cart = cart(account, licenses=Subscription.objects.get(account=account).licenses + 2,
                    coupon_code="SPRING10")
    result = cart_checkout(account=account, cart_id=the_cart.pk, actor=Actor.for_user(admin),
                           idempotency_key="k1", card=GOOD_CARD)
    invoice = result.order.invoices.get()
    assert "Spring offer 10%" in admin_client.get(f"/billing/invoices/{invoice.pk}/").text
    assert "Spring offer 10%" in admin_client.get(f"/billing/orders/{result.order.pk}/").text


def test_the_nonprofit_discount_is_due_for_review_a_year_on():
    account, _ = make_account(plan="professional", licenses=10)
    with time_machine.travel(datetime(2026, 3, 1, 12, tzinfo=UTC), tick=False):
        billing_profile_set_discount(account=account, percent=20, reason="nonprofit", actor=JOB)
    assert BillingProfile.objects.get(account=account).discount_review_on == date(2027, 3, 1)
    assert list(discounts_due_for_review(today=date(2027, 2, 28))) == []
    [due] = discounts_due_for_review(today=date(2027, 3, 1))
    assert due.account == account
    with time_machine.travel(datetime(2027, 3, 2, 12, tzinfo=UTC), tick=False):
        discount_reviewed(account=account, actor=JOB, keep=True, reason="still a nonprofit")
    assert BillingProfile.objects.get(account=account).discount_review_on == date(2028, 3, 2)
    discount_reviewed(account=account, actor=JOB, keep=False, reason="no longer a nonprofit")
    profile = BillingProfile.objects.get(account=account)
    assert (profile.discount_percent, profile.discount_review_on) == (Decimal(0), None)


def test_staff_add_a_scoped_discount_in_the_admin_with_an_audit_row(client):
    from accounts.models import AuditEntry
    from tests.factories import StaffFactory

    staff = StaffFactory(is_superuser=True)
    client.force_login(staff)
    account, _ = make_account(plan="professional", licenses=10)
    bad = client.post("/admin/billing/discount/add/", {
        "account": account.pk, "name": "Odd", "percent": "10", "scope": "addon", "scope_code": "",
        "starts_on": "2026-12-01", "ends_on": "",
    })
    assert "names the plan or add-on code" in bad.text
    client.post("/admin/billing/discount/add/", {
        "account": account.pk, "name": "Launch", "percent": "10", "scope": "addon",
        "scope_code": "screen_details", "starts_on": "2026-12-01", "ends_on": "2027-01-01", "reason": "deal 7",
    })
    assert Discount.objects.get(account=account).name == "Launch"
    assert AuditEntry.objects.filter(account=account, kind="billing.discount_added").exists()
    billing_profile_set_discount(account=account, percent=20, reason="nonprofit", actor=JOB)
    BillingProfile.objects.filter(account=account).update(discount_review_on=date(2026, 1, 1))
    assert 'id="discount-reviews-due"><a' in client.get("/admin/").text
