"""考核评价 weights (docs/assessment.md): one row per 督查室 agency and score source; edited by the 督查员 only
through ``check_save_weights`` (the weights of the registered sources sum to 100)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class AssessmentWeight(models.Model):
    agency = models.ForeignKey("oa.Agency", verbose_name="考核机关（督查室所在）", on_delete=models.PROTECT,
                               related_name="+")
    source_key = models.CharField("指标", max_length=40)
    weight = models.PositiveSmallIntegerField("权重（%）")
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="设置人", on_delete=models.PROTECT,
                                   related_name="+")
    updated_at = models.DateTimeField("设置时间", auto_now=True)

    class Meta:
        app_label = "supervision"
        verbose_name = verbose_name_plural = "考核权重"
        ordering = ["agency", "id"]
        constraints = [
            models.UniqueConstraint(fields=["agency", "source_key"], name="supervision_weight_once"),
            models.CheckConstraint(condition=models.Q(weight__lte=100), name="supervision_weight_max_100"),
        ]

    def __str__(self) -> str:
        return f"{self.source_key} {self.weight}%"
