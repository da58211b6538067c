"""二次验证 devices in the admin: who has one and since when, never its secret (docs/security.md).

django_otp's stock TOTPDevice admin shows the `key` on the add and change pages and serves the device's QR code:
whoever reads it can produce that person's codes, so a 2FA-confirmed 签发 would no longer prove who signed. It is
replaced by a view-only list whose only write is 重置二次验证 (oa.actions.auth.do_reset_two_factor, audited);
the owner then enrols a new device and is the only one who ever sees its secret.
"""

from django.contrib import admin, messages
from django_otp.plugins.otp_totp.models import TOTPDevice

from oa.actions.auth import do_reset_two_factor
from oa.admin.base import ActionOnlyAdmin

VIA = "admin"

if admin.site.is_registered(TOTPDevice):
    admin.site.unregister(TOTPDevice)


def reset_two_factor(modeladmin: admin.ModelAdmin, request, people) -> None:
    for person in people:
        removed = do_reset_two_factor(actor=request.user, person=person, via=VIA)
        modeladmin.message_user(request, f"{person}：已重置二次验证（删除 {removed} 个设备），下次登录时重新绑定。",
                                messages.SUCCESS)


@admin.register(TOTPDevice)
class TwoFactorDeviceAdmin(ActionOnlyAdmin):
    list_display = ["owner", "device_name", "is_confirmed", "created", "last_used"]
    list_filter = ["confirmed"]
    search_fields = ["user__username", "user__name"]
    # Listed explicitly: a view-only page shows every model field otherwise, `key` included.
    fields = readonly_fields = ["owner", "device_name", "is_confirmed", "created", "last_used"]
    actions = ["reset"]

    @admin.display(description="人员", ordering="user__name")
    def owner(self, device: TOTPDevice):
        return device.user

    @admin.display(description="设备名称")
    def device_name(self, device: TOTPDevice) -> str:
        return device.name

    @admin.display(description="已绑定", boolean=True)
    def is_confirmed(self, device: TOTPDevice) -> bool:
        return device.confirmed

    @admin.display(description="绑定时间", ordering="created_at")
    def created(self, device: TOTPDevice):
        return device.created_at

    @admin.display(description="最近使用", ordering="last_used_at")
    def last_used(self, device: TOTPDevice):
        return device.last_used_at

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user")

    def has_add_permission(self, request) -> bool:
        return False  # a device whose secret an administrator chose would sign for its owner

    @admin.action(description="重置二次验证（删除所选设备所属人员的全部设备）")
    def reset(self, request, queryset) -> None:
        owners = {device.user_id: device.user for device in queryset}
        reset_two_factor(self, request, owners.values())
