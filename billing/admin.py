from decimal import Decimal, InvalidOperation

from django import forms
from django.contrib import admin

from accounts.admin_actions import (
    ActionForm,
    ObjectAction,
    ObjectActionsMixin,
    ReadOnlyAdminMixin,
    ReasonForm,
)
from billing.credit_notes import credited_cents, invoice_credit
from billing.invoices import invoice_mark_paid, invoice_void_with_credit_note
from billing.models import (
    AccountCredit,
    AddOn,
    CreditSettlement,
    Invoice,
    InvoiceLine,
    Order,
    OrderLine,
    Payment,
    Plan,
    Refund,
    Subscription,
    SubscriptionAddOn,
    TaxRate,
)
from billing.payments import payment_review_refund
from billing.templatetags.money import cents as format_cents


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "price_per_user_month_cents", "max_users", "data_history_months",
                    "data_history_days", "is_sold", "export_row_limit", "sort_order"]
    list_editable = ["sort_order"]


@admin.register(AddOn)
class AddOnAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "price_per_user_month_cents", "sales_channel"]
    filter_horizontal = ["eligible_plans"]


@admin.register(TaxRate)
class TaxRateAdmin(admin.ModelAdmin):
    """Staff keep the rates (issue 14): the next cart, renewal or quote invoice uses them; issued
    invoices keep the rate they were issued with."""

    list_display = ["country", "region", "name", "percent", "updated_at"]
    list_filter = ["name"]
    search_fields = ["country", "region", "name"]


class SubscriptionAddOnInline(admin.TabularInline):
    model = SubscriptionAddOn
    extra = 0
    can_delete = False
    readonly_fields = ["addon", "unit_price_cents", "created_at"]
    fields = readonly_fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ["account", "plan", "licenses", "state", "term_start", "term_end", "trial_ends_at"]
    list_filter = ["state", "plan"]
    list_select_related = ["account", "plan"]
    search_fields = ["account__name", "account__slug"]
    show_full_result_count = False
    inlines = [SubscriptionAddOnInline]

    # Read-only: a subscription changes through the cart, the lifecycle jobs and the staff
    # actions, whose services check the catalogue's rules, write the audit row and send
    # subscription_changed (compliance and support follow it). An edit here would do none of that.
    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --- Orders, payments and invoices (billing-checkout): read-only records; invoices change only
# through the services, from the actions below.

class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    can_delete = False
    readonly_fields = ["description", "plan_code", "addon_code", "quantity", "unit_price_cents", "days",
                       "term_days", "discount_percent", "amount_cents"]
    fields = readonly_fields

    def has_add_permission(self, request, obj=None):
        return False


class PaymentInline(admin.TabularInline):
    model = Payment
    extra = 0
    can_delete = False
    # A refund or a dispute (from Stripe's webhooks) is shown on the order beside the attempt.
    readonly_fields = ["gateway", "reference", "amount_cents", "charged_cents", "state", "refunded_cents",
                       "disputed", "off_session", "message", "created_at", "settled_at"]
    fields = readonly_fields

    def has_add_permission(self, request, obj=None):
        return False


def _review_refund(*, obj, actor, reason):
    payment = payment_review_refund(order=obj, actor=actor, reason=reason)
    return (f"Order {obj.pk}: {format_cents(payment.refunded_cents)} refunded to the card; the cart can be "
            "paid again.")


ORDER_ACTIONS = {
    "review-refund": ObjectAction("Refund the charge under review", "billing.refund_review_payment",
                                  ReasonForm, _review_refund),
}


@admin.register(Order)
class OrderAdmin(ObjectActionsMixin, admin.ModelAdmin):
    list_display = ["pk", "account", "kind", "state", "total_cents", "created_at", "paid_at"]
    list_filter = ["state", "kind"]
    list_select_related = ["account"]
    search_fields = ["account__name", "account__slug", "idempotency_key"]
    show_full_result_count = False
    inlines = [OrderLineInline, PaymentInline]
    object_actions = ORDER_ACTIONS

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False


class InvoiceLineInline(admin.TabularInline):
    model = InvoiceLine
    extra = 0
    can_delete = False
    readonly_fields = ["description", "quantity", "unit_price_cents", "days", "term_days",
                       "discount_percent", "amount_cents"]
    fields = readonly_fields

    def has_add_permission(self, request, obj=None):
        return False


def _mark_paid(*, obj, actor, reason):
    invoice_mark_paid(invoice=obj, actor=actor, reason=reason)
    return f"{obj.display_number} marked paid."


