"""The staff admin: customer accounts with what staff need at a glance, and staff actions.

Every action is a confirmed POST with a reason where money or access changes; it calls the same
service the customer pages use, which writes the audit row.
"""

from django.contrib import admin
from django.db import transaction
from django.db.models import Q
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from accounts.actors import Actor
from accounts.admin_actions import ObjectActionsMixin
from accounts.models import Account, AuditEntry, Membership
from accounts.services import audit_record
from accounts.time_zones import when
from billing.models import LicenseLedger, Subscription, SubscriptionState
from licensing.compliance import compliance_state_at
from licensing.models import AgentKey, ComplianceState
from staff.actions import ACCOUNT_ACTIONS
from staff.models import DailyMetrics, StaffAccount
from staff.selectors import (
    accounts_with_metrics,
    annual_recurring_revenue_cents,
    support_plan_label,
    trials_ending_within,
)
from support.models import AccountSupportPlan

admin.site.unregister(Account)


@admin.register(Account)
class AccountLookupAdmin(admin.ModelAdmin):
    """Kept for the autocomplete widgets of other admins (they look accounts up here), and
    hidden from the index: staff work with accounts through the customer accounts page below."""

    search_fields = ["name", "slug"]

    def get_model_perms(self, request):
        return {}

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return redirect("admin:staff_staffaccount_change", object_id)


def _related(obj, name):
    """A reverse one-to-one that may not exist yet (select_related caches the miss)."""
    try:
        return getattr(obj, name)
    except Exception:  # RelatedObjectDoesNotExist of any model
        return None


class ReadOnlyInline(admin.TabularInline):
    """What the account page shows of another app: changes go through the actions above."""

    extra = 0
    can_delete = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class SubscriptionInline(ReadOnlyInline):
    model = Subscription
    fields = ["plan", "licenses", "state", "term_start", "term_end", "trial_ends_at"]


class SupportPlanInline(ReadOnlyInline):
    model = AccountSupportPlan
    fields = ["plan", "state", "starts_on", "ends_on", "csm", "tam"]
    verbose_name_plural = "support plans (Digital rows follow the subscription)"


class MembersInline(ReadOnlyInline):
    model = Membership
    fields = ["user", "role", "created_at"]
    verbose_name_plural = "members"


class AgentKeyInline(ReadOnlyInline):
    model = AgentKey
    fields = ["prefix", "name", "created_at", "last_used_at", "revoked_at"]
    verbose_name_plural = "agent keys (revoke with the action above)"


class StateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [
            ("grace", "In grace period"),
            ("blocked", "Blocked"),
            ("trial_ending", "Trial ending this week"),
            ("past_due", "Past due"),
            ("nonprofit", "Nonprofit"),
            ("legacy", "Legacy plan"),
            ("lookalike", "Look-alike name or email"),
        ]

    def queryset(self, request, queryset):
        match self.value():
            case "grace" | "blocked":
                # The state as it is now (a grace period past its end is blocked already).
                return queryset.filter(compliance_now=self.value())
            case "trial_ending":
                return queryset.filter(**trials_ending_within(7))
            case "past_due":
                return queryset.filter(subscription__state=SubscriptionState.PAST_DUE)
            case "nonprofit":
                return queryset.filter(
                    Q(billing_profile__discount_reason__icontains="nonprofit"),
                    billing_profile__discount_percent__gt=0,
                )
            case "legacy":
                return queryset.filter(subscription__plan__is_sold=False)
            case "lookalike":
                # Issue 11, item 4: mixed scripts or invisible characters at sign-up or invitation.
                return queryset.exclude(lookalike_flag="")
        return queryset


