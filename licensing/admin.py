from django.contrib import admin, messages

from accounts.actors import Actor
from accounts.services import ServiceError
from licensing.compliance import grace_period_extend
from licensing.models import AccountLicensing, AgentKey, TrackedUser
from licensing.services import agent_key_revoke, licensing_recount


@admin.register(AccountLicensing)
class AccountLicensingAdmin(admin.ModelAdmin):
    list_display = ["account", "used", "state", "blocked_reason", "grace_period_ends_at", "storage_bytes"]
    list_filter = ["state", "blocked_reason"]
    list_select_related = ["account"]
    search_fields = ["account__name", "account__slug"]
    show_full_result_count = False
    actions = ["extend_grace_7_days", "recount_used"]

    def get_readonly_fields(self, request, obj=None):
        # State changes only through the services, which audit them.
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Extend the grace period by 7 days")
    def extend_grace_7_days(self, request, queryset):
        for row in queryset.select_related("account"):
            try:
                grace_period_extend(account=row.account, days=7, actor=Actor.for_user(request.user),
                                    reason="staff admin action")
            except ServiceError as error:
                self.message_user(request, f"{row.account}: {error}", messages.ERROR)
            else:
                self.message_user(request, f"{row.account}: grace period extended by 7 days.")

    @admin.action(description="Recount users used")
    def recount_used(self, request, queryset):
        for row in queryset.select_related("account"):
            used = licensing_recount(account=row.account, actor=Actor.for_user(request.user))
            self.message_user(request, f"{row.account}: {used} users used.")


@admin.register(AgentKey)
class AgentKeyAdmin(admin.ModelAdmin):
    list_display = ["prefix", "account", "name", "created_at", "last_used_at", "revoked_at"]
    list_select_related = ["account"]
    search_fields = ["prefix", "account__name", "account__slug"]
    readonly_fields = ["account", "name", "prefix", "key_hash", "created_by", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False  # keys are issued with `manage.py issue_agent_key` (shown once)

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request, queryset):
        for key in queryset.select_related("account"):
            agent_key_revoke(key=key, actor=Actor.for_user(request.user))
        self.message_user(request, "Keys revoked.")


@admin.register(TrackedUser)
class TrackedUserAdmin(admin.ModelAdmin):
    list_display = ["__str__", "account", "identity_kind", "state", "first_seen_at", "last_log_record_at"]
    list_filter = ["state", "identity_kind"]
    list_select_related = ["account"]
    search_fields = ["username", "alias", "domain", "account__slug"]
    show_full_result_count = False
    raw_id_fields = ["account", "merged_into"]

    def get_readonly_fields(self, request, obj=None):
        # Actions that change the license count go through the customer's Users page services.
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False
