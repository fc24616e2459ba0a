
from django.db import transaction
from django.utils import timezone

from accounts.services import ServiceError, audit_record, billing_contacts_set
from billing import subscriptions
from billing.models import BillingDetails, Plan
from billing.subscriptions import license_ledger_record, subscription_snapshot  # noqa: F401
from billing.tax_ids import TaxIdError, tax_id_normalise
from billing.terms import TERM, TRIAL_DAYS, TRIAL_LICENSES, TRIAL_PLAN_CODE  # noqa: F401


def plan_for_purchase(*, plan_code, licenses):
    """The plan a new purchase may be made on, or a ServiceError saying why not.

    The rules of PRODUCT.md: legacy plans are not sold; a paid plan needs at least 5 licenses.
    """
    plan = Plan.objects.filter(code=plan_code).first()
    if plan is None:
        known = ", ".join(Plan.objects.filter(is_sold=True).values_list("code", flat=True))
        raise ServiceError(f"Unknown plan {plan_code!r}. Plans on sale: {known}.")
    if not plan.is_sold:
        raise ServiceError(f"{plan.name} is a legacy plan and can no longer be bought.")
    if plan.is_paid and (licenses is None or licenses < plan.min_licenses):
        raise ServiceError(
            f"{plan.name} needs at least {plan.min_licenses} licenses (asked for {licenses})."
        )
    return plan


def subscription_start_trial(*, account, actor):
    """Every new account gets its trial (PRODUCT.md): the writer is billing.subscriptions."""
    plan = Plan.objects.get(code=TRIAL_PLAN_CODE)
    with transaction.atomic():
        return subscriptions.subscription_start_trial(
            account=account, plan=plan, licenses=TRIAL_LICENSES, now=timezone.now(),
            trial_days=TRIAL_DAYS, actor=actor,
        )


def subscription_provision(*, account, plan_code, licenses, actor, term_start=None):
    """Staff provisioning of a sales-assisted deal: the plan and licenses, a new annual term
    from today, or from ``term_start`` (a customer moved to us in the middle of a term it paid
    elsewhere, or the demo): at most a year back, so that the term is still running."""
    plan = plan_for_purchase(plan_code=plan_code, licenses=licenses)
    today = timezone.localdate()
    if term_start is not None and not (today - TERM < term_start <= today):
        raise ServiceError(
            f"A term starts today or up to a year back and has not ended yet (asked for {term_start})."
        )
    with transaction.atomic():
        return subscriptions.subscription_provision(
            account=account, plan=plan, licenses=licenses, today=term_start or today, term=TERM,
            actor=actor,
        )


BILLING_DETAILS_FIELDS = (
    "legal_name", "address_line1", "address_line2", "city", "postal_code", "region", "country",
    "tax_id", "po_number",
)


def billing_details_update(*, account, actor, contacts=None, **values):
    """The account's billing details (made on the first save), audited. Invoices issued from now
    on carry them; issued ones keep the details of their day (billing/documents.py).
    ``contacts``: the billing contacts' emails, saved in the same transaction (None keeps them)."""
    unknown = set(values) - set(BILLING_DETAILS_FIELDS)
    if unknown:
        raise ServiceError(f"Unknown billing details: {', '.join(sorted(unknown))}.")
    if values.get("tax_id"):
        try:
            values["tax_id"] = tax_id_normalise(country=str(values.get("country") or ""),
                                                tax_id=values["tax_id"])
        except TaxIdError as error:
            raise ServiceError(str(error)) from None
    with transaction.atomic():
        details = BillingDetails.objects.select_for_update().filter(account=account).first()
        before = details.snapshot() if details is not None else {}
        if details is None:
            details = BillingDetails(account=account)
        for name, value in values.items():
            setattr(details, name, value)
        details.full_clean()
        details.save()
        if contacts is not None:
            billing_contacts_set(account=account, actor=actor, emails=contacts)
        after = details.snapshot()
        audit_record(
            account=account, actor=actor, kind="billing.details_updated",
            summary=f"Billing details of {account.name} updated", before=before, after=after,
        )
    return details
