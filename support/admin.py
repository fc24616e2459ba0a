from django.contrib import admin

from support.models import SupportAllowance, SupportPlan, SupportPlanFeature


class FeatureInline(admin.TabularInline):
    model = SupportPlanFeature
    extra = 0


class AllowanceInline(admin.TabularInline):
    model = SupportAllowance
    extra = 0


@admin.register(SupportPlan)
class SupportPlanAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "email_response_hours", "coverage", "has_csm", "has_tam"]
    inlines = [AllowanceInline, FeatureInline]
