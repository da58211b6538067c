"""The denormalised inbox: one row per person per piece of work (DESIGN.md "One row per person")."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class WorkItem(models.Model):
    class Box(models.TextChoices):
        TODO = "todo", "待办"  # something to do
        TOREAD = "toread", "待阅"  # something to read
        INITIATED = "initiated", "我发起"  # something one started and follows

    class State(models.TextChoices):
        OPEN = "open", "未办结"
        DONE = "done", "已办结"
        CANCELLED = "cancelled", "已撤销"

    class Urgency(models.IntegerChoices):
        # Higher sorts first (特急 before 加急 before 普通).
        NORMAL = 0, "普通"
        URGENT = 1, "加急"
        VERY_URGENT = 2, "特急"

    kind = models.CharField("工作类型", max_length=32)  # registry key: "flow_task", later "circulation", …
    ref = models.CharField("来源对象", max_length=100)  # e.g. "viewflow.task:123"
    # The whole piece of work this item is one step of (e.g. "viewflow.process:45"; the ref itself when the item
    # stands alone). 已办 shows one row per thread: the last step the person did.
    thread = models.CharField("所属事项", max_length=100, blank=True, default="")
    box = models.CharField("分类", max_length=16, choices=Box.choices)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="办理人", on_delete=models.PROTECT, related_name="work_items"
    )
    on_behalf_of = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="代谁办理",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    initiator = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="发起人", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    agency = models.ForeignKey(
        "oa.Agency", verbose_name="机关", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    title = models.CharField("标题", max_length=300)
    doc_number = models.CharField("文号", max_length=64, blank=True)
    step = models.CharField("环节", max_length=100, blank=True)
    urgency = models.PositiveSmallIntegerField("紧急程度", choices=Urgency.choices, default=Urgency.NORMAL)
    deadline = models.DateTimeField("办理期限", null=True, blank=True)
    state = models.CharField("状态", max_length=16, choices=State.choices, default=State.OPEN)
    link = models.CharField("链接", max_length=500)
    # What the holder should know first (被 李娜 退回：理由); on finished work, how it ended when not plainly 办结.
    note = models.CharField("提示", max_length=300, blank=True, default="")
    outcome = models.CharField("办理结果", max_length=16, blank=True, default="", choices=[("returned", "已退回")])
    created_at = models.DateTimeField("到达时间", auto_now_add=True)
    opened_at = models.DateTimeField("首次打开", null=True, blank=True)
    completed_at = models.DateTimeField("办结时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "工作事项"
        constraints = [
            models.UniqueConstraint(fields=["ref", "owner", "box"], name="workitem_one_per_owner_ref_box"),
        ]
        indexes = [
            models.Index(
                fields=["owner", "box", "state", "-urgency", "deadline"], name="workitem_inbox_idx"
            ),
            models.Index(fields=["ref"], name="workitem_ref_idx"),
            models.Index(fields=["owner", "thread"], name="workitem_owner_thread_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_box_display()} {self.title} → {self.owner}"

    @property
    def item_page(self) -> str:
        return f"/work/{self.pk}/"  # the workbench's 事项详情 (url name "work_item")

    @property
    def step_page(self) -> str:
        """Where this open 待办 is done when it has a page of its own (a 发文/收文 step page), else "". The inbox row,
        notifications and mobile cards open it there directly, with no 事项详情 in between."""
        if self.box == self.Box.TODO and self.state == self.State.OPEN and self.link and self.link != self.item_page:
            return self.link
        return ""
