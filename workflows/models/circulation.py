"""传阅 read tracking: one row per 收文 and reader, written by workflows.actions.circulation only.

The times are the record (条例 第二十四条(五): 随时掌握公文去向, 不得漏传、误传、延误); a reader cannot switch them off:
opening the 收文 page stamps first/last opened, and 阅知 is a separate, explicit act with an optional comment.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

__all__ = ["CirculationRead"]


class CirculationRead(models.Model):
    incoming = models.ForeignKey("documents.IncomingDocument", verbose_name="收文", on_delete=models.PROTECT,
                                 related_name="circulation")
    reader = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="传阅对象", on_delete=models.PROTECT,
                               related_name="+")
    sent_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="送阅人", on_delete=models.PROTECT,
                                related_name="+")
    note = models.CharField("传阅说明", max_length=500, blank=True)
    delivered_at = models.DateTimeField("送达时间")
    first_opened_at = models.DateTimeField("首次打开", null=True, blank=True)
    last_opened_at = models.DateTimeField("最近打开", null=True, blank=True)
    open_count = models.PositiveIntegerField("打开次数", default=0)
    acknowledged_at = models.DateTimeField("阅知时间", null=True, blank=True)
    comment = models.CharField("阅知意见", max_length=1000, blank=True)
    urge_count = models.PositiveIntegerField("催阅次数", default=0)
    last_urged_at = models.DateTimeField("最近催阅", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "传阅记录"
        ordering = ["delivered_at", "id"]
        constraints = [models.UniqueConstraint(fields=["incoming", "reader"], name="circulation_one_per_reader")]
        indexes = [models.Index(fields=["reader", "acknowledged_at"], name="circulation_reader_idx")]

    def __str__(self) -> str:
        return f"{self.incoming_id} → {self.reader_id}"
