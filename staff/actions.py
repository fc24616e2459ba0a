"""The staff actions on a customer account: each a form (with a reason where money or access
changes) and a call of the service the customer pages use. The service writes the audit row."""

from dataclasses import dataclass

from django import forms


class ActionForm(forms.Form):
    def __init__(self, *args, account, **kwargs):
        self.account = account
        super().__init__(*args, **kwargs)


class ReasonForm(ActionForm):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=500)


class ConfirmForm(ActionForm):
    confirm = forms.BooleanField(label="Yes, do it")


class ExtendGraceForm(ReasonForm):
    days = forms.IntegerField(min_value=1, max_value=60, initial=7)


class DiscountForm(ReasonForm):
    percent = forms.DecimalField(min_value=0, max_value=100, decimal_places=2, max_digits=5)


class GrantAddOnForm(ReasonForm):
    addon = forms.ChoiceField(choices=[("activconnect", "ActivConnect API"), ("data_history", "Data History")])
    price_cents = forms.IntegerField(
        min_value=0, label="Price per user per year (cents)", help_text="the quoted price; co-termed"
    )


class InvoiceEligibleForm(ReasonForm):
    eligible = forms.BooleanField(required=False, label="May pay by invoice (net 30)")


class QuoteForm(ActionForm):
    quote = forms.ModelChoiceField(queryset=None)

    def __init__(self, *args, account, **kwargs):
        super().__init__(*args, account=account, **kwargs)
        from billing.models import Quote, QuoteState

        self.fields["quote"].queryset = Quote.objects.filter(
            account=account, topic__in=["premier", "signature"], state=QuoteState.ACCEPTED
        )


@dataclass(frozen=True)
class StaffAction:
    label: str
    permission: str
    form_class: type
    run: object  # callable(account=, actor=, **cleaned_data) -> message


def _extend_grace(*, account, actor, days, reason):
    from licensing.compliance import compliance_extend_grace

    state = compliance_extend_grace(account=account, days=days, actor=actor, reason=reason)
    return f"Grace period extended by {days} days, to {state.grace_period_ends_at:%Y-%m-%d %H:%M} UTC."


def _set_discount(*, account, actor, percent, reason):
    from billing.lifecycle import billing_profile_set_discount

    billing_profile_set_discount(account=account, percent=percent, reason=reason, actor=actor)
    return f"Discount set to {percent}%."


def _grant_addon(*, account, actor, addon, price_cents, reason):
    from billing.quotes import addon_grant_by_staff

    order = addon_grant_by_staff(
        account=account, addon_code=addon, price_cents=price_cents, actor=actor, reason=reason
    )
    return f"Granted; order {order.pk} and its invoice were made."


def _activate_support(*, account, actor, quote):
    from django.db import transaction

    from billing.quotes import quote_fulfil
    from support.services import support_plan_activate_from_quote

    with transaction.atomic():
        # Activating first lets a refusal reach staff as a message; fulfilling then closes the
        # quote (its hook finds the plan already active for this quote and changes nothing).
        support_plan = support_plan_activate_from_quote(quote=quote, actor=actor)
        quote_fulfil(quote=quote, actor=actor)
    return f"{support_plan.plan.name} support activated until {support_plan.ends_on}."


def _invoice_eligible(*, account, actor, eligible, reason):
    from billing.lifecycle import billing_profile_set_invoice_eligible

    billing_profile_set_invoice_eligible(account=account, eligible=eligible, reason=reason, actor=actor)
    return "The account may pay by invoice." if eligible else "The account pays by card only."


def _end_trial(*, account, actor, reason):
    from billing.lifecycle import trial_end_now

    trial_end_now(account=account, actor=actor, reason=reason)
    return "The trial ended: the account is on Free."


def _reevaluate(*, account, actor, confirm):
    from licensing.compliance import compliance_refresh

    state = compliance_refresh(account=account, actor=actor)
    return f"Compliance re-evaluated: {state.get_state_display()}."


ACTIONS = {
    "extend-grace": StaffAction("Extend the grace period", "staff.extend_grace_period", ExtendGraceForm, _extend_grace),
    "set-discount": StaffAction("Set the discount", "staff.set_discount", DiscountForm, _set_discount),
    "grant-addon": StaffAction("Grant ActivConnect or Data History", "staff.grant_staff_addon", GrantAddOnForm, _grant_addon),
    "activate-support": StaffAction("Activate Premier or Signature from a quote", "staff.activate_support_plan", QuoteForm, _activate_support),
    "invoice-eligible": StaffAction("Invoice eligibility", "staff.set_invoice_eligible", InvoiceEligibleForm, _invoice_eligible),
    "end-trial": StaffAction("End the trial now", "staff.end_trial", ReasonForm, _end_trial),
    "reevaluate": StaffAction("Re-evaluate compliance now", "staff.reevaluate_compliance", ConfirmForm, _reevaluate),
}
