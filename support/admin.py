from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Case, Exists, IntegerField, OuterRef, Value, When
from django.utils import timezone

from accounts.actors import Actor
from accounts.services import ServiceError
from support import services
from support.coverage import COVERAGE_TIMEZONE
from support.models import (
    AccountSupportPlan,
    CaseReply,
    CaseState,
    EntitlementUse,
    SupportAllowance,
    SupportCase,
    SupportPlan,
    SupportPlanFeature,
    SupportPlanState,
    SupportQuote,
)


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


def _actor(request):
    return Actor.for_user(request.user)


# --- Account support plans -------------------------------------------------------------------


class AccountSupportPlanForm(forms.ModelForm):
    class Meta:
        model = AccountSupportPlan
        fields = ["csm", "tam"]

    def clean(self):
        cleaned = super().clean()
        problems = services.support_managers_problems(
            plan=self.instance.plan, csm=cleaned.get("csm"), tam=cleaned.get("tam")
        )
        for field, problem in problems.items():
            self.add_error(field, problem)
        return cleaned


class EntitlementUseInline(admin.TabularInline):
    model = EntitlementUse
    fields = ["used_on", "kind", "quantity", "voucher_kind", "note", "recorded_by", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(AccountSupportPlan)
class AccountSupportPlanAdmin(admin.ModelAdmin):
    """Premier and Signature rows are made by activating a quote (see "Premier/Signature
    quotes"); Digital rows follow the subscription. Staff assign the managers here and renew."""

    form = AccountSupportPlanForm
    list_display = ["account", "plan", "state", "starts_on", "ends_on", "csm", "tam"]
    list_filter = ["plan", "state"]
    list_select_related = ["account", "plan", "csm", "tam"]
    search_fields = ["account__name", "account__slug"]
    readonly_fields = ["account", "plan", "state", "starts_on", "ends_on", "quote", "created_at",
                       "ended_at"]
    fields = readonly_fields[:6] + ["csm", "tam"] + readonly_fields[6:]
    inlines = [EntitlementUseInline]
    actions = ["renew"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name in {"csm", "tam"}:
            from accounts.models import User

            kwargs["queryset"] = User.objects.filter(is_staff=True, is_active=True).order_by("email")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        try:
            services.support_plan_assign_managers(
                support_plan=obj, csm=form.cleaned_data.get("csm"),
                tam=form.cleaned_data.get("tam"), actor=_actor(request),
            )
        except ServiceError as error:
            # The form's clean() checks the same rules first; this only catches a race.
            self.message_user(request, str(error), messages.ERROR)

    @admin.action(description="Renew for 12 months", permissions=["change"])
    def renew(self, request, queryset):
        for row in queryset.select_related("plan", "account"):
            try:
                renewed = services.support_plan_renew(support_plan=row, actor=_actor(request))
            except ServiceError as error:
                self.message_user(request, f"{row}: {error}", messages.ERROR)
            else:
                self.message_user(
                    request, f"{renewed} renewed until {renewed.ends_on:%d %b %Y}.", messages.SUCCESS
                )


# --- Quotes for Premier and Signature -------------------------------------------------------


@admin.register(SupportQuote)
class SupportQuoteAdmin(admin.ModelAdmin):
    list_display = ["id", "account", "topic", "state", "created_at", "activated"]
    list_filter = ["topic", "state"]
    list_select_related = ["account"]
    search_fields = ["account__name"]
    actions = ["activate"]

    def get_queryset(self, request):
        activated = AccountSupportPlan.objects.filter(quote=OuterRef("pk"))
        return (
            super().get_queryset(request)
            .filter(topic__in=services.QUOTE_TOPIC_PLANS.keys())
            .annotate(is_activated=Exists(activated))
        )

    @admin.display(boolean=True, ordering="is_activated", description="support plan activated")
    def activated(self, obj):
        return obj.is_activated

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Activate the support plan of the accepted quote",
                  permissions=["view"])
    def activate(self, request, queryset):
        if not request.user.has_perm("support.add_accountsupportplan"):
            self.message_user(request, "You may not activate support plans.", messages.ERROR)
            return
        from billing.quotes import quote_fulfil

        for quote in queryset.select_related("account"):
            try:
                with transaction.atomic():
                    row = services.support_plan_activate_from_quote(quote=quote, actor=_actor(request))
                    if quote.state == "accepted":
                        quote_fulfil(quote=quote, actor=_actor(request))  # closes the quote
            except ServiceError as error:
                self.message_user(request, f"Quote {quote.pk}: {error}", messages.ERROR)
            else:
                self.message_user(
                    request,
                    f"{row.plan.name} active for {row.account} until {row.ends_on:%d %b %Y}.",
                    messages.SUCCESS,
                )


# --- The entitlement ledger -----------------------------------------------------------------


class EntitlementUseForm(forms.ModelForm):
    """Recording a use goes through ``entitlement_use_record``: a refusal (nothing left, not in
    the plan) is shown as the form's error, never a 500."""

    actor = None  # set per request by the admin

    class Meta:
        model = EntitlementUse
        fields = ["support_plan", "kind", "quantity", "voucher_kind", "used_on", "note"]

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            self.recorded = services.entitlement_use_record(
                support_plan=cleaned["support_plan"], kind=cleaned["kind"],
                quantity=cleaned.get("quantity") or 1,
                voucher_kind=cleaned.get("voucher_kind") or "", note=cleaned.get("note") or "",
                used_on=cleaned.get("used_on"), actor=self.actor,
            )
        except ServiceError as error:
            raise ValidationError(str(error)) from None
        return cleaned

    def _post_clean(self):
        # The service made and validated the row; the model's own validation would only repeat
        # the CheckConstraints (and may not see the row the service chose).
        if getattr(self, "recorded", None) is not None:
            self.instance = self.recorded
        else:
            super()._post_clean()


@admin.register(EntitlementUse)
class EntitlementUseAdmin(admin.ModelAdmin):
    """The ledger is append-only: staff record uses; a correction is a note on the plan."""

    form = EntitlementUseForm
    list_display = ["used_on", "account", "plan_name", "kind", "quantity", "voucher_kind",
                    "recorded_by", "note"]
    list_filter = ["kind", "voucher_kind"]
    list_select_related = ["account", "support_plan__plan", "recorded_by"]
    search_fields = ["account__name", "note"]
    date_hierarchy = "used_on"
    show_full_result_count = False

    @admin.display(ordering="support_plan__plan__sort_order", description="plan")
    def plan_name(self, obj):
        return obj.support_plan.plan.name

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        form.actor = _actor(request)
        return form

    def get_changeform_initial_data(self, request):
        return {"used_on": timezone.localdate(), **super().get_changeform_initial_data(request)}

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "support_plan":
            kwargs["queryset"] = AccountSupportPlan.objects.filter(
                state=SupportPlanState.ACTIVE, plan__sold_by_quote=True
            ).select_related("account", "plan").order_by("account__name")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_form(self, request, form, change):
        return form.recorded

    def save_model(self, request, obj, form, change):
        pass  # entitlement_use_record saved it, with its audit row

    def save_related(self, request, form, formsets, change):
        pass


# --- Cases: the staff queue -----------------------------------------------------------------


class CaseReplyInline(admin.StackedInline):
    model = CaseReply
    fields = ["body", "author", "by_staff", "created_at"]
    readonly_fields = ["author", "by_staff", "created_at"]
    extra = 1
    can_delete = False

    def has_change_permission(self, request, obj=None):
        # Replies already sent are not edited; the inline still offers a new one.
        return False


@admin.register(SupportCase)
class SupportCaseAdmin(admin.ModelAdmin):
    """The staff queue: open cases first, Signature (priority routing) before the others, then
    by first-response due time."""

    list_display = ["id", "subject", "account", "plan", "severity", "channel", "state",
                    "due_central", "first_response_at", "breached", "assigned_to"]
    list_display_links = ["id", "subject"]
    list_filter = ["state", "plan", "severity", "channel", ("breached_at", admin.EmptyFieldListFilter),
                   "assigned_to"]
    list_select_related = ["account", "plan", "assigned_to"]
    search_fields = ["subject", "account__name"]
    readonly_fields = ["account", "plan", "subject", "description", "severity", "channel", "state",
                       "opened_by", "opened_at", "first_response_due_at", "first_response_at",
                       "breached_at", "closed_at"]
    fields = readonly_fields + ["assigned_to"]
    inlines = [CaseReplyInline]
    actions = ["close"]
    show_full_result_count = False

    def get_queryset(self, request):
        # Annotated before ordering (ModelAdmin.get_queryset would order by names not there yet).
        qs = self.model._default_manager.get_queryset().annotate(
            queue_order=Case(
                When(state=CaseState.OPEN, then=Value(0)), default=Value(1),
                output_field=IntegerField(),
            ),
            routing_priority=Case(
                When(plan__priority_routing=True, then=Value(0)), default=Value(1),
                output_field=IntegerField(),
            ),
        )
        return qs.order_by(*self.get_ordering(request))

    def get_ordering(self, request):
        return ["queue_order", "routing_priority", "first_response_due_at", "id"]

    @admin.display(ordering="first_response_due_at", description="first response due (CT)")
    def due_central(self, obj):
        return obj.first_response_due_at.astimezone(COVERAGE_TIMEZONE).strftime("%a %d %b %H:%M %Z")

    @admin.display(boolean=True, ordering="breached_at")
    def breached(self, obj):
        return obj.breached_at is not None

    def has_add_permission(self, request):
        return False  # customers open cases on /support/

    def has_delete_permission(self, request, obj=None):
        return False

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "assigned_to":
            from accounts.models import User

            kwargs["queryset"] = User.objects.filter(is_staff=True, is_active=True).order_by("email")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        if "assigned_to" in form.changed_data:
            obj.save(update_fields=["assigned_to"])

    def save_formset(self, request, form, formset, change):
        if formset.model is not CaseReply:
            return super().save_formset(request, form, formset, change)
        for reply in formset.save(commit=False):
            if reply.pk is None and reply.body.strip():
                # Through the service: the first staff reply stops the first-response clock.
                services.case_reply_add(case=form.instance, author=request.user, body=reply.body)

    @admin.action(description="Close the selected cases", permissions=["change"])
    def close(self, request, queryset):
        for case in queryset:
            services.case_close(case=case, actor=_actor(request))
        self.message_user(request, "Cases closed.", messages.SUCCESS)
