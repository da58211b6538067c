"""报表“一张表” (docs/datarequests.md): a field catalogue, requests (forms) built from it, the 报表清单 registration,
rounds (one per period of the cycle) and one submission per target unit and round. Every collected number is kept
per (catalogue field, unit, period) in Answer, so the next request asking the same number prefills it."""

from __future__ import annotations

from django.conf import settings
from django.db import models


def unit_key(agency_id: int, department_id: int | None) -> str:
    """One string per unit (an agency, or one department of it): unique constraints without NULL columns."""
    return f"{agency_id}.{department_id}" if department_id else str(agency_id)


class FieldKind(models.TextChoices):
    INTEGER = "integer", "整数"
    DECIMAL = "decimal", "小数"
    TEXT = "text", "文本"
    DATE = "date", "日期"
    CHOICE = "choice", "单选"


NUMERIC_KINDS = (FieldKind.INTEGER, FieldKind.DECIMAL)


class CatalogField(models.Model):
    """指标目录: one row per meaning (name + 计量单位). Every request field points at one; a field that reuses an
    existing row asks the same number, and what a unit answered for it is prefilled next time."""

    name = models.CharField("指标名称", max_length=60)
    synonyms = models.CharField("同义词（逗号分隔）", max_length=300, blank=True)
    unit = models.CharField("计量单位", max_length=20, blank=True)
    kind = models.CharField("类型", max_length=10, choices=FieldKind.choices)
    choices = models.JSONField("选项", default=list, blank=True)
    description = models.CharField("口径说明", max_length=300, blank=True)
    created_by = models.ForeignKey("oa.Agency", verbose_name="首次使用机关", null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField("登记时间", auto_now_add=True)
    # 停用: hidden from reuse search and from new fields; requests and answers already using it keep it.
    retired_at = models.DateTimeField("停用时间", null=True, blank=True)
    # 合并: a duplicate merged into another row is retired and points here (its fields and answers moved there).
    merged_into = models.ForeignKey("self", verbose_name="已并入", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="merged_from")

    class Meta:
        verbose_name = verbose_name_plural = "指标目录"
        ordering = ["name", "unit", "id"]
        constraints = [models.UniqueConstraint(fields=["name", "unit"], name="datarequests_catalog_name_unit")]

    def __str__(self) -> str:
        return f"{self.name}（{self.unit}）" if self.unit else self.name

    @property
    def retired(self) -> bool:
        return self.retired_at is not None


class DataRequest(models.Model):
    class Cycle(models.TextChoices):
        ONCE = "once", "一次性"
        MONTHLY = "monthly", "每月"
        QUARTERLY = "quarterly", "每季度"

    class Status(models.TextChoices):
        DRAFT = "draft", "草稿"
        ACTIVE = "active", "报送中"
        CLOSED = "closed", "已停止"

    class Listing(models.TextChoices):
        NONE = "none", "未申请列入清单"
        PENDING = "pending", "待区府办审核"
        LISTED = "listed", "已列入清单"
        REFUSED = "refused", "未列入清单"

    title = models.CharField("报表名称", max_length=120)
    description = models.TextField("填报说明", blank=True)
    agency = models.ForeignKey("oa.Agency", verbose_name="发起机关", on_delete=models.PROTECT, related_name="+")
    department = models.ForeignKey("oa.Department", verbose_name="发起科室", null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="发起人", on_delete=models.PROTECT,
                              related_name="+")
    cycle = models.CharField("报送周期", max_length=10, choices=Cycle.choices, default=Cycle.ONCE)
    period = models.CharField("统计期（一次性报表）", max_length=10, blank=True)  # 2026 / 2026-09 / 2026-Q3
    deadline_days = models.PositiveSmallIntegerField("填报时限（工作日）", default=5)
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.DRAFT)
    listing = models.CharField("报表清单", max_length=10, choices=Listing.choices, default=Listing.NONE)
    listing_note = models.CharField("清单审核意见", max_length=300, blank=True)
    listing_basis = models.CharField("列入清单依据", max_length=300, blank=True)
    listed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="清单审核人", null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="+")
    listed_at = models.DateTimeField("清单审核时间", null=True, blank=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    sent_at = models.DateTimeField("下发时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "报表"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "cycle"], name="datarequests_status_idx")]

    def __str__(self) -> str:
        return self.title


class RequestField(models.Model):
    """One field of a request's form; its meaning (name, unit, type) is its catalogue row's."""

    request = models.ForeignKey(DataRequest, on_delete=models.CASCADE, related_name="fields")
    catalog = models.ForeignKey(CatalogField, verbose_name="指标", on_delete=models.PROTECT, related_name="uses")
    code = models.CharField("代码", max_length=30)  # an identifier, used by formulas and the Excel template
    label = models.CharField("指标名称", max_length=60)
    kind = models.CharField("类型", max_length=10, choices=FieldKind.choices)
    unit = models.CharField("计量单位", max_length=20, blank=True)
    required = models.BooleanField("必填", default=True)
    min_value = models.DecimalField("最小值", max_digits=20, decimal_places=4, null=True, blank=True)
    max_value = models.DecimalField("最大值", max_digits=20, decimal_places=4, null=True, blank=True)
    choices = models.JSONField("选项", default=list, blank=True)
    formula = models.CharField("计算公式", max_length=300, blank=True)
    position = models.PositiveSmallIntegerField("顺序", default=0)

    class Meta:
        verbose_name = verbose_name_plural = "报表字段"
        ordering = ["request", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["request", "code"], name="datarequests_field_code"),
            models.UniqueConstraint(fields=["request", "catalog"], name="datarequests_field_catalog_once"),
        ]

    def __str__(self) -> str:
        return f"{self.label}（{self.code}）"

    @property
    def is_numeric(self) -> bool:
        return self.kind in NUMERIC_KINDS

    @property
    def computed(self) -> bool:
        return bool(self.formula)


class Target(models.Model):
    """A unit the request goes to: a whole agency (a 镇街, a 局) or one department of it."""

    request = models.ForeignKey(DataRequest, on_delete=models.CASCADE, related_name="targets")
    agency = models.ForeignKey("oa.Agency", verbose_name="填报单位", on_delete=models.PROTECT, related_name="+")
    department = models.ForeignKey("oa.Department", verbose_name="填报科室", null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    unit_key = models.CharField("单位键", max_length=30)  # unit_key(agency, department): "12" or "12.34"

    class Meta:
        verbose_name = verbose_name_plural = "填报单位"
        ordering = ["agency__sort_order", "agency_id", "department_id"]
        constraints = [models.UniqueConstraint(fields=["request", "unit_key"], name="datarequests_target_once")]

    def __str__(self) -> str:
        return f"{self.agency.short_name}·{self.department.name}" if self.department_id else self.agency.short_name


class Round(models.Model):
    """One period's collection (期次): sent on a day, due a number of working days later, reminded once."""

    request = models.ForeignKey(DataRequest, on_delete=models.CASCADE, related_name="rounds")
    period = models.CharField("统计期", max_length=10)
    sent_on = models.DateField("下发日期")
    deadline = models.DateField("截止日期")
    remind_on = models.DateField("催报日期")
    reminded_at = models.DateTimeField("已催报", null=True, blank=True)
    reminded_count = models.PositiveIntegerField("催报单位数", default=0)

    class Meta:
        verbose_name = verbose_name_plural = "报送期次"
        ordering = ["request", "-sent_on", "-id"]
        constraints = [models.UniqueConstraint(fields=["request", "period"], name="datarequests_round_period")]
        indexes = [models.Index(fields=["remind_on"], name="datarequests_round_remind_idx",
                                condition=models.Q(reminded_at__isnull=True))]

    def __str__(self) -> str:
        return f"{self.request.title} {self.period}"


class Submission(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "待填报"
        DRAFT = "draft", "已暂存"
        SUBMITTED = "submitted", "已报送"
        RETURNED = "returned", "被退回"

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="submissions")
    target = models.ForeignKey(Target, on_delete=models.PROTECT, related_name="submissions")
    agency = models.ForeignKey("oa.Agency", verbose_name="填报单位", on_delete=models.PROTECT, related_name="+")
    department = models.ForeignKey("oa.Department", verbose_name="填报科室", null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.PENDING)
    values = models.JSONField("填报值", default=dict, blank=True)  # code → canonical string ("" = empty)
    prefilled = models.JSONField("预填字段", default=dict, blank=True)  # code → where the value came from
    saved_at = models.DateTimeField("暂存时间", null=True, blank=True)
    submitted_at = models.DateTimeField("报送时间", null=True, blank=True)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="报送人", null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+")
    late = models.BooleanField("逾期报送", default=False)
    return_reason = models.CharField("退回理由", max_length=500, blank=True)
    returned_at = models.DateTimeField("退回时间", null=True, blank=True)
    return_count = models.PositiveSmallIntegerField("退回次数", default=0)

    class Meta:
        verbose_name = verbose_name_plural = "填报"
        ordering = ["round", "target"]
        constraints = [models.UniqueConstraint(fields=["round", "target"], name="datarequests_submission_once")]
        indexes = [models.Index(fields=["agency", "status"], name="datarequests_sub_agency_idx")]

    def __str__(self) -> str:
        return f"{self.round} · {self.target}"


class Answer(models.Model):
    """The latest submitted value of a catalogue field for a unit and a period, whichever request collected it."""

    catalog = models.ForeignKey(CatalogField, on_delete=models.CASCADE, related_name="answers")
    agency = models.ForeignKey("oa.Agency", on_delete=models.PROTECT, related_name="+")
    department = models.ForeignKey("oa.Department", null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    unit_key = models.CharField("单位键", max_length=30)
    period = models.CharField("统计期", max_length=10)
    value = models.CharField("值", max_length=500)
    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="+")
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "已报数据"
        constraints = [models.UniqueConstraint(fields=["catalog", "unit_key", "period"],
                                               name="datarequests_answer_once")]

    def __str__(self) -> str:
        return f"{self.catalog} {self.period}={self.value}"
