"""Staff admin of the subscription's lifecycle: the quote queue, discounts and invoice
eligibility, and the log of billing notices. Every change goes through its service."""

from django import forms
from django.contrib import admin, messages
from django.utils import timezone

from accounts.actors import Actor
from accounts.services import ServiceError
from billing import profiles, quotes
from billing.discounts_admin import ReviewDue, keep_discount
from billing.models import (
    BillingNotice,
    BillingProfile,
    Quote,
    QuoteState,
    SalesLead,
    ScheduledChange,
)


class QuoteAdminForm(forms.ModelForm):
    class Meta:
        model = Quote
        fields = ["plan", "licenses", "quoted_price_cents", "quoted_discount_percent"]

    def clean(self):
        data = super().clean()
        if self.instance.state in (QuoteState.REQUESTED, QuoteState.QUOTED):
            problem = quotes.quote_terms_problem(
                quote=self.instance, price_cents=data.get("quoted_price_cents"),
                discount_percent=data.get("quoted_discount_percent"), plan=data.get("plan"),
                licenses=data.get("licenses"),
            )
            if problem:
                raise forms.ValidationError(problem)
        return data


def _each(modeladmin, request, queryset, service, done):
    actor = Actor.for_user(request.user)
    for quote in queryset:
        try:
            service(quote=quote, actor=actor)
        except ServiceError as error:
            modeladmin.message_user(request, f"Quote {quote.pk} ({quote.account}): {error}", messages.ERROR)
        else:
            modeladmin.message_user(request, f"Quote {quote.pk} ({quote.account}): {done}", messages.SUCCESS)


@admin.register(Quote)
class QuoteAdmin(admin.ModelAdmin):
    """Staff's quote queue: price a request (saving it marks it quoted and emails the customer),
    mark it accepted on the customer's word, then turn it into an order."""

    form = QuoteAdminForm
    list_display = ["display_number", "created_at", "account", "topic", "state", "expires_on", "plan",
                    "licenses", "quoted_price_cents", "quoted_discount_percent", "handled_by"]
    list_filter = ["state", "topic"]
    search_fields = ["account__name", "account__slug"]
    list_select_related = ["account", "plan", "handled_by"]
    readonly_fields = ["account", "topic", "message", "state", "requested_by", "handled_by",
                       "created_at", "updated_at", "order_link", "display_number", "expires_on"]
    fieldsets = [
        ("Request", {"fields": ["account", "topic", "message", "requested_by", "created_at"]}),
        ("Staff's answer", {
            "fields": ["plan", "licenses", "quoted_price_cents", "quoted_discount_percent"],
            "description": "Price per user per year in cents (plans, ActivConnect, Data History), "
                           "or for the year (Premier, Signature). Nonprofit: the discount only. "
                           "Saving marks the quote quoted and emails the account's Admins.",
        }),
        ("State", {"fields": ["display_number", "state", "expires_on", "handled_by", "updated_at",
                              "order_link"],
                   "description": "Pricing it (again) makes it valid for 30 days from today."}),
    ]
    actions = ["mark_accepted", "mark_declined", "fulfil"]

    def has_add_permission(self, request):
        return False  # quotes come from the customers' "Get a quote" form

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="number", ordering="number")
    def display_number(self, obj):
        return obj.display_number

    @admin.display(description="order")
    def order_link(self, obj):
        order = getattr(obj, "order", None)
        return f"order {order.pk}: {order.total_cents} cents" if order else "-"

    def save_model(self, request, obj, form, change):
        if obj.state not in (QuoteState.REQUESTED, QuoteState.QUOTED):
            messages.warning(request, "The terms of an accepted or closed quote are final: not changed.")
            return
        quotes.quote_set_terms(
            quote=obj, actor=Actor.for_user(request.user),
            price_cents=form.cleaned_data.get("quoted_price_cents"),
            discount_percent=form.cleaned_data.get("quoted_discount_percent"),
            plan=form.cleaned_data.get("plan"), licenses=form.cleaned_data.get("licenses"),
        )

    # Changing a quote is Sales' work ("billing.change_quote"): the Read-only, Billing and
    # Support roles may see the queue but not act on it.
    @admin.action(description="Mark accepted (the customer agreed)", permissions=["change"])
    def mark_accepted(self, request, queryset):
        _each(self, request, queryset, quotes.quote_accept, "accepted")

    @admin.action(description="Mark declined", permissions=["change"])
    def mark_declined(self, request, queryset):
        _each(self, request, queryset, quotes.quote_decline, "declined")

    @admin.action(description="Turn the accepted quote into an order", permissions=["change"])
    def fulfil(self, request, queryset):
        _each(self, request, queryset, quotes.quote_fulfil, "fulfilled")