@admin.register(StaffAccount)
class StaffAccountAdmin(ObjectActionsMixin, admin.ModelAdmin):
    object_actions = ACCOUNT_ACTIONS
    list_display = [
        "name", "plan", "licenses", "used", "ratio", "compliance", "grace_ends",
        "trial_ends", "arr", "support_plan", "success_manager_email", "closing",
    ]
    list_filter = [StateFilter, "subscription__plan"]
    search_fields = ["name", "slug", "memberships__user__email"]
    show_full_result_count = False
    list_per_page = 50
    inlines = [SubscriptionInline, SupportPlanInline, MembersInline, AgentKeyInline]
    readonly_fields = ["name", "slug", "lookalike_flag", "summary", "license_ledger", "recent_audit"]
    # agent_key_limit is the one field edited here (staff.change_staffaccount), audited below.
    fields = ["name", "slug", "lookalike_flag", "summary", "agent_key_limit", "license_ledger", "recent_audit"]

    class Media:
        css = {"all": ["staff/admin.css"]}

    # Accounts are made by sign-up or `manage.py provision_account` and changed only through the
    # actions (services with audit rows); the admin neither adds nor deletes them.
    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return accounts_with_metrics(super().get_queryset(request))

    def save_model(self, request, obj, form, change):
        with transaction.atomic():
            before = Account.objects.select_for_update().values_list("agent_key_limit", flat=True).get(pk=obj.pk)
            Account.objects.filter(pk=obj.pk).update(agent_key_limit=obj.agent_key_limit)
            if before != obj.agent_key_limit:
                audit_record(
                    account=obj, actor=Actor.for_user(request.user), kind="account.agent_key_limit_changed",
                    summary=f"Agent key limit {before} -> {obj.agent_key_limit}",
                    before={"agent_key_limit": before}, after={"agent_key_limit": obj.agent_key_limit},
                )

    # --- columns -----------------------------------------------------------------------------
    @admin.display(description="closing", ordering="erase_after")
    def closing(self, obj):
        """Issue 15: an account an Admin deleted, in its cooling-off (the Admin can still cancel)."""
        if obj.erased_at:
            return f"erased {obj.erased_at:%Y-%m-%d}"
        if obj.closed_at:
            return f"closed {obj.closed_at:%Y-%m-%d}, erased on {obj.erase_after:%Y-%m-%d}"
        return "-"

    @admin.display(ordering="subscription__plan__sort_order")
    def plan(self, obj):
        sub = _related(obj, "subscription")
        if sub is None:
            return "-"
        return f"{sub.plan.name} (trial)" if sub.state == SubscriptionState.TRIALING else sub.plan.name

    @admin.display(ordering="subscription__licenses")
    def licenses(self, obj):
        sub = _related(obj, "subscription")
        return sub.licenses if sub else 0

    @admin.display(ordering="used_count")
    def used(self, obj):
        return obj.used_count

    @admin.display(description="used / licenses")
    def ratio(self, obj):
        licenses = self.licenses(obj)
        text = f"{obj.used_count} / {licenses}"
        if obj.used_count > licenses:
            return format_html('<span class="ratio-over">{}</span>', text)
        return text

    @admin.display(ordering="compliance_now", description="compliance")
    def compliance(self, obj):
        row = _related(obj, "licensing")
        if row is None:
            return "In good standing"
        state, _ = compliance_state_at(row)
        return ComplianceState(state).label

    @admin.display(ordering="licensing__grace_period_ends_at")
    def grace_ends(self, obj):
        state = _related(obj, "licensing")
        return when(state.grace_period_ends_at) if state and state.grace_period_ends_at else "-"

    @admin.display(ordering="subscription__trial_ends_at")
    def trial_ends(self, obj):
        sub = _related(obj, "subscription")
        return when(sub.trial_ends_at) if sub and sub.is_trial else "-"

    @admin.display(description="ARR")
    def arr(self, obj):
        cents = annual_recurring_revenue_cents(obj)
        return f"${cents / 100:,.2f}" if cents else "-"

    @admin.display(description="support plan")
    def support_plan(self, obj):
        return support_plan_label(obj)

    @admin.display(description="success manager")
    def success_manager_email(self, obj):
        return obj.success_manager or "-"

    # --- the account page -----------------------------------------------------------------------
    @admin.display(description="Summary")
    def summary(self, obj):
        obj = self.get_queryset(None).get(pk=obj.pk) if not hasattr(obj, "used_count") else obj
        sub = _related(obj, "subscription")
        state = _related(obj, "licensing")
        rows = [
            ("Plan", self.plan(obj)),
            ("Subscription", f"{sub.get_state_display()}, term {sub.term_start} to {sub.term_end or '-'}" if sub else "-"),
            ("Add-ons", ", ".join(a.addon.name for a in sub.addons.select_related("addon")) or "none" if sub else "-"),
            ("Used / licenses", self.ratio(obj)),
            ("Compliance", self.compliance(obj)),
            ("Grace period ends", self.grace_ends(obj)),
            ("Storage used", f"{(state.storage_bytes if state else 0) / 1024**2:,.1f} MB"),
            ("Data history", sub.plan.data_history_label if sub else "-"),
            ("Annual recurring revenue", self.arr(obj)),
            ("Support plan", self.support_plan(obj)),
            ("Customer success manager", self.success_manager_email(obj)),
        ]
        return format_html(
            "<table>{}</table>", format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", rows)
        )

    @admin.display(description="Recent audit rows")
    @admin.display(description="license ledger")
    def license_ledger(self, obj):
        """Every change of licenses and licenses at the next renewal, oldest first."""
        rows = LicenseLedger.objects.filter(subscription__account=obj).select_related("order")
        table = format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (when(r.created_at), r.get_event_display(), r.licenses,
                 "-" if r.licenses_at_next_renewal is None else r.licenses_at_next_renewal,
                 f"order {r.order_id}" if r.order_id else "", r.actor_label)
                for r in rows
            ),
        )
        return format_html(
            '<table id="license-ledger"><tr><th>when</th><th>event</th><th>licenses</th>'
            "<th>at next renewal</th><th>order</th><th>who</th></tr>{}</table>", table,
        )

    def recent_audit(self, obj):
        entries = AuditEntry.objects.filter(account=obj)[:20]
        url = reverse("admin:accounts_auditentry_changelist")
        table = format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((when(e.created_at), e.kind, e.actor_label, e.summary) for e in entries),
        )
        return format_html('<table>{}</table><a href="{}?q={}">All audit rows</a>', table, url, obj.slug)


@admin.register(DailyMetrics)
class DailyMetricsAdmin(admin.ModelAdmin):
    list_display = ["day", "arr_total", "accounts_by_state"]

    @admin.display(description="ARR")
    def arr_total(self, obj):
        return f"${obj.arr_cents / 100:,.2f}"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


