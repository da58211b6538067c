from django.contrib import admin

from .models import CallbackMessage


@admin.register(CallbackMessage)
class CallbackMessageAdmin(admin.ModelAdmin):
    list_display = ["id", "from_user", "person", "msg_type", "event", "created_at"]
    list_filter = ["msg_type", "event"]
    search_fields = ["from_user", "person__name"]
    readonly_fields = [f.name for f in CallbackMessage._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
