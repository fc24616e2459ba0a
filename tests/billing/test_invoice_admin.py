from accounts.actors import Actor
from billing.invoices import invoice_issue_for_order
from billing.models import Invoice, InvoiceState, OrderState
from tests.billing.helpers import make_order
from tests.factories import StaffFactory


def test_staff_mark_an_open_invoice_paid_and_void_another_from_the_admin(client, paid_account):
    account, _ = paid_account
    actor = Actor.system("tests")
    open_invoice = invoice_issue_for_order(order=make_order(account, state=OrderState.INVOICED), actor=actor, paid=False)
    paid_invoice = invoice_issue_for_order(order=make_order(account), actor=actor, paid=True)
    client.force_login(StaffFactory(is_superuser=True))
    assert client.get("/admin/billing/invoice/").status_code == 200
    assert client.get(f"/admin/billing/invoice/{open_invoice.pk}/change/").status_code == 200

    client.post("/admin/billing/invoice/", {"action": "mark_paid", "_selected_action": [open_invoice.pk]})
    client.post("/admin/billing/invoice/", {"action": "void_with_credit_note", "_selected_action": [paid_invoice.pk]})

    open_invoice.refresh_from_db()
    paid_invoice.refresh_from_db()
    assert open_invoice.state == InvoiceState.PAID
    assert paid_invoice.state == InvoiceState.VOID
    assert Invoice.objects.get(credit_note_for=paid_invoice).display_number == "CN-000001"
