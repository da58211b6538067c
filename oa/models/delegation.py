"""委托 (delegation while away)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

# Kinds of work a delegation may be limited to (委托范围); later flows register under these keys.
WORK_KIND_LABELS = {"issuance": "发文", "receipt": "收文", "circulation": "传阅", "seal": "用印", "service": "办事"}


class Delegation(models.Model):
    """A delegates (principal) to B (delegate) for a date range; scope all work or named flow types."""

    principal = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="委托人", on_delete=models.PROTECT, related_name="delegations_given"
    )
    delegate = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="受托人", on_delete=models.PROTECT, related_name="delegations_taken"
    )
    start_date = models.DateField("开始日期")
    end_date = models.DateField("结束日期")
    # Empty list = all work; otherwise work kinds such as "issuance" or dotted flow class names.
    flow_types = models.JSONField("委托范围", default=list, blank=True)
    reason = models.CharField("委托事由", max_length=200)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="设置人", on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField("设置时间", auto_now_add=True)
    revoked_at = models.DateTimeField("撤销时间", null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="撤销人", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = verbose_name_plural = "委托"
        ordering = ["-start_date", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(end_date__gte=F("start_date")), name="delegation_dates_ordered"),
            models.CheckConstraint(condition=~Q(principal=F("delegate")), name="delegation_not_self"),
        ]
        indexes = [models.Index(fields=["principal", "start_date", "end_date"])]

    def __str__(self) -> str:
        return f"{self.principal} 委托 {self.delegate}（{self.start_date}至{self.end_date}）"

    @property
    def scope_label(self) -> str:
        if not self.flow_types:
            return "全部工作"
        return "、".join(WORK_KIND_LABELS.get(kind, kind) for kind in self.flow_types)
