from django.contrib import admin

from billing.models import AddOn, Plan, Subscription, SubscriptionAddOn


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


# The subscription lifecycle's admin (quotes queue, discounts, notices) lives beside it.
from billing import lifecycle_admin  # noqa: E402,F401
