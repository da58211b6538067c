from django.contrib import admin

from oa.actions.announcements import do_withdraw_announcement
from oa.admin.base import ActionOnlyAdmin
from oa.http import client_ip
from oa.models import Announcement


@admin.register(Announcement)
class AnnouncementAdmin(ActionOnlyAdmin):
    """通知公告 are published on /announcements/new/ by an agency's 办公室/文书; the admin shows them and can
    withdraw (audited like the page's 撤回)."""

    list_display = ["title", "agency", "district_wide", "pinned", "published_by", "published_at", "expires_at",
                    "withdrawn_at"]
    list_filter = ["district_wide", "pinned", "agency"]
    search_fields = ["title", "body"]
    readonly_fields = [f.name for f in Announcement._meta.fields]
    actions = ["withdraw"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="撤回所选通知公告")
    def withdraw(self, request, queryset):
        for announcement in queryset.filter(withdrawn_at__isnull=True):
            do_withdraw_announcement(request.user, announcement, ip=client_ip(request))
