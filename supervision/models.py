"""督查督办 (docs/supervision.md): items, per-unit sub-tasks, feedback due dates, 催办, 延期, light policies.

Business data lives here; the viewflow process (supervision.flows) keeps only the item-level flow state (领导审核,
交办, 办理 wait, 销号, 归档). Integer primary keys everywhere: viewflow's artifact_object_id is an integer.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class SourceType(models.TextChoices):
    INSTRUCTION = "instruction", "领导批示"
    MEETING = "meeting", "会议议定事项"
    SUPERIOR = "superior", "上级交办/来文"
    KEY_WORK = "key_work", "重点工作"
    NPC = "npc", "人大建议"
    CPPCC = "cppcc", "政协提案"
    PUBLIC = "public", "媒体/群众反映"
    OTHER = "other", "其他"


class Light(models.TextChoices):
    NONE = "", "无"
    GREEN = "green", "绿灯"
    YELLOW = "yellow", "黄灯"
    RED = "red", "红灯"


class Sheet(models.TextChoices):
    """督查单 escalation (三明 蓝/橙/红): one colour per automatic 催办 round fired."""

    NONE = "", "无"
    BLUE = "blue", "蓝色督查单"
    ORANGE = "orange", "橙色督查单"
    RED = "red", "红色督查单"


SHEETS = [Sheet.NONE, Sheet.BLUE, Sheet.ORANGE, Sheet.RED]


class LightPolicy(models.Model):
    """A light ladder: several per agency (the 督查室's), chosen per item by source type (empty list = any)."""

    agency = models.ForeignKey("oa.Agency", verbose_name="机关", on_delete=models.PROTECT, related_name="+")
    name = models.CharField("名称", max_length=60)
    source_types = models.JSONField("适用来源类型", default=list, blank=True)
    yellow_days = models.PositiveSmallIntegerField("黄灯：距期限工作日 ≤", default=3)
    pace_yellow_pct = models.PositiveSmallIntegerField("黄灯：落后序时进度百分点 ≥", default=10)
    pace_red_pct = models.PositiveSmallIntegerField("红灯：落后序时进度百分点 >", default=30)
    # Automatic 催办 rounds: working days overdue at which round 1 (承办人, 蓝单), 2 (单位负责人, 橙单) and
    # 3 (交办领导, 红单) fire. Increasing, at most three.
    urge_after_days = models.JSONField("自动催办轮次（逾期工作日）", default=list)
    notify_colours = models.JSONField("亮灯通知", default=list, blank=True)  # e.g. ["yellow", "red"]
    is_default = models.BooleanField("本机关默认", default=False)

    class Meta:
        verbose_name = verbose_name_plural = "亮灯规则"
        ordering = ["agency", "-is_default", "id"]

    def __str__(self) -> str:
        return self.name

    def rounds(self) -> list[int]:
        return [int(x) for x in (self.urge_after_days or [0, 2, 5])][:3]


class ItemCounter(models.Model):
    """Gap-free 督办编号: one row per (agency, year), incremented under a row lock in the 立项 transaction."""

    agency = models.ForeignKey("oa.Agency", on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["agency", "year"], name="supervision_counter_unique")]

    def __str__(self) -> str:
        return f"{self.agency_id}/{self.year}: {self.last}"


