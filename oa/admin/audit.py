from django.contrib import admin

from oa.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read-only: the log is append-only, and the auditor page (/audit/) is the place to work with it."""

    list_display = ["id", "at", "actor_name", "on_behalf_of_name", "action", "object_repr", "ip"]
    list_filter = ["action"]
    search_fields = ["actor_name", "object_repr", "action"]
    date_hierarchy = "at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