class BillingProfileAdminForm(forms.ModelForm):
    class Meta:
        model = BillingProfile
        fields = ["account", "discount_percent", "discount_reason", "invoice_eligible"]

    def clean(self):
        data = super().clean()
        problem = profiles.discount_problem(
            percent=data.get("discount_percent"), reason=data.get("discount_reason")
        )
        if problem:
            raise forms.ValidationError(problem)
        return data


@admin.register(BillingProfile)
class BillingProfileAdmin(admin.ModelAdmin):
    """Discounts (e.g. nonprofit) and paying by invoice, each change through its service and
    its audit row."""

    form = BillingProfileAdminForm
    list_display = ["account", "discount_percent", "discount_reason", "discount_review_on", "invoice_eligible"]
    list_filter = ["invoice_eligible", ReviewDue]
    actions = [keep_discount]
    list_select_related = ["account"]
    search_fields = ["account__name", "account__slug"]
    autocomplete_fields = ["account"]

    def get_readonly_fields(self, request, obj=None):
        return ["account"] if obj else []

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        actor = Actor.for_user(request.user)
        account = obj.account
        data = form.cleaned_data
        if not change or {"discount_percent", "discount_reason"} & set(form.changed_data):
            profiles.billing_profile_set_discount(
                account=account, percent=data["discount_percent"],
                reason=data["discount_reason"], actor=actor,
            )
        if not change or "invoice_eligible" in form.changed_data:
            profiles.billing_profile_set_invoice_eligible(
                account=account, eligible=data["invoice_eligible"], actor=actor,
            )
        obj.pk = BillingProfile.objects.get(account=account).pk


@admin.register(BillingNotice)
class BillingNoticeAdmin(admin.ModelAdmin):
    list_display = ["sent_at", "subscription", "kind", "about", "invoice", "recipients"]
    list_filter = ["kind"]
    list_select_related = ["subscription__account", "invoice__series"]
    search_fields = ["subscription__account__name", "subscription__account__slug"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ScheduledChange)
class ScheduledChangeAdmin(admin.ModelAdmin):
    """What renews differently, for staff answering "what happens at my renewal?". Read-only:
    the customer's Admin schedules and withdraws on the Billing page."""

    list_display = ["subscription", "plan", "licenses", "cancel_to_free", "requested_by", "requested_at"]
    list_filter = ["cancel_to_free"]
    list_select_related = ["subscription__account", "subscription__plan", "plan", "requested_by"]
    search_fields = ["subscription__account__name", "subscription__account__slug"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(SalesLead)
class SalesLeadAdmin(admin.ModelAdmin):
    """Visitors' "Contact sales" messages, beside the quote queue (billing/sales.py); staff
    answer by email and mark them handled."""

    list_display = ["created_at", "topic", "name", "email", "company", "handled_at"]
    list_filter = ["topic", ("handled_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "email", "company"]
    readonly_fields = ["name", "email", "company", "topic", "message", "created_at", "handled_at"]
    actions = ["mark_handled"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    @admin.action(description="Mark as handled", permissions=["change"])
    def mark_handled(self, request, queryset):
        count = queryset.filter(handled_at__isnull=True).update(handled_at=timezone.now())
        self.message_user(request, f"{count} message(s) marked as handled.", messages.SUCCESS)
