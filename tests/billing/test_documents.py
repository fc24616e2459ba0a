"""Invoices and credit notes as PDF documents (billing/documents.py): what a finance team reads
in them, that they never change once issued, and who may download them."""

import io
from datetime import timedelta

import pytest
from django.core import mail
from pypdf import PdfReader

from accounts.actors import Actor
from accounts.mail import email_deliver
from accounts.models import OutboundEmail
from billing.documents import document_render, documents_render_missing
from billing.invoices import (
    invoice_issue_for_order,
    invoice_mark_paid,
    invoice_void_with_credit_note,
)
from billing.models import BillingDetails, Invoice, InvoiceDocument, OrderState, Plan
from billing.services import billing_details_update
from tests.billing.helpers import make_order
from tests.factories import make_account

ACTOR = Actor.system("tests")
LINES = [(10, 22800, 365, 365), (3, 3600, 100, 365)]  # $2,280.00 and $29.59


def pdf_text(content) -> str:
    content = bytes(content)  # a memoryview from PostgreSQL's bytea
    assert content.startswith(b"%PDF-")
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def give_details(account, **overrides):
    values = {
        "legal_name": "Acme Corporation GmbH", "address_line1": "Friedrichstrasse 123",
        "address_line2": "", "city": "Berlin", "postal_code": "10117", "region": "",
        "country": "DE", "tax_id": "DE136695976", "po_number": "PO-4471",
    }
    return billing_details_update(account=account, actor=ACTOR, **{**values, **overrides})