class SupervisionItem(models.Model):
    class Status(models.TextChoices):
        REVIEW = "review", "待领导审核"
        REJECTED = "rejected", "不予立项"
        DISPATCH = "dispatch", "待交办"
        HANDLING = "handling", "办理中"
        CLOSING = "closing", "待销号"
        CLOSED = "closed", "已销号"
        ARCHIVED = "archived", "已归档"

    class Cycle(models.TextChoices):
        WEEKLY = "weekly", "每周"
        MONTHLY = "monthly", "每月"
        CUSTOM = "custom", "指定日期"

    agency = models.ForeignKey("oa.Agency", verbose_name="督办机关", on_delete=models.PROTECT, related_name="+")
    office = models.ForeignKey("oa.Department", verbose_name="督查室", null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField("年度")
    seq = models.PositiveIntegerField("顺序号")
    number = models.CharField("督办编号", max_length=40)
    title = models.CharField("事项名称", max_length=200)
    source_type = models.CharField("来源类型", max_length=16, choices=SourceType.choices)
    source_basis = models.CharField("来源依据", max_length=300, blank=True)
    source_incoming = models.ForeignKey("documents.IncomingDocument", verbose_name="来源收文", null=True, blank=True,
                                        on_delete=models.PROTECT, related_name="+")
    # A 会议议定事项 taken over (supervision/from_meeting.py): one item per decision, enforced by the database.
    source_decision = models.OneToOneField("meetings.Decision", verbose_name="来源议定事项", null=True, blank=True,
                                           on_delete=models.SET_NULL, related_name="+")
    leader = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="交办领导", on_delete=models.PROTECT,
                               related_name="+")
    supervisor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="督查员", on_delete=models.PROTECT,
                                   related_name="+")
    lead_agency = models.ForeignKey("oa.Agency", verbose_name="牵头单位", on_delete=models.PROTECT, related_name="+")
    responsible = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="责任人", on_delete=models.PROTECT,
                                    related_name="+")
    requirements = models.TextField("办理要求")
    completion_standard = models.TextField("办结标准", blank=True)
    deadline_days = models.PositiveSmallIntegerField("办理时限（工作日）", null=True, blank=True)
    deadline = models.DateField("办理期限")
    cycle = models.CharField("反馈周期", max_length=10, choices=Cycle.choices)
    cycle_weekday = models.PositiveSmallIntegerField("每周星期几（1–7）", null=True, blank=True)
    cycle_monthday = models.PositiveSmallIntegerField("每月几日（1–31）", null=True, blank=True)
    cycle_dates = models.JSONField("指定反馈日期", default=list, blank=True)
    policy = models.ForeignKey(LightPolicy, verbose_name="亮灯规则", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="+")
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.REVIEW)
    light = models.CharField("亮灯", max_length=8, choices=Light.choices, blank=True, default="")
    progress = models.PositiveSmallIntegerField("总体进度（%）", default=0)
    created_at = models.DateTimeField("立项时间", auto_now_add=True)
    dispatched_at = models.DateTimeField("交办时间", null=True, blank=True)
    closed_at = models.DateTimeField("销号时间", null=True, blank=True)
    archived_at = models.DateTimeField("归档时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "督办事项"
        ordering = ["-year", "-seq"]
        constraints = [models.UniqueConstraint(fields=["agency", "year", "seq"], name="supervision_item_number")]
        indexes = [models.Index(fields=["status", "light"], name="supervision_item_status_idx")]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"


class UnitTask(models.Model):
    """One unit's share of an item (牵头 or 协办). Deadline and ordinals are denormalised from the item so the
    light recomputation is one UPDATE per policy with no join in its SET clause."""

    class Role(models.TextChoices):
        LEAD = "lead", "牵头单位"
        ASSIST = "assist", "协办单位"

    class Status(models.TextChoices):
        SIGN = "sign", "待签收"
        HANDLING = "handling", "办理中"
        REPORTED = "reported", "办结报告待审核"
        DONE = "done", "已办结"

    item = models.ForeignKey(SupervisionItem, verbose_name="督办事项", on_delete=models.CASCADE, related_name="units")
    agency = models.ForeignKey("oa.Agency", verbose_name="承办单位", on_delete=models.PROTECT, related_name="+")
    role = models.CharField("角色", max_length=8, choices=Role.choices)
    handler = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="承办人", on_delete=models.PROTECT,
                                related_name="+")
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.SIGN)
    progress = models.PositiveSmallIntegerField("进度（%）", default=0)
    light = models.CharField("亮灯", max_length=8, choices=Light.choices, blank=True, default="")
    # A recomputation writes only the rows whose colour changes, and on them also the colour before (SET reads old
    # values) and its own run number: the changed rows are then one indexed query, not two snapshots compared in Python.
    light_prev = models.CharField("上次亮灯", max_length=8, blank=True, default="")
    light_run = models.BigIntegerField("亮灯重算批次", default=0, db_index=True)
    sheet = models.CharField("督查单", max_length=8, choices=Sheet.choices, blank=True, default="")
    urge_rounds = models.PositiveSmallIntegerField("已发自动催办轮次", default=0)
    deadline = models.DateField("办理期限")
    start_ord = models.IntegerField("起始日序数")  # date.toordinal() of 交办
    deadline_ord = models.IntegerField("期限日序数")
    # 序时进度 counts working days: supervision.pace ordinals of 交办 and the deadline (elapsed = today − start).
    start_wd = models.IntegerField("起始工作日序数", default=0)
    deadline_wd = models.IntegerField("期限工作日序数", default=0)
    signed_at = models.DateTimeField("签收时间", null=True, blank=True)
    signed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+")
    report = models.TextField("办结报告", blank=True)
    reported_at = models.DateTimeField("报告时间", null=True, blank=True)
    # Attachments of the 办结报告, stored like a Feedback's files (checked by content, random keys).
    report_files = models.JSONField("办结报告附件", default=list, blank=True)
    return_reason = models.CharField("退办理由", max_length=500, blank=True)
    done_at = models.DateTimeField("办结时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "承办任务"
        ordering = ["item", "-role", "id"]
        constraints = [models.UniqueConstraint(fields=["item", "agency"], name="supervision_unit_once")]
        indexes = [models.Index(fields=["agency", "status"], name="supervision_unit_agency_idx")]

    def __str__(self) -> str:
        return f"{self.item.number} {self.agency.short_name}"


class FeedbackDue(models.Model):
    """A 进度反馈 due date generated from the item's cycle and the working-day calendar."""

    unit = models.ForeignKey(UnitTask, on_delete=models.CASCADE, related_name="dues")
    due_date = models.DateField("应反馈日期")
    feedback = models.OneToOneField("Feedback", null=True, blank=True, on_delete=models.SET_NULL, related_name="due")
    late = models.BooleanField("逾期补报", default=False)

    class Meta:
        ordering = ["due_date"]
        constraints = [models.UniqueConstraint(fields=["unit", "due_date"], name="supervision_due_once")]

    def __str__(self) -> str:
        return f"{self.unit_id} {self.due_date}"


class Feedback(models.Model):
    unit = models.ForeignKey(UnitTask, on_delete=models.CASCADE, related_name="feedbacks")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField("进展情况")
    progress = models.PositiveSmallIntegerField("完成进度（%）")
    # [{"name", "key", "sha256", "size", "content_type"}] — checked by content like documents' uploads
    files = models.JSONField("附件", default=list, blank=True)
    submitted_at = models.DateTimeField("报送时间", auto_now_add=True)

    class Meta:
        ordering = ["-submitted_at", "-id"]

    def __str__(self) -> str:
        return f"{self.unit_id} {self.progress}%"


class Extension(models.Model):
    class Status(models.TextChoices):
        HEAD = "head", "待单位负责人审核"
        SUPERVISOR = "supervisor", "待督查员初审"
        LEADER = "leader", "待领导批复"
        GRANTED = "granted", "已批准"
        REFUSED = "refused", "未批准"

    unit = models.ForeignKey(UnitTask, on_delete=models.CASCADE, related_name="extensions")
    applicant = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField("延期理由")
    proposed_date = models.DateField("申请延至")
    old_deadline = models.DateField("原期限")
    new_deadline = models.DateField("批准期限", null=True, blank=True)
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.HEAD)
    decider = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="当前审核人", null=True, blank=True,
                                on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"延期申请 {self.unit_id} → {self.proposed_date}"


class ItemEvent(models.Model):
    """The item's history (交办, 签收, 反馈, 催办, 延期, 退办, 亮灯变化 …), shown on the detail page."""

    item = models.ForeignKey(SupervisionItem, on_delete=models.CASCADE, related_name="events")
    unit = models.ForeignKey(UnitTask, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+")
    text = models.CharField(max_length=500)
    data = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return self.text


class Bulletin(models.Model):
    """月度督查通报: one per 督查室 agency and month, drafted as a 公文 (文种 通报) that goes out on the 发文 flow."""

    agency = models.ForeignKey("oa.Agency", verbose_name="督办机关", on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField("年度")
    month = models.PositiveSmallIntegerField("月份")
    document = models.OneToOneField("documents.OfficialDocument", verbose_name="通报公文", on_delete=models.PROTECT,
                                    related_name="+")
    drafted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    figures = models.JSONField("生成时的统计", default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "督查通报"
        ordering = ["-year", "-month"]
        constraints = [models.UniqueConstraint(fields=["agency", "year", "month"], name="supervision_bulletin_once")]

    def __str__(self) -> str:
        return f"{self.year}年{self.month}月督查通报"


from supervision.assessment.models import AssessmentWeight  # noqa: E402,F401  (考核权重, registered with this app)
