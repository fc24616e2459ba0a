"""Issue 14, item 4: staff credit part of an issued invoice (some lines or an amount) with a
reason: a credit note with its own gapless number (CN) and PDF, either refunded to the card
through the gateway (idempotent, a Refund row) or kept as account credit that the next invoice
consumes first ("Account credit applied")."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.utils import timezone

from accounts.actors import Actor
from accounts.models import AuditEntry
from accounts.services import ServiceError
from billing.credit_notes import invoice_credit, refund_run, refunds_retry
from billing.credits import credit_balance_cents
from billing.gateways import RefundResult
from billing.gateways.sandbox import SandboxGateway
from billing.invoices import invoice_issue_for_order, invoice_void_with_credit_note
from billing.models import (
    AccountCredit,
    CreditSettlement,
    Invoice,
    InvoiceState,
    Order,
    Refund,
    RefundState,
)
from tests.billing.conftest import GOOD_CARD
from tests.billing.helpers import make_order
from tests.billing.test_documents import download, give_details, pdf_text
from tests.factories import StaffFactory, make_account
from tests.helpers import requires_postgres

ACTOR = Actor.system("tests")
LINES = [(10, 22800, 365, 365), (3, 3600, 100, 365)]  # $2,280.00 and $29.59


def _paid_by_card(client, licenses=15):
    """A real checkout through the cart (the sandbox charges the card): its paid invoice."""
    import re

    client.post("/cart/", {"licenses": licenses})
    page = client.get("/cart/").content.decode()
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page))
    response = client.post("/cart/checkout/", {**fields, "payment_method": "card", "card": GOOD_CARD})
    assert response.status_code == 302
    return Invoice.objects.get(order=Order.objects.get(account=client.account), credit_note_for=None)


def test_crediting_one_line_refunds_it_and_its_tax_to_the_card(admin_client, sandbox_gateway):
    give_details(admin_client.account, country="FR", tax_id="")  # 20% VAT
    invoice = _paid_by_card(admin_client)
    assert invoice.total_cents == 5 * 22800 * 12 // 10  # $1,368.00 with VAT
    [line] = invoice.lines.all()
    credit_note = invoice_credit(invoice=invoice, actor=ACTOR, reason="sold too many licenses",
                                 line_ids=[line.pk], settlement=CreditSettlement.REFUND)

    assert credit_note.display_number == "CN-000001" and credit_note.credit_note_for == invoice
    assert (credit_note.total_cents, credit_note.tax_cents) == (-136800, -22800)
    refund = Refund.objects.get(credit_note=credit_note)
    assert refund.state == RefundState.SUCCEEDED and refund.amount_cents == 136800
    [(key, reference, amount)] = SandboxGateway.refunds()
    assert (key, amount) == (refund.key, 136800) and reference == refund.payment.reference
    refund.payment.refresh_from_db()
    assert refund.payment.refunded_cents == 136800
    # Run again (a retry, the job): the same key, no second refund.
    refund_run(refund=refund, actor=ACTOR)
    assert len(SandboxGateway.refunds()) == 1

    text = pdf_text(download(admin_client, credit_note))
    assert "Credit note" in text and "CN-000001" in text and invoice.display_number in text
    assert "Reason: sold too many licenses" in text and "-$1,368.00" in text and "VAT 20% (France)" in text
    assert "refunded to the card" in text and "in full" not in text
    kinds = set(AuditEntry.objects.filter(account=admin_client.account).values_list("kind", flat=True))
    assert {"invoice.credited", "payment.refunded"} <= kinds
    # The same line cannot be credited twice.
    with pytest.raises(ServiceError, match="already credited"):
        invoice_credit(invoice=invoice, actor=ACTOR, reason="again", line_ids=[line.pk],
                       settlement=CreditSettlement.REFUND)


def test_an_amount_kept_as_account_credit_is_consumed_first_by_the_next_invoice(
        admin_client, sandbox_gateway):
    account = admin_client.account
    invoice = _paid_by_card(admin_client, licenses=15)
    credit_note = invoice_credit(invoice=invoice, actor=ACTOR, reason="goodwill: outage in May",
                                 amount_cents=10_000, settlement=CreditSettlement.ACCOUNT_CREDIT)
    assert credit_note.total_cents == -10_000 and not Refund.objects.exists()
    assert credit_balance_cents(account=account) == 10_000
    assert "Account credit" in admin_client.get("/billing/").content.decode()

    # The next purchase: the cart shows the credit applied, the card pays the rest.
    admin_client.post("/cart/", {"licenses": 16})
    page = admin_client.get("/cart/").content.decode()
    assert "Account credit applied" in page and "-$100.00" in page
    before = len(sandbox_gateway.charges)
    import re

    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page))
    admin_client.post("/cart/checkout/", {**fields, "payment_method": "card", "use_card_on_file": "on"})
    order = Order.objects.filter(account=account).order_by("-pk").first()
    later = Invoice.objects.get(order=order, credit_note_for=None)
    assert later.credit_applied_cents == 10_000 and later.total_cents == later.subtotal_cents - 10_000
    assert sandbox_gateway.charges[before:][0][1] == later.total_cents
    assert credit_balance_cents(account=account) == 0
    assert list(AccountCredit.objects.filter(account=account).values_list("kind", "amount_cents")) == [
        ("granted", 10_000), ("applied", -10_000)]
    assert "Account credit applied" in admin_client.get(f"/billing/invoices/{later.pk}/").content.decode()
    assert "Account credit applied" in pdf_text(download(admin_client, later))


def test_a_renewal_invoice_consumes_the_credit_up_to_its_total(paid_account):
    account, _ = paid_account
    first = invoice_issue_for_order(order=make_order(account, lines=LINES), actor=ACTOR, paid=True)
    invoice_credit(invoice=first, actor=ACTOR, reason="price error", amount_cents=30_000,
                   settlement=CreditSettlement.ACCOUNT_CREDIT)
    renewal = invoice_issue_for_order(order=make_order(account, state="invoiced", kind="renewal"),
                                      actor=ACTOR, paid=False)
    assert (renewal.credit_applied_cents, renewal.total_cents) == (22800, 0)
    assert renewal.state == InvoiceState.PAID  # nothing left to pay
    assert credit_balance_cents(account=account) == 30_000 - 22800


@pytest.mark.parametrize("kwargs, message", [
    ({"amount_cents": 0}, "more than zero"),
    ({"amount_cents": 10**9}, "more than is left"),
    ({}, "Credit some lines or an amount"),
    ({"amount_cents": 100, "reason": ""}, "reason"),
])
def test_bad_credits_are_refused_with_a_reason(paid_account, kwargs, message):
    account, _ = paid_account
    invoice = invoice_issue_for_order(order=make_order(account, lines=LINES), actor=ACTOR, paid=True)
    kwargs = {"reason": "test", **kwargs}
    with pytest.raises(ServiceError, match=message):
        invoice_credit(invoice=invoice, actor=ACTOR, settlement=CreditSettlement.ACCOUNT_CREDIT, **kwargs)
    assert not Invoice.objects.filter(credit_note_for=invoice).exists()


def test_a_refund_needs_a_card_payment_and_voiding_stays_for_whole_invoices(paid_account):
    account, _ = paid_account
    invoice = invoice_issue_for_order(order=make_order(account, lines=LINES, state="invoiced"),
                                      actor=ACTOR, paid=False)
    with pytest.raises(ServiceError, match="no card payment"):
        invoice_credit(invoice=invoice, actor=ACTOR, reason="x", amount_cents=100,
                       settlement=CreditSettlement.REFUND)
    invoice_credit(invoice=invoice, actor=ACTOR, reason="x", amount_cents=100,
                   settlement=CreditSettlement.ACCOUNT_CREDIT)
    with pytest.raises(ServiceError, match="partial credit notes"):
        invoice_void_with_credit_note(invoice=invoice, actor=ACTOR, reason="dup")
    # A voided invoice cannot be credited.
    other = invoice_issue_for_order(order=make_order(account, lines=LINES), actor=ACTOR, paid=True)
    invoice_void_with_credit_note(invoice=other, actor=ACTOR, reason="dup")
    with pytest.raises(ServiceError, match="void"):
        invoice_credit(invoice=other, actor=ACTOR, reason="x", amount_cents=100,
                       settlement=CreditSettlement.ACCOUNT_CREDIT)


def test_a_refund_whose_answer_is_lost_is_asked_again_with_the_same_key(admin_client, monkeypatch):
    invoice = _paid_by_card(admin_client)
    calls = []
    real = SandboxGateway.refund

    def lost_once(self, **kwargs):
        calls.append(kwargs["key"])
        if len(calls) == 1:
            real(self, **kwargs)  # refunded at the "bank", then the answer is lost
            return RefundResult(False, "", "timeout", outcome_unknown=True)
        return real(self, **kwargs)

    monkeypatch.setattr(SandboxGateway, "refund", lost_once)
    credit_note = invoice_credit(invoice=invoice, actor=ACTOR, reason="x", amount_cents=5_000,
                                 settlement=CreditSettlement.REFUND)
    refund = Refund.objects.get(credit_note=credit_note)
    assert refund.state == RefundState.UNKNOWN
    assert refunds_retry(actor=ACTOR) == 0  # too fresh: the first request may still be on its way
    assert refunds_retry(actor=ACTOR, now=timezone.now() + timedelta(minutes=10)) == 1
    refund.refresh_from_db()
    assert refund.state == RefundState.SUCCEEDED and calls[0] == calls[1]
    assert len(SandboxGateway.refunds()) == 1 and refund.payment.refunds.count() == 1


def test_staff_credit_from_the_admin_with_the_billing_role_only(client, paid_account):
    account, _ = paid_account
    invoice = invoice_issue_for_order(order=make_order(account, lines=LINES), actor=ACTOR, paid=True)
    line = invoice.lines.first()
    url = f"/admin/billing/invoice/{invoice.pk}/act/credit/"
    support = StaffFactory()
    support.groups.add(Group.objects.get(name="Support"))
    client.force_login(support)
    assert client.post(url, {"reason": "x", "amount": "10.00", "settlement": "account_credit"}).status_code == 403
    clerk = StaffFactory()
    clerk.groups.add(Group.objects.get(name="Billing"))
    client.force_login(clerk)
    page = client.get(url)
    assert page.status_code == 200 and line.description in page.content.decode()
    response = client.post(url, {"reason": "wrong seat count", "lines": [line.pk],
                                 "settlement": "account_credit"})
    assert response.status_code == 302
    credit_note = Invoice.objects.get(credit_note_for=invoice)
    assert credit_note.total_cents == -line.amount_cents and credit_note.credit_reason == "wrong seat count"
    bad = client.post(url, {"reason": "again", "amount": "-5", "settlement": "account_credit"})
    assert bad.status_code == 200 and "more than zero" in bad.content.decode()
    entry = AuditEntry.objects.get(kind="invoice.credited")
    assert entry.actor_user == clerk and entry.reason == "wrong seat count"


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_credits_take_gapless_credit_note_numbers():
    account, _ = make_account(plan="professional", licenses=10)
    invoices = [invoice_issue_for_order(order=make_order(account, lines=LINES), actor=ACTOR, paid=True)
                for _ in range(10)]
    barrier, errors = threading.Barrier(10), []

    def credit(invoice):
        try:
            barrier.wait()
            invoice_credit(invoice=invoice, actor=ACTOR, reason="concurrent", amount_cents=1_000,
                           settlement=CreditSettlement.ACCOUNT_CREDIT)
        except Exception as error:  # noqa: BLE001
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=credit, args=(invoice,)) for invoice in invoices]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    numbers = sorted(Invoice.objects.filter(series__code="CN").values_list("number", flat=True))
    assert numbers == list(range(1, 11))
    assert credit_balance_cents(account=account) == 10_000
    assert Decimal(AccountCredit.objects.count()) == 10