def download(client, invoice):
    response = client.get(f"/billing/invoices/{invoice.pk}/pdf/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="{invoice.display_number}.pdf"'
    return response.content


def test_the_pdf_shows_seller_buyer_lines_totals_and_how_to_pay(admin_client, settings,
                                                                django_capture_on_commit_callbacks):
    account = admin_client.account
    give_details(account)
    order = make_order(account, lines=LINES, state=OrderState.INVOICED)
    with django_capture_on_commit_callbacks(execute=True):
        invoice = invoice_issue_for_order(order=order, actor=ACTOR, paid=False)

    text = pdf_text(download(admin_client, invoice))

    seller = settings.SELLER
    for expected in [
        "Invoice", "INV-000001", seller["legal_name"], seller["address"][0], seller["tax_id"],
        # the buyer as its Admin entered it
        "Acme Corporation GmbH", "Friedrichstrasse 123", "10117 Berlin", "Germany",
        "DE136695976", "PO-4471",
        # each line: quantity, unit price per user per year, days, amount
        "line 0", "$228.00", "365 of 365", "$2,280.00",
        "line 1", "$36.00", "100 of 365", "$29.59",
        "Subtotal", "$2,309.59", "Total (USD)",
        # due date, terms and how to pay (card link and wire details)
        f"Due by {invoice.due_at:%-d %B %Y}", "net 30 days", f"/billing/invoices/{invoice.pk}/pay/",
        seller["bank_name"], seller["bank_account_number"], seller["bank_routing_number"],
        seller["bank_swift"],
    ]:
        assert expected in text, expected


def test_a_discounted_line_shows_its_discount_and_the_totals_add_up(paid_account):
    from decimal import Decimal

    account, _ = paid_account
    order = make_order(account, lines=[(10, 22800, 365, 365)], discount=Decimal("15"))
    invoice = invoice_issue_for_order(order=order, actor=ACTOR, paid=True)
    text = pdf_text(document_render(invoice_id=invoice.pk).pdf)
    # $2,280.00 at list price, 15% off: -$342.00, total $1,938.00
    assert "15%" in text and "Subtotal" in text and "$2,280.00" in text
    assert "Discounts" in text and "-$342.00" in text and "$1,938.00" in text
    assert "Paid by card on" in text and "Nothing is left to pay" in text
    assert "Routing number" not in text  # a paid invoice asks for no wire


def test_a_credit_note_has_its_own_pdf_made_out_like_the_invoice_it_credits(admin_client):
    account = admin_client.account
    give_details(account)
    invoice = invoice_issue_for_order(order=make_order(account, lines=LINES), actor=ACTOR, paid=True)
    give_details(account, legal_name="Renamed Holding AG")
    credit_note = invoice_void_with_credit_note(invoice=invoice, actor=ACTOR, reason="duplicate")

    text = pdf_text(download(admin_client, credit_note))
    assert "Credit note" in text and "CN-000001" in text and "INV-000001" in text
    assert "Acme Corporation GmbH" in text and "Renamed Holding AG" not in text
    assert "Credit: line 0" in text and "-$2,280.00" in text and "-$2,309.59" in text


def test_an_issued_pdf_never_changes_after_catalogue_seller_or_buyer_edits(
        admin_client, settings, django_capture_on_commit_callbacks):
    account = admin_client.account
    give_details(account)
    plan = Plan.objects.get(code="professional")
    with django_capture_on_commit_callbacks(execute=True):
        invoice = invoice_issue_for_order(
            order=make_order(account, lines=LINES, state=OrderState.INVOICED), actor=ACTOR, paid=False,
        )
    first = download(admin_client, invoice)

    plan.name, plan.price_per_user_month_cents = "Professional Plus", 9900
    plan.save()
    settings.SELLER = {**settings.SELLER, "legal_name": "New Owner LLC", "bank_name": "Other Bank"}
    give_details(account, legal_name="Changed Name Ltd", city="Munich", tax_id="", po_number="")
    invoice_mark_paid(invoice=invoice, actor=ACTOR, reason="wire received")
    documents_render_missing()
    document_render(invoice_id=invoice.pk)

    again = download(admin_client, invoice)
    assert again == first
    assert InvoiceDocument.objects.get(invoice=invoice).sha256 and "Changed Name Ltd" not in pdf_text(again)
    # ... while the next invoice carries the new details
    later = invoice_issue_for_order(order=make_order(account), actor=ACTOR, paid=True)
    later_text = pdf_text(download(admin_client, later))
    assert "Changed Name Ltd" in later_text and "New Owner LLC" in later_text


def test_a_pdf_rendered_late_shows_the_details_of_the_moment_of_issue(paid_account, settings):
    """The task cluster may render long after the commit (broker down): it reads the copies."""
    account, _ = paid_account
    give_details(account)
    invoice = invoice_issue_for_order(order=make_order(account, lines=LINES), actor=ACTOR, paid=True)
    assert InvoiceDocument.objects.get(invoice=invoice).pdf is None  # on-commit task not run here

    give_details(account, legal_name="Later Name SE", tax_id="DE 811 907 980")
    settings.SELLER = {**settings.SELLER, "legal_name": "Later Seller Inc.", "tax_id": "EIN 98-7654321"}
    assert documents_render_missing() == 1

    text = pdf_text(InvoiceDocument.objects.get(invoice=invoice).pdf)
    assert "Acme Corporation GmbH" in text and "DE136695976" in text
    assert "Workforce Analytics Example Inc." in text
    assert "Later Name SE" not in text and "Later Seller Inc." not in text
    assert documents_render_missing() == 0  # state-based: nothing left to do


def test_rendering_twice_keeps_the_first_bytes(paid_account):
    account, _ = paid_account
    invoice = invoice_issue_for_order(order=make_order(account), actor=ACTOR, paid=True)
    first = bytes(document_render(invoice_id=invoice.pk).pdf)
    InvoiceDocument.objects.filter(invoice=invoice).update(rendered_at=None)  # as if a racer missed it
    assert bytes(document_render(invoice_id=invoice.pk).pdf) == first


def test_an_invoice_issued_before_documents_existed_gets_one_on_first_download(admin_client):
    account = admin_client.account
    invoice = invoice_issue_for_order(order=make_order(account), actor=ACTOR, paid=True)
    InvoiceDocument.objects.filter(invoice=invoice).delete()
    text = pdf_text(download(admin_client, invoice))
    assert account.name in text and "INV-000001" in text
    assert InvoiceDocument.objects.filter(invoice=invoice, rendered_at__isnull=False).count() == 1


def test_the_invoice_email_attaches_the_pdf(paid_account, mailoutbox, django_capture_on_commit_callbacks):
    account, _ = paid_account
    give_details(account)
    with django_capture_on_commit_callbacks(execute=True):
        invoice = invoice_issue_for_order(
            order=make_order(account, lines=LINES, state=OrderState.INVOICED), actor=ACTOR, paid=False,
        )
    [message] = mailoutbox
    [(filename, content, mimetype)] = message.attachments
    assert (filename, mimetype) == ("INV-000001.pdf", "application/pdf")
    assert content == bytes(InvoiceDocument.objects.get(invoice=invoice).pdf)
    assert "Acme Corporation GmbH" in pdf_text(content)
    assert f"/billing/invoices/{invoice.pk}/pdf/" in message.body


def test_an_email_whose_attachment_fails_to_load_is_retried_not_lost(paid_account, monkeypatch):
    account, _ = paid_account
    invoice = invoice_issue_for_order(order=make_order(account), actor=ACTOR, paid=True)
    email = OutboundEmail.objects.get(subject=f"Invoice {invoice.display_number}")

    def broken(_context):
        raise OSError("pango is missing")

    monkeypatch.setattr("billing.documents.pdf_render", broken)
    assert email_deliver(email.pk) is False
    email.refresh_from_db()
    assert email.state == "queued" and "pango is missing" in email.last_error and not mail.outbox

    monkeypatch.undo()
    assert email_deliver(email.pk) is True
    assert mail.outbox[0].attachments[0][0] == "INV-000001.pdf"


def test_pages_link_the_pdf(admin_client):
    invoice = invoice_issue_for_order(order=make_order(admin_client.account), actor=ACTOR, paid=True)
    link = f'href="/billing/invoices/{invoice.pk}/pdf/"'
    assert link in admin_client.get(f"/billing/invoices/{invoice.pk}/").content.decode()
    assert link in admin_client.get("/billing/").content.decode()


def test_another_accounts_pdf_is_a_404(admin_client):
    other, _ = make_account(name="Zebra Secretcorp", plan="professional", licenses=10)
    theirs = invoice_issue_for_order(order=make_order(other), actor=ACTOR, paid=True)
    assert admin_client.get(f"/billing/invoices/{theirs.pk}/pdf/").status_code == 404
    assert admin_client.get("/billing/invoices/999999/pdf/").status_code == 404
    assert not InvoiceDocument.objects.filter(invoice=theirs, rendered_at__isnull=False).exists()


def test_a_viewer_gets_403_on_the_pdf(viewer_client):
    invoice = invoice_issue_for_order(order=make_order(viewer_client.account), actor=ACTOR, paid=True)
    assert viewer_client.get(f"/billing/invoices/{invoice.pk}/pdf/").status_code == 403
    assert viewer_client.get("/billing/details/").status_code == 403


def test_anonymous_visitors_of_a_pdf_are_sent_to_login(client, paid_account):
    invoice = invoice_issue_for_order(order=make_order(paid_account[0]), actor=ACTOR, paid=True)
    response = client.get(f"/billing/invoices/{invoice.pk}/pdf/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_pdf_rendering_stays_out_of_the_issuing_transaction(paid_account, monkeypatch):
    """Issuing never renders: a broken renderer cannot undo a sale."""
    monkeypatch.setattr("billing.documents.pdf_render", lambda context: 1 / 0)
    invoice = invoice_issue_for_order(order=make_order(paid_account[0]), actor=ACTOR, paid=True)
    assert Invoice.objects.filter(pk=invoice.pk).exists()
    assert InvoiceDocument.objects.get(invoice=invoice).rendered_at is None
    assert documents_render_missing() == 0  # failed, logged, retried at the next run


@pytest.mark.parametrize("days", [14, 30])
def test_due_date_on_the_pdf_follows_the_terms(paid_account, days):
    account, _ = paid_account
    invoice = invoice_issue_for_order(order=make_order(account, state=OrderState.INVOICED),
                                      actor=ACTOR, paid=False, due_days=days)
    text = pdf_text(document_render(invoice_id=invoice.pk).pdf)
    expected = invoice.issued_at + timedelta(days=days)
    assert f"net {days} days" in text and f"Due by {expected:%-d %B %Y}" in text


def test_billing_details_are_made_once_per_account(paid_account):
    account, _ = paid_account
    give_details(account)
    give_details(account, city="Hamburg")
    assert BillingDetails.objects.filter(account=account).get().city == "Hamburg"
