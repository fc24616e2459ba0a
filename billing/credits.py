"""The account credit ledger (issue 14, item 4): append-only, its only writer.

A partial credit note kept as credit grants its total; the next invoice consumes the balance
first ("Account credit applied", up to what it is due), written when that invoice is issued.
The cart priced the order with the balance of that moment; the use is booked at issue under the
account's row lock, so two invoices issued at once never spend the same credit twice.
"""

from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Subquery, Sum

from accounts.models import Account
from billing.models import AccountCredit, AccountCreditKind


def credit_balance_cents(*, account) -> int:
    """What the account may still spend (one query); offered as never below zero."""
    account_id = getattr(account, "pk", account)
    total = AccountCredit.objects.filter(account_id=account_id).aggregate(total=Sum("amount_cents"))["total"]
    return credit_offered_cents(total)


def credit_total(account_ref="account_id"):
    """The ledger's sum for the account of an outer row (an annotation: a page that reads that
    row anyway gets the balance in the same query); ``credit_offered_cents`` turns it into the
    balance offered."""
    return Subquery(
        AccountCredit.objects.filter(account_id=OuterRef(account_ref)).order_by()
        .values("account_id").annotate(total=Sum("amount_cents")).values("total")
    )


def credit_offered_cents(total) -> int:
    """The balance offered from the ledger's sum (None: no rows): never below zero."""
    return max(int(total or 0), 0)


def credit_grant(*, credit_note, amount_cents: int, actor) -> AccountCredit:
    """A credit note kept as account credit (or a void giving back the credit its invoice
    consumed): the amount (positive) joins the balance. Once per credit note."""
    amount = int(amount_cents)
    if amount <= 0:
        raise ValueError("a credit note credits a positive amount")
    try:
        with transaction.atomic():
            return AccountCredit.objects.create(
                account_id=credit_note.account_id, kind=AccountCreditKind.GRANTED, amount_cents=amount,
                credit_note=credit_note, actor_label=actor.label[:200],
            )
    except IntegrityError:
        return AccountCredit.objects.get(credit_note=credit_note)


def credit_use(*, invoice, wanted_cents: int, actor, priced: bool = False) -> int:
    """Consumes up to ``wanted_cents`` of the balance for this invoice (call inside its
    transaction); returns what was consumed. The account row lock serialises uses.

    ``priced``: the order was already priced and charged with this credit (the cart), so exactly
    that is booked even if another invoice spent part of it meanwhile (the same account buying
    twice in the same second): the balance may then go below zero, staff see it in the ledger,
    and no further credit is offered until it is back above zero."""
    if wanted_cents <= 0:
        return 0
    Account.objects.select_for_update().filter(pk=invoice.account_id).first()
    used = wanted_cents if priced else min(wanted_cents, credit_balance_cents(account=invoice.account_id))
    if used > 0:
        AccountCredit.objects.create(
            account_id=invoice.account_id, kind=AccountCreditKind.APPLIED, amount_cents=-used,
            invoice=invoice, actor_label=actor.label[:200],
        )
    return used
