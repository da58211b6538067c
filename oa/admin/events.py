from django.contrib import admin

from oa.models import Notification, NotificationDelivery, OutboxMessage


class NotificationDeliveryInline(admin.TabularInline):
    model = NotificationDelivery
    extra = 0
    can_delete = False
    readonly_fields = ["channel", "state", "attempts", "last_error", "external_id", "updated_at"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["id", "recipient", "event_type", "title", "created_at", "read_at"]
    list_filter = ["event_type"]
    search_fields = ["recipient__name", "title"]
    readonly_fields = ["recipient", "event_type", "title", "summary", "link", "payload", "work_item", "created_at", "read_at"]
    inlines = [NotificationDeliveryInline]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(NotificationDelivery)
class NotificationDeliveryAdmin(admin.ModelAdmin):
    list_display = ["notification", "channel", "state", "attempts", "last_error", "updated_at"]
    list_filter = ["channel", "state"]
    readonly_fields = ["notification", "channel", "state", "attempts", "last_error", "external_id", "updated_at"]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = ["id", "channel", "kind", "state", "attempts", "next_attempt_at", "last_error", "sent_at"]
    list_filter = ["channel", "kind", "state"]
    readonly_fields = [f.name for f in OutboxMessage._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False
