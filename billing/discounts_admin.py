"""Staff admin of discounts that end and coupons (billing/discounts.py). Every write audits."""

from django import forms
from django.contrib import admin, messages

from accounts.actors import Actor
from accounts.services import audit_record
from billing import discounts
from billing.models import Coupon, Discount


class DiscountAdminForm(forms.ModelForm):
    class Meta:
        model = Discount
        fields = ["account", "name", "percent", "scope", "scope_code", "starts_on", "ends_on", "reason"]

    def clean(self):
        data = super().clean()
        problem = discounts.discount_problem(
            percent=data.get("percent"), scope=data.get("scope"), scope_code=data.get("scope_code"),
            starts_on=data.get("starts_on"), ends_on=data.get("ends_on"),
        )
        if problem:
            raise forms.ValidationError(problem)
        return data


def _discount_snapshot(obj):
    return {"name": obj.name, "percent": str(obj.percent), "scope": obj.scope, "scope_code": obj.scope_code,
            "starts_on": str(obj.starts_on), "ends_on": str(obj.ends_on) if obj.ends_on else None}


@admin.register(Discount)
class DiscountAdmin(admin.ModelAdmin):
    """An account's discount for a period, on every line or one plan's or add-on's: the cart,
    quotes and renewals apply it on the days it is in effect and name it on each line."""

    form = DiscountAdminForm
    list_display = ["account", "name", "percent", "scope", "scope_code", "starts_on", "ends_on", "coupon"]
    list_filter = ["scope"]
    list_select_related = ["account", "coupon"]
    search_fields = ["account__name", "account__slug", "name"]
    autocomplete_fields = ["account"]

    def has_delete_permission(self, request, obj=None):
        return False  # end it (an end date) instead: what was invoiced stays explained

    def save_model(self, request, obj, form, change):
        before = _discount_snapshot(Discount.objects.get(pk=obj.pk)) if change else {}
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
        audit_record(account=obj.account, actor=Actor.for_user(request.user),
                     kind="billing.discount_changed" if change else "billing.discount_added",
                     summary=f"Discount {obj.name} {obj.percent}%", before=before,
                     after=_discount_snapshot(obj), reason=obj.reason)


@admin.register(Coupon)
class CouponAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "percent", "amount_off_cents", "scope", "duration_terms",
                    "redeemed", "max_redemptions", "expires_at", "is_active"]
    list_filter = ["is_active", "scope"]
    search_fields = ["code", "name"]

    @admin.display(description="used")
    def redeemed(self, obj):
        return obj.redemptions.count()

    def has_delete_permission(self, request, obj=None):
        return False  # deactivate it instead: redemptions point at it


class ReviewDue(admin.SimpleListFilter):
    title = "yearly review"
    parameter_name = "review"

    def lookups(self, request, model_admin):
        return [("due", "Due now")]

    def queryset(self, request, queryset):
        if self.value() == "due":
            return queryset.filter(pk__in=discounts.discounts_due_for_review().values("pk"))
        return queryset


@admin.action(description="Reviewed: keep the discount for another year", permissions=["change"])
def keep_discount(modeladmin, request, queryset):
    for profile in queryset.select_related("account"):
        discounts.discount_reviewed(account=profile.account, actor=Actor.for_user(request.user), keep=True,
                                    reason="yearly review")
        modeladmin.message_user(request, f"{profile.account}: discount kept for a year", messages.SUCCESS)


