import threading
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.actors import Actor
from accounts.models import AuditEntry
from accounts.services import ServiceError
from billing.invoices import (
    invoice_issue_for_order,
    invoice_mark_paid,
    invoice_void_with_credit_note,
)
from billing.models import Invoice, InvoiceState, Order, OrderKind, OrderState, SubscriptionState
from tests.billing.helpers import make_order
from tests.helpers import requires_postgres

ACTOR = Actor.system("tests")


def test_invoice_copies_the_order_lines_and_takes_the_next_number(paid_account, mailoutbox,
                                                                  django_capture_on_commit_callbacks):
    account, _admin = paid_account
    order = make_order(account, lines=[(10, 22800, 365, 365), (3, 3600, 100, 365)])
    with django_capture_on_commit_callbacks(execute=True):
        first = invoice_issue_for_order(order=order, actor=ACTOR, paid=True)
    second = invoice_issue_for_order(order=make_order(account), actor=ACTOR, paid=True)

    assert (first.display_number, second.display_number) == ("INV-000001", "INV-000002")
    assert first.state == InvoiceState.PAID and first.paid_at is not None
    assert [(line.quantity, line.unit_price_cents, line.days, line.amount_cents) for line in first.lines.all()] == [
        (10, 22800, 365, 228000), (3, 3600, 100, 2959),
    ]
    assert first.total_cents == order.total_cents == 228000 + 2959
    assert AuditEntry.objects.filter(account=account, kind="invoice.issued").count() == 2
    assert [m.subject for m in mailoutbox] == ["Invoice INV-000001"]
    assert "$2,309.59" in mailoutbox[0].body


def test_issuing_twice_for_one_order_returns_the_first_invoice(paid_account):
    order = make_order(paid_account[0])
    first = invoice_issue_for_order(order=order, actor=ACTOR, paid=True)
    again = invoice_issue_for_order(order=order, actor=ACTOR, paid=True)
    assert again.pk == first.pk
    assert Invoice.objects.count() == 1


def test_an_unpaid_invoice_is_open_and_due_in_30_days(paid_account):
    order = make_order(paid_account[0], state=OrderState.INVOICED)
    invoice = invoice_issue_for_order(order=order, actor=ACTOR, paid=False)
    assert invoice.state == InvoiceState.OPEN and invoice.paid_at is None
    assert invoice.due_at - invoice.issued_at == timedelta(days=30)


def test_marking_paid_pays_the_order_and_reactivates_a_past_due_subscription(paid_account):
    account, _ = paid_account
    order = make_order(account, state=OrderState.INVOICED)
    invoice = invoice_issue_for_order(order=order, actor=ACTOR, paid=False)
    Invoice.objects.filter(pk=invoice.pk).update(state=InvoiceState.PAST_DUE)
    account.subscription.state = SubscriptionState.PAST_DUE
    account.subscription.save()

    invoice_mark_paid(invoice=invoice, actor=ACTOR)

    invoice.refresh_from_db()
    order.refresh_from_db()
    account.subscription.refresh_from_db()
    assert invoice.state == InvoiceState.PAID
    assert order.state == OrderState.PAID
    assert account.subscription.state == SubscriptionState.ACTIVE


def test_void_issues_a_credit_note_negating_the_lines(paid_account):
    account, _ = paid_account
    invoice = invoice_issue_for_order(order=make_order(account, lines=[(5, 22800, 200, 365)]), actor=ACTOR, paid=True)
    credit_note = invoice_void_with_credit_note(invoice=invoice, actor=ACTOR, reason="duplicate")

    invoice.refresh_from_db()
    assert invoice.state == InvoiceState.VOID and invoice.display_number == "INV-000001"
    assert credit_note.display_number == "CN-000001"
    assert credit_note.total_cents == -invoice.total_cents
    assert [line.amount_cents for line in credit_note.lines.all()] == [-line.amount_cents for line in invoice.lines.all()]
    assert invoice_void_with_credit_note(invoice=invoice, actor=ACTOR).pk == credit_note.pk
    with pytest.raises(ServiceError):
        invoice_mark_paid(invoice=invoice, actor=ACTOR)


def test_one_invoice_per_subscription_term_for_renewals(paid_account):
    account, _ = paid_account
    subscription = account.subscription
    term_start = timezone.localdate()
    order = make_order(account, kind=OrderKind.RENEWAL, renewal_of=subscription, renewal_term_start=term_start)
    invoice = invoice_issue_for_order(order=order, actor=ACTOR, paid=False)
    assert (invoice.subscription_id, invoice.term_start) == (subscription.pk, term_start)
    # A second invoice for the same term is refused by the database.
    with pytest.raises(IntegrityError), transaction.atomic():
        Invoice.objects.create(
            account=account, series=invoice.series, subscription=subscription, term_start=term_start,
        )


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_invoices_get_gapless_distinct_numbers():
    from tests.factories import make_account

    account, _ = make_account(plan="professional", licenses=10)
    orders = [make_order(account) for _ in range(20)]
    barrier = threading.Barrier(len(orders))
    errors = []

    def issue(order):
        try:
            barrier.wait()
            invoice_issue_for_order(order=order, actor=ACTOR, paid=True)
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=issue, args=(order,)) for order in orders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    numbers = sorted(Invoice.objects.values_list("number", flat=True))
    assert numbers == list(range(1, 21))


def test_a_second_renewal_invoice_for_a_term_is_refused_without_using_a_number(paid_account):
    account, _ = paid_account
    subscription, term_start = account.subscription, timezone.localdate()
    first = make_order(account, kind=OrderKind.RENEWAL, renewal_of=subscription, renewal_term_start=term_start)
    invoice_issue_for_order(order=first, actor=ACTOR, paid=False)
    # A second order for the same term (moving the first one off it: orders are one per term too).
    Order.objects.filter(pk=first.pk).update(renewal_of=None, renewal_term_start=None)
    second = make_order(account, kind=OrderKind.RENEWAL, renewal_of=subscription, renewal_term_start=term_start)

    with pytest.raises(ServiceError, match="already has its invoice"), transaction.atomic():
        invoice_issue_for_order(order=second, actor=ACTOR, paid=False)

    assert invoice_issue_for_order(order=make_order(account), actor=ACTOR, paid=True).display_number == "INV-000002"
