from django.contrib import admin

from licensing.models import AccountLicensing, AgentKey, TrackedUser


@admin.register(AccountLicensing)
class AccountLicensingAdmin(admin.ModelAdmin):
    """Read-only: grace extensions, re-evaluation and key revocation are confirmed actions on the
    customer account's page (staff/actions.py)."""

    list_display = ["account", "used", "state", "blocked_reason", "grace_period_ends_at", "storage_bytes"]
    list_filter = ["state", "blocked_reason"]
    list_select_related = ["account"]
    search_fields = ["account__name", "account__slug"]
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        # State changes only through the services, which audit them.
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(AgentKey)
class AgentKeyAdmin(admin.ModelAdmin):
    list_display = ["prefix", "account", "name", "created_at", "last_used_at", "revoked_at"]
    list_select_related = ["account"]
    search_fields = ["prefix", "account__name", "account__slug"]
    readonly_fields = ["account", "name", "prefix", "key_hash", "created_by", "created_at", "last_used_at", "revoked_at"]

    def has_add_permission(self, request):
        return False  # keys are issued with `manage.py issue_agent_key` (shown once)

    def has_change_permission(self, request, obj=None):
        return False


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
