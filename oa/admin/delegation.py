from django.contrib import admin

from oa.models import Delegation


@admin.register(Delegation)
class DelegationAdmin(admin.ModelAdmin):
    list_display = ["principal", "delegate", "start_date", "end_date", "scope_label", "revoked_at"]
    list_filter = ["start_date"]
    search_fields = ["principal__name", "delegate__name"]
    autocomplete_fields = ["principal", "delegate"]
    readonly_fields = ["created_by", "created_at", "revoked_at", "revoked_by"]
