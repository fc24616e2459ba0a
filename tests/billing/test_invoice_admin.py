from django.contrib.auth.models import Group

from accounts.actors import Actor
from accounts.models import AuditEntry
from billing.invoices import invoice_issue_for_order
from billing.models import Invoice, InvoiceState, OrderState
from tests.billing.helpers import make_order
from tests.factories import StaffFactory


def billing_clerk():
    clerk = StaffFactory()
    clerk.groups.set([Group.objects.get(name="Billing")])
    return clerk


def test_billing_staff_mark_an_open_invoice_paid_and_void_another_with_a_reason(client, paid_account):
    account, _ = paid_account
    actor = Actor.system("tests")
    open_invoice = invoice_issue_for_order(order=make_order(account, state=OrderState.INVOICED), actor=actor, paid=False)
    paid_invoice = invoice_issue_for_order(order=make_order(account), actor=actor, paid=True)
    client.force_login(billing_clerk())
    assert client.get("/admin/billing/invoice/").status_code == 200
    page = client.get(f"/admin/billing/invoice/{open_invoice.pk}/change/").content.decode()
    assert "Mark paid (payment received)" in page and "Void with a credit note" in page

    url = f"/admin/billing/invoice/{open_invoice.pk}/act/mark-paid/"
    assert client.get(url).status_code == 200  # the confirmation page; nothing changed yet
    open_invoice.refresh_from_db()
    assert open_invoice.state == InvoiceState.OPEN
    response = client.post(url, {})
    assert response.status_code == 200 and "This field is required" in response.content.decode()
    client.post(url, {"reason": "wire received 2026-11-28"})
    client.post(f"/admin/billing/invoice/{paid_invoice.pk}/act/void/", {"reason": "billed twice"})

    open_invoice.refresh_from_db()
    paid_invoice.refresh_from_db()
    assert open_invoice.state == InvoiceState.PAID
    assert paid_invoice.state == InvoiceState.VOID
    assert Invoice.objects.get(credit_note_for=paid_invoice).display_number == "CN-000001"
    assert AuditEntry.objects.get(kind="invoice.paid").reason == "wire received 2026-11-28"
    assert AuditEntry.objects.get(kind="invoice.voided").reason == "billed twice"


def test_sales_and_support_cannot_touch_invoices(client, paid_account):
    account, _ = paid_account
    invoice = invoice_issue_for_order(
        order=make_order(account, state=OrderState.INVOICED), actor=Actor.system("t"), paid=False
    )
    for role in ["Sales", "Support", "Read-only"]:
        staff = StaffFactory()
        staff.groups.set([Group.objects.get(name=role)])
        client.force_login(staff)
        assert client.post(f"/admin/billing/invoice/{invoice.pk}/act/mark-paid/", {"reason": "x"}).status_code == 403
    invoice.refresh_from_db()
    assert invoice.state == InvoiceState.OPEN
