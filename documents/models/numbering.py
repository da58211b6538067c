"""文号: one sequence row per (机关代字, 年) locked while allocating, and a ledger of every number's fate."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class DocNumberSeries(models.Model):
    """文号序列: an agency's numbering for some 文种 (函 → 揭东府办函〔2026〕N号; a meeting body's 纪要 under its own
    标志). 文种 no series claims take the agency's 文件 series (``Agency.doc_code``, standard format). The ledger,
    the gap report and the race guarantees are those of DocNumberSequence: one row per (代字, 年) — the series
    only says which 代字 a document takes and how its number is printed (docs/numbering.md §8)."""

    agency = models.ForeignKey("oa.Agency", verbose_name="机关", on_delete=models.PROTECT, related_name="+")
    name = models.CharField("序列名称", max_length=60)
    code = models.CharField("机关代字", max_length=30, unique=True)
    number_format = models.CharField("文号格式", max_length=40, default="{代字}〔{年}〕{号}号")
    doc_types = models.JSONField("适用文种", default=list)  # DocType values
    issuer_mark = models.CharField("发文机关标志", max_length=200, blank=True)  # e.g. 区人民政府常务会议纪要
    is_active = models.BooleanField("启用", default=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "文号序列设置"
        ordering = ["agency", "code"]

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"


class DocNumberSequence(models.Model):
    agency = models.ForeignKey("oa.Agency", on_delete=models.PROTECT, related_name="+")
    code = models.CharField("机关代字", max_length=30)
    year = models.PositiveSmallIntegerField("年份")
    last = models.PositiveIntegerField("已用最大顺序号", default=0)

    class Meta:
        verbose_name = verbose_name_plural = "文号序列"
        constraints = [models.UniqueConstraint(fields=["code", "year"], name="docseq_unique_code_year")]

    def __str__(self) -> str:
        return f"{self.code}〔{self.year}〕"


class DocNumberEntry(models.Model):
    """台账: each number ever handed out or skipped. (code, year, seq) is unique."""

    class State(models.TextChoices):
        ASSIGNED = "assigned", "已使用"
        VOIDED = "voided", "作废"
        BLANK = "blank", "空号"
        BACKFILLED = "backfilled", "补号"

    sequence = models.ForeignKey(DocNumberSequence, on_delete=models.PROTECT, related_name="entries")
    seq = models.PositiveIntegerField("顺序号")
    number = models.CharField("发文字号", max_length=60)
    state = models.CharField("状态", max_length=12, choices=State.choices, default=State.ASSIGNED)
    document = models.ForeignKey(
        "OfficialDocument", null=True, blank=True, on_delete=models.PROTECT, related_name="number_entries"
    )
    reason = models.CharField("原因", max_length=300, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField("登记时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "文号台账"
        ordering = ["sequence", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["sequence", "seq"], name="docnumber_unique_seq"),
            # Idempotent per document: at most one live number per document and sequence.
            models.UniqueConstraint(
                fields=["sequence", "document"],
                condition=models.Q(state__in=["assigned", "backfilled"]),
                name="docnumber_one_live_per_document",
            ),
        ]

    def __str__(self) -> str:
        return self.number
