from django.contrib import admin

from .models import SsoIdentity


@admin.register(SsoIdentity)
class SsoIdentityAdmin(admin.ModelAdmin):
    """Read-only: links are made and removed by the 系统管理员 at /manage/sso/ or by `manage.py sso_link` (audited as
    sso.identity.*)."""

    list_display = ["provider", "subject", "person", "linked_at", "last_login_at"]
    list_filter = ["provider"]
    search_fields = ["subject", "person__username", "person__name"]
    readonly_fields = [f.name for f in SsoIdentity._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
