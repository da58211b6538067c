from django.contrib import admin, messages

from oa.admin.base import ActionOnlyAdmin
from oa.models import Notification, NotificationDelivery, OutboxMessage


def _retry_outbox(modeladmin, request, message_ids: list[int]) -> None:
    from oa.actions.auth import client_ip
    from oa.actions.outbox import do_retry_outbox

    count = do_retry_outbox(request.user, message_ids, ip=client_ip(request))
    modeladmin.message_user(request, f"已安排 {count} 条消息立即重试。", messages.SUCCESS if count else messages.WARNING)


class PlatformDeliveryFilter(admin.SimpleListFilter):
    """Per-channel delivery state of a notification, e.g. everything whose platform card failed."""

    title = "移动平台送达状态"
    parameter_name = "platform_state"

    def lookups(self, request, model_admin):
        return [(value, label) for value, label in NotificationDelivery.State.choices
                if value in {"queued", "sent", "failed", "retired"}] + [("none", "未推送")]

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        if value == "none":
            return queryset.exclude(deliveries__channel=NotificationDelivery.Channel.PLATFORM)
        return queryset.filter(deliveries__channel=NotificationDelivery.Channel.PLATFORM, deliveries__state=value)


class NotificationDeliveryInline(admin.TabularInline):
    model = NotificationDelivery
    extra = 0
    can_delete = False
    readonly_fields = ["channel", "state", "attempts", "last_error", "external_id", "updated_at"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Notification)
class NotificationAdmin(ActionOnlyAdmin):
    list_display = ["id", "recipient", "event_type", "title", "delivery_states", "created_at", "read_at"]
    list_filter = ["event_type", PlatformDeliveryFilter]
    search_fields = ["recipient__name", "title"]
    readonly_fields = ["recipient", "event_type", "title", "summary", "link", "payload", "work_item", "created_at", "read_at"]
    inlines = [NotificationDeliveryInline]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("recipient").prefetch_related("deliveries")

    @admin.display(description="各渠道状态")
    def delivery_states(self, obj: Notification) -> str:
        return "；".join(f"{d.get_channel_display()}：{d.get_state_display()}" for d in obj.deliveries.all())

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(NotificationDelivery)
class NotificationDeliveryAdmin(ActionOnlyAdmin):
    list_display = ["notification", "channel", "state", "attempts", "last_error", "external_id", "updated_at"]
    list_filter = ["channel", "state"]
    readonly_fields = ["notification", "channel", "state", "attempts", "last_error", "external_id", "updated_at"]
    actions = ["retry_now"]

    @admin.action(description="立即重试（重新发送该通知的平台消息）", permissions=["change"])
    def retry_now(self, request, queryset) -> None:
        ids = list(
            OutboxMessage.objects.filter(notification__in=queryset.values("notification")).values_list("pk", flat=True)
        )
        _retry_outbox(self, request, ids)

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ActionOnlyAdmin):
    list_display = ["id", "channel", "kind", "state", "attempts", "next_attempt_at", "last_error", "sent_at"]
    list_filter = ["channel", "kind", "state"]
    readonly_fields = [f.name for f in OutboxMessage._meta.fields]
    actions = ["retry_now"]

    @admin.action(description="立即重试", permissions=["change"])
    def retry_now(self, request, queryset) -> None:
        _retry_outbox(self, request, list(queryset.values_list("pk", flat=True)))

    def has_add_permission(self, request) -> bool:
        return False