def _void(*, obj, actor, reason):
    credit_note = invoice_void_with_credit_note(invoice=obj, actor=actor, reason=reason)
    return f"{obj.display_number} voided by credit note {credit_note.display_number}."


class CreditForm(ActionForm):
    """Credit some lines of the invoice, or an amount (tax included), with a reason."""

    lines = forms.TypedMultipleChoiceField(
        coerce=int, required=False, widget=forms.CheckboxSelectMultiple,
        help_text="the lines to credit in full (each line once), with their tax",
    )
    amount = forms.CharField(required=False, max_length=20,
                             help_text="or an amount in dollars, tax included (e.g. 120.00)")
    settlement = forms.ChoiceField(choices=[
        (CreditSettlement.REFUND.value, CreditSettlement.REFUND.label),
        (CreditSettlement.ACCOUNT_CREDIT.value, CreditSettlement.ACCOUNT_CREDIT.label),
    ])
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=300,
                             help_text="printed on the credit note")

    def __init__(self, *args, obj, **kwargs):
        super().__init__(*args, obj=obj, **kwargs)
        self.fields["lines"].choices = [
            (line.pk, f"{line.description}: {format_cents(line.amount_cents)}")
            for line in obj.lines.filter(credited_by__isnull=True)
        ]
        self.fields["amount"].help_text += f"; {format_cents(obj.total_cents - credited_cents(obj))} left to credit"

    def clean_amount(self):
        raw = (self.cleaned_data.get("amount") or "").strip().replace("$", "").replace(",", "")
        if not raw:
            return None
        try:
            value = Decimal(raw)
        except InvalidOperation:
            raise forms.ValidationError("Enter an amount in dollars, such as 120.00.") from None
        if value <= 0:
            raise forms.ValidationError("The amount to credit must be more than zero.")
        if value != value.quantize(Decimal("0.01")):
            raise forms.ValidationError("Cents at most: two decimals.")
        return int(value * 100)


def _credit(*, obj, actor, reason, settlement, lines, amount):
    credit_note = invoice_credit(invoice=obj, actor=actor, reason=reason, settlement=settlement,
                                 line_ids=lines, amount_cents=amount)
    refund = getattr(credit_note, "refund", None)
    outcome = f"; refund {refund.get_state_display().lower()}" if refund is not None else ""
    return (f"{obj.display_number} credited by {credit_note.display_number} "
            f"({format_cents(-credit_note.total_cents)}, {credit_note.get_credit_settlement_display().lower()}{outcome}).")


# Money changes: each confirmed on its own page, with the reason, by staff holding the permission.
INVOICE_ACTIONS = {
    "mark-paid": ObjectAction("Mark paid (payment received)", "billing.mark_paid_invoice", ReasonForm, _mark_paid),
    "void": ObjectAction("Void with a credit note", "billing.void_invoice", ReasonForm, _void),
    "credit": ObjectAction("Credit part of it (refund or account credit)", "billing.credit_invoice",
                           CreditForm, _credit),
}


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["key", "account", "amount_cents", "state", "reference", "created_at", "settled_at"]
    list_filter = ["state"]
    list_select_related = ["account"]
    search_fields = ["key", "reference", "account__name"]
    readonly_fields = [f.name for f in Refund._meta.fields]
    show_full_result_count = False



@admin.register(AccountCredit)
class AccountCreditAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The append-only credit ledger: read only (written by billing.credits)."""

    list_display = ["account", "kind", "amount_cents", "credit_note", "invoice", "actor_label", "created_at"]
    list_filter = ["kind"]
    list_select_related = ["account", "credit_note__series", "invoice__series"]
    search_fields = ["account__name", "account__slug"]
    readonly_fields = [f.name for f in AccountCredit._meta.fields]
    show_full_result_count = False



@admin.register(Invoice)
class InvoiceAdmin(ObjectActionsMixin, admin.ModelAdmin):
    list_display = ["__str__", "account", "state", "total_cents", "issued_at", "due_at", "paid_at"]
    list_filter = ["state", "series"]
    list_select_related = ["account", "series"]
    search_fields = ["account__name", "account__slug", "number"]
    show_full_result_count = False
    inlines = [InvoiceLineInline]
    object_actions = INVOICE_ACTIONS

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False


# The subscription lifecycle's admin (quotes queue, discounts, notices) lives beside it.
from billing import lifecycle_admin  # noqa: E402,F401
