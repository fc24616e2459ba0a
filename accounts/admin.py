from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from accounts.admin_actions import ReadOnlyAdminMixin
from accounts.models import Account, AuditEntry, Invitation, Membership, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "is_staff", "is_active", "date_joined"]
    search_fields = ["email", "full_name"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Person", {"fields": ("full_name",)}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug", "memberships__user__email"]
    inlines = [MembershipInline]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "account", "role", "created_at", "expires_at", "accepted_at"]
    list_select_related = ["account"]
    exclude = ["token_hash"]
    readonly_fields = ["account", "email", "role", "invited_by", "created_at", "expires_at", "accepted_at"]


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The audit log: searchable, never editable or deletable by anyone."""

    list_display = ["created_at", "account", "kind", "actor_label", "summary"]
    list_filter = ["kind", "actor_kind"]
    search_fields = ["account__name", "account__slug", "actor_label", "kind", "summary"]
    list_select_related = ["account"]
    show_full_result_count = False

