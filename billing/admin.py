from django.contrib import admin, messages

from accounts.actors import Actor
from accounts.services import ServiceError
from billing.invoices import invoice_mark_paid, invoice_void_with_credit_note
from billing.models import (
    AddOn,
    Invoice,
    InvoiceLine,
    Order,
    OrderLine,
    Payment,
    Plan,
    Subscription,
    SubscriptionAddOn,
)


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "price_per_user_month_cents", "max_users", "data_history_months",
                    "data_history_days", "is_sold", "export_row_limit", "sort_order"]
    list_editable = ["sort_order"]


@admin.register(AddOn)
class AddOnAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "price_per_user_month_cents", "sales_channel"]
    filter_horizontal = ["eligible_plans"]


class SubscriptionAddOnInline(admin.TabularInline):
    model = SubscriptionAddOn
    extra = 0


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ["account", "plan", "licenses", "state", "term_start", "term_end", "trial_ends_at"]
    list_filter = ["state", "plan"]
    list_select_related = ["account", "plan"]
    search_fields = ["account__name", "account__slug"]
    inlines = [SubscriptionAddOnInline]


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
    readonly_fields = ["gateway", "reference", "amount_cents", "state", "message", "created_at"]
    fields = readonly_fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["pk", "account", "kind", "state", "total_cents", "created_at", "paid_at"]
    list_filter = ["state", "kind"]
    list_select_related = ["account"]
    search_fields = ["account__name", "account__slug", "idempotency_key"]
    show_full_result_count = False
    inlines = [OrderLineInline, PaymentInline]

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


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    list_display = ["__str__", "account", "state", "total_cents", "issued_at", "due_at", "paid_at"]
    list_filter = ["state", "series"]
    list_select_related = ["account", "series"]
    search_fields = ["account__name", "account__slug", "number"]
    show_full_result_count = False
    inlines = [InvoiceLineInline]
    actions = ["mark_paid", "void_with_credit_note"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False

    @admin.action(description="Mark as paid (payment received)", permissions=["view"])
    def mark_paid(self, request, queryset):
        self._each(request, queryset, invoice_mark_paid, "marked paid")

    @admin.action(description="Void with a credit note", permissions=["view"])
    def void_with_credit_note(self, request, queryset):
        self._each(request, queryset, invoice_void_with_credit_note, "voided")

    def _each(self, request, queryset, service, done):
        if not request.user.has_perm("billing.change_invoice") and not request.user.is_superuser:
            self.message_user(request, "You may not change invoices.", messages.ERROR)
            return
        actor = Actor.for_user(request.user)
        for invoice in queryset:
            try:
                service(invoice=invoice, actor=actor)
            except ServiceError as error:
                self.message_user(request, f"{invoice}: {error}", messages.ERROR)
            else:
                self.message_user(request, f"{invoice} {done}.")
# The subscription lifecycle's admin (quotes queue, discounts, notices) lives beside it.
from billing import lifecycle_admin  # noqa: E402,F401
