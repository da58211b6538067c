"""Routing history that viewflow does not keep: who sent what back, took it back, passed it on, added whom, urged
whom (TaskEvent), and whether the owner has opened a task yet (TaskOpened, the 取回 cut-off; STACK.md §12)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

__all__ = ["TaskEvent", "TaskOpened"]


class TaskEvent(models.Model):
    class Op(models.TextChoices):
        RETURN = "return", "退回"
        JUMP_BACK = "jump_back", "跳回"
        WITHDRAW = "withdraw", "取回"
        REASSIGN = "reassign", "转办"
        ADD_SIGNER = "add_signer", "加签"
        URGE = "urge", "催办"
        DELEGATE = "delegate", "委托"
        VETO = "veto", "否决"

    process = models.ForeignKey("viewflow.Process", verbose_name="流程", on_delete=models.CASCADE, related_name="+")
    task = models.ForeignKey(
        "viewflow.Task", verbose_name="事项", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    new_task = models.ForeignKey(
        "viewflow.Task", verbose_name="新事项", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    op = models.CharField("操作", max_length=16, choices=Op.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="操作人", null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )
    on_behalf_of = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="代谁办理", null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )
    from_node = models.CharField("自环节", max_length=100, blank=True)
    to_node = models.CharField("至环节", max_length=100, blank=True)
    from_person = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="原办理人", null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )
    to_person = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="新办理人", null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )
    reason = models.TextField("理由", blank=True)
    data = models.JSONField("附加信息", default=dict, blank=True)
    created_at = models.DateTimeField("时间", auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = verbose_name_plural = "流转记录"
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["process", "created_at"], name="taskevent_process_idx")]

    def __str__(self) -> str:
        return f"{self.get_op_display()} #{self.task_id}"


class TaskOpened(models.Model):
    """Written when the owner first opens a task (the execute page's GET); 取回 is refused from then on."""

    task = models.ForeignKey("viewflow.Task", verbose_name="事项", on_delete=models.CASCADE, related_name="+")
    person = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="打开人", on_delete=models.CASCADE, related_name="+")
    opened_at = models.DateTimeField("首次打开", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "事项打开记录"
        constraints = [models.UniqueConstraint(fields=["task", "person"], name="taskopened_one_per_person")]

    def __str__(self) -> str:
        return f"#{self.task_id} 已由 {self.person_id} 打开"
