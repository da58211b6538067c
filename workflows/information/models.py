"""信息报送 (政务信息, docs/information.md): units' pieces, their review in the unit and at the 区府办 信息科, the
desk's edited text and grade, the scoring rules, and who holds which 信息 duty.

Business data lives here; the viewflow Process (InformationFlow) keeps only flow state (process.data:
submission_id, author_id, reviewer_id, desk_id, decision).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class Duty(models.TextChoices):
    REPORTER = "reporter", "信息员"
    REVIEWER = "reviewer", "信息审核人"
    DESK = "desk", "信息科编辑"
    DESK_HEAD = "desk_head", "信息科负责人"
    STATISTICS = "statistics", "统计查看"


# Duties of a unit (held for the unit reporting); the others are held at the 区府办 (desk, desk_head) or at the
# 区政府/区府办 (statistics).
UNIT_DUTIES = (Duty.REPORTER, Duty.REVIEWER)


class InformationDuty(models.Model):
    """Who does 信息报送 for a unit (信息员 drafts and submits, 信息审核人 — the unit head — reviews), who works
    the 区府办 信息科 desk (duty ``desk``, held for the 区府办), who heads it (``desk_head``: keeps the desk's roster),
    and who reads every unit's statistics (``statistics``, 统计查看). Kept here, not as directory roles: only this app
    asks. Managed on /information/duties/ (docs/information.md 职责管理)."""

    person = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="人员", on_delete=models.CASCADE,
                               related_name="information_duties")
    agency = models.ForeignKey("oa.Agency", verbose_name="单位", on_delete=models.PROTECT, related_name="+")
    duty = models.CharField("职责", max_length=10, choices=Duty.choices)

    class Meta:
        verbose_name = verbose_name_plural = "信息报送职责"
        ordering = ["agency__sort_order", "duty", "person_id"]
        constraints = [models.UniqueConstraint(fields=["person", "agency", "duty"], name="information_duty_unique")]

    def __str__(self) -> str:
        return f"{self.agency.short_name} {self.get_duty_display()} {self.person.name}"


class Grade(models.TextChoices):
    DISTRICT = "district", "区采用"
    CITY = "city", "市采用"
    PROVINCE = "province", "省采用"


GRADE_ORDER = {Grade.DISTRICT: 1, Grade.CITY: 2, Grade.PROVINCE: 3}


class Submission(models.Model):
    class Category(models.TextChoices):
        NEWS = "news", "工作动态"
        PRACTICE = "practice", "经验做法"
        PROBLEM = "problem", "问题建议"
        OPINION = "opinion", "社情民意"
        URGENT = "urgent", "紧急信息"

    class Status(models.TextChoices):
        DRAFT = "draft", "草稿"
        UNIT_REVIEW = "unit_review", "单位审核中"
        UNIT_RETURNED = "unit_returned", "单位退回修改"
        DESK_REVIEW = "desk_review", "信息科审核中"
        DESK_RETURNED = "desk_returned", "信息科退回修改"
        ADOPTED = "adopted", "已采用"

    agency = models.ForeignKey("oa.Agency", verbose_name="报送单位", on_delete=models.PROTECT, related_name="+")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="信息员", on_delete=models.PROTECT,
                               related_name="information_submissions")
    title = models.CharField("标题", max_length=100)
    body = models.TextField("正文")  # the unit's text (what the desk received)
    category = models.CharField("类别", max_length=10, choices=Category.choices)
    status = models.CharField("状态", max_length=20, choices=Status.choices, default=Status.DRAFT)
    process_id = models.PositiveIntegerField("流程", null=True, blank=True)
    rounds = models.PositiveIntegerField("报送轮次", default=0)  # 1 on the first submission to the desk
    submitted_at = models.DateTimeField("首次报送信息科时间", null=True, blank=True)  # the statistics' date
    last_submitted_at = models.DateTimeField("最近报送时间", null=True, blank=True)
    return_reason = models.CharField("退回理由", max_length=500, blank=True)
    edited_title = models.CharField("采用标题", max_length=100, blank=True)  # the desk's edit
    edited_body = models.TextField("采用正文", blank=True)
    grade = models.CharField("采用级别", max_length=10, choices=Grade.choices, blank=True)
    adopted_at = models.DateTimeField("采用时间", null=True, blank=True)
    adopted_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="采用人", null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    grade_changed_at = models.DateTimeField("级别调整时间", null=True, blank=True)
    instructed = models.BooleanField("领导批示", default=False)
    instruction_note = models.CharField("批示情况", max_length=500, blank=True)
    created_at = models.DateTimeField("创建时间")
    updated_at = models.DateTimeField("更新时间")

    class Meta:
        verbose_name = verbose_name_plural = "政务信息"
        ordering = ["-updated_at", "-id"]
        indexes = [models.Index(fields=["agency", "submitted_at"])]
        constraints = [
            models.CheckConstraint(condition=models.Q(status="adopted", adopted_at__isnull=False)
                                   | ~models.Q(status="adopted"), name="information_adopted_has_date"),
            models.CheckConstraint(condition=models.Q(grade__in=["", "district", "city", "province"]),
                                   name="information_grade_known"),
        ]

    def __str__(self) -> str:
        return self.title


class SubmissionEvent(models.Model):
    """One line of a piece's timeline."""

    class Kind(models.TextChoices):
        CREATED = "created", "起草"
        SUBMITTED = "submitted", "提交单位审核"
        UNIT_APPROVED = "unit_approved", "单位审核通过，报送信息科"
        UNIT_RETURNED = "unit_returned", "单位退回"
        DESK_RETURNED = "desk_returned", "信息科退回"
        RESUBMITTED = "resubmitted", "修改后重新提交"
        ADOPTED = "adopted", "采用"
        REGRADED = "regraded", "调整采用级别"
        INSTRUCTED = "instructed", "领导批示"

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+")
    note = models.CharField(max_length=500, blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.at:%Y-%m-%d %H:%M}"


def attachment_key(instance, filename: str) -> str:
    return f"information/attachments/{uuid.uuid4().hex}"


class SubmissionAttachment(models.Model):
    """附件 of a piece, checked by content (documents.uploads) and stored under a random key."""

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=attachment_key, max_length=200)
    filename = models.CharField("文件名", max_length=200)
    kind = models.CharField("类型", max_length=10)
    size = models.PositiveIntegerField("大小")
    sha256 = models.CharField(max_length=64)
    uploaded_at = models.DateTimeField()

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.filename


class ScoringRule(models.Model):
    """计分规则: points per grade and per 领导批示, in force from a date; an adoption scores by the rule in force on
    the day it was adopted (a later rule does not rescore the past)."""

    effective_from = models.DateField("生效日期", unique=True)
    district_points = models.DecimalField("区采用分值", max_digits=5, decimal_places=1)
    city_points = models.DecimalField("市采用分值", max_digits=5, decimal_places=1)
    province_points = models.DecimalField("省采用分值", max_digits=5, decimal_places=1)
    instruction_points = models.DecimalField("领导批示加分", max_digits=5, decimal_places=1)
    note = models.CharField("说明", max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = verbose_name_plural = "信息计分规则"
        ordering = ["-effective_from"]

    def __str__(self) -> str:
        return f"计分规则（{self.effective_from} 起）"

    def points_for(self, grade: str):
        return {"district": self.district_points, "city": self.city_points,
                "province": self.province_points}.get(grade, 0)
