"""通知公告: short notices an office publishes on the workbench (docs/workbench.md "通知公告").

Plain text only (the body is escaped wherever it is shown, line breaks kept); no attachments, no HTML.
An agency's 办公室/文书 publishes for its own agency; 区府办's (Agency.Kind.OFFICE) may publish to the whole district.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Announcement(models.Model):
    TITLE_MAX = 100
    BODY_MAX = 5000

    title = models.CharField("标题", max_length=TITLE_MAX)
    body = models.TextField("正文")
    agency = models.ForeignKey(
        "oa.Agency", verbose_name="发布机关", on_delete=models.PROTECT, related_name="announcements"
    )
    district_wide = models.BooleanField("全区可见", default=False)
    pinned = models.BooleanField("置顶", default=False)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="发布人", on_delete=models.PROTECT, related_name="+"
    )
    published_at = models.DateTimeField("发布时间")
    expires_at = models.DateTimeField("有效期至", null=True, blank=True)
    withdrawn_at = models.DateTimeField("撤回时间", null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="撤回人", null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = verbose_name_plural = "通知公告"
        ordering = ["-pinned", "-published_at", "-id"]
        indexes = [
            models.Index(fields=["agency", "-published_at"], name="announcement_agency_idx"),
            models.Index(fields=["district_wide", "-published_at"], name="announcement_district_idx"),
        ]

    def __str__(self) -> str:
        return self.title
