from django.contrib import admin

from oa.actions.tokens import do_revoke_token
from oa.admin.base import ActionOnlyAdmin
from oa.models import ApiToken, WorkItem


@admin.register(WorkItem)
class WorkItemAdmin(admin.ModelAdmin):
    """Mirror rows written by the actions: visible for support, never edited by hand."""

    list_display = ["id", "box", "kind", "title", "doc_number", "owner", "on_behalf_of", "urgency", "deadline", "state"]
    list_filter = ["box", "kind", "state", "urgency"]
    search_fields = ["title", "doc_number", "owner__name"]
    readonly_fields = [f.name for f in WorkItem._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(ActionOnlyAdmin):
    list_display = ["person", "name", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at"]
    search_fields = ["person__name", "name", "prefix"]
    readonly_fields = ["person", "name", "prefix", "key_hash", "created_at", "last_used_at", "expires_at", "revoked_at"]
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        return False  # tokens are issued to a device by its owner, through the API

    @admin.action(description="吊销所选令牌")
    def revoke(self, request, queryset):
        for token in queryset.filter(revoked_at__isnull=True):
            do_revoke_token(actor=request.user, token=token)
