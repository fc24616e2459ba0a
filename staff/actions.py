"""The staff actions on a customer account (the account page's buttons). Each calls the service
the customer pages use; the service writes the audit row with the reason."""

from django import forms
from django.db import transaction

from accounts.admin_actions import ActionForm, ConfirmForm, ObjectAction, ReasonForm
from billing.models import Quote, QuoteState
from billing.profiles import billing_profile_set_discount, billing_profile_set_invoice_eligible
from billing.quotes import addon_grant_by_staff, quote_fulfil
from billing.trials import trial_end_now
from licensing.compliance import compliance_evaluate, grace_period_extend
from licensing.models import AgentKey
from licensing.services import agent_key_revoke, licensing_recount
from support.services import support_plan_activate_from_quote


class ExtendGraceForm(ReasonForm):
    days = forms.IntegerField(min_value=1, max_value=90, initial=7)


class DiscountForm(ReasonForm):
    percent = forms.DecimalField(min_value=0, max_value=100, decimal_places=2, max_digits=5)


class GrantAddOnForm(ReasonForm):
    addon = forms.ChoiceField(choices=[("activconnect", "ActivConnect API"), ("data_history", "Data History")])
    price_cents = forms.IntegerField(
        min_value=0, label="Price per user per year (cents)", help_text="the quoted price; co-termed"
    )


class InvoiceEligibleForm(ReasonForm):
    eligible = forms.BooleanField(required=False, label="May pay by invoice (net 30)")


class SupportQuoteForm(ActionForm):
    quote = forms.ModelChoiceField(queryset=Quote.objects.none(), help_text="an accepted quote")

    def __init__(self, *args, obj, **kwargs):
        super().__init__(*args, obj=obj, **kwargs)
        self.fields["quote"].queryset = Quote.objects.filter(
            account=obj, topic__in=["premier", "signature"], state=QuoteState.ACCEPTED
        )


class RevokeKeyForm(ReasonForm):
    key = forms.ModelChoiceField(queryset=AgentKey.objects.none())

    def __init__(self, *args, obj, **kwargs):
        super().__init__(*args, obj=obj, **kwargs)
        self.fields["key"].queryset = AgentKey.objects.filter(account=obj, revoked_at__isnull=True)


def _extend_grace(*, obj, actor, days, reason):
    row = grace_period_extend(account=obj, days=days, actor=actor, reason=reason)
    return f"Grace period extended by {days} days, to {row.grace_period_ends_at:%Y-%m-%d %H:%M} UTC."


def _set_discount(*, obj, actor, percent, reason):
    billing_profile_set_discount(account=obj, percent=percent, reason=reason, actor=actor)
    return f"Discount set to {percent}%."


def _grant_addon(*, obj, actor, addon, price_cents, reason):
    order = addon_grant_by_staff(account=obj, addon_code=addon, price_cents=price_cents, actor=actor, reason=reason)
    return f"Granted: order {order.pk} and its invoice were made."


def _activate_support(*, obj, actor, quote):
    with transaction.atomic():
        # Activating first lets a refusal reach staff as a message; fulfilling then closes the
        # quote (its hook finds the plan already active for this quote and changes nothing).
        support_plan = support_plan_activate_from_quote(quote=quote, actor=actor)
        quote_fulfil(quote=quote, actor=actor)
    return f"{support_plan.plan.name} support activated until {support_plan.ends_on}."


def _invoice_eligible(*, obj, actor, eligible, reason):
    billing_profile_set_invoice_eligible(account=obj, eligible=eligible, reason=reason, actor=actor)
    return "The account may pay by invoice." if eligible else "The account pays by card only."


def _end_trial(*, obj, actor, reason):
    trial_end_now(account=obj, actor=actor, reason=reason)
    return "The trial ended: the account is on Free."


def _reevaluate(*, obj, actor, confirm):
    licensing_recount(account=obj, actor=actor)
    row = compliance_evaluate(account=obj, actor=actor)
    return f"Compliance re-evaluated: {row.get_state_display()} ({row.used} users used)."


def _revoke_key(*, obj, actor, key, reason):
    agent_key_revoke(key=key, actor=actor)
    return f"Agent key {key.prefix} revoked: its agents get 401 from now on."


ACCOUNT_ACTIONS = {
    "extend-grace": ObjectAction("Extend the grace period", "staff.extend_grace_period", ExtendGraceForm, _extend_grace),
    "reevaluate": ObjectAction("Re-evaluate compliance now", "staff.reevaluate_compliance", ConfirmForm, _reevaluate),
    "set-discount": ObjectAction("Set the discount", "staff.set_discount", DiscountForm, _set_discount),
    "grant-addon": ObjectAction("Grant ActivConnect or Data History", "staff.grant_staff_addon", GrantAddOnForm, _grant_addon),
    "activate-support": ObjectAction("Activate Premier or Signature", "staff.activate_support_plan", SupportQuoteForm, _activate_support),
    "invoice-eligible": ObjectAction("Invoice eligibility", "staff.set_invoice_eligible", InvoiceEligibleForm, _invoice_eligible),
    "end-trial": ObjectAction("End the trial now", "staff.end_trial", ReasonForm, _end_trial),
    "revoke-key": ObjectAction("Revoke an agent key", "staff.revoke_agent_key", RevokeKeyForm, _revoke_key),
}
