"""收文: an incoming 公文 as the receiving agency holds it, whatever way it came (本系统分发, 跨系统交换, 纸质来文).

The record keeps its own copy of what arrived (the PDF and attachments by storage key, the GB/T 33480 metadata as
received) so it stands on its own even when the sender is another deployment. The 登记 fields follow practice
(DOMAIN.md §1.11): 标题、密级、发文字号、发文机关、成文日期、主送机关、份数、收文日期、办理情况.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from documents.models.document import Secrecy, Urgency

__all__ = ["IncomingAccess", "IncomingDocument", "ReceiptNumberSequence", "incoming_file_key"]


def incoming_file_key(instance, filename: str) -> str:
    """Random storage key: a received file's name never becomes a path."""
    return f"incoming/{uuid.uuid4().hex}"


class IncomingDocument(models.Model):
    class Source(models.TextChoices):
        INTERNAL = "internal", "本系统分发"
        EXCHANGE = "exchange", "跨系统交换"
        PAPER = "paper", "纸质来文"

    class Kind(models.TextChoices):
        MAIN = "main", "主送"
        CC = "cc", "抄送"  # 阅知 only: 签收 → 登记 → 初审 → 传阅（阅知）→ 归档, no 拟办/批办/承办

    class Status(models.TextChoices):
        # 分发 to many agencies writes the 收文 rows first and starts their flows in a job after commit
        # (workflows.actions.receipt_start): until then the 收文 is 送达中, invisible to the receiver.
        DELIVERING = "delivering", "送达中"
        PENDING = "pending", "待签收"
        SIGNED = "signed", "已签收"
        REGISTERED = "registered", "已登记"
        IN_PROGRESS = "in_progress", "办理中"
        RETURNED = "returned", "已退回"
        WITHDRAWN = "withdrawn", "已被取回"
        CLOSED = "closed", "已办结"
        ARCHIVED = "archived", "已归档"

    identifier = models.UUIDField("收文标识", default=uuid.uuid4, unique=True, editable=False)
    agency = models.ForeignKey("oa.Agency", verbose_name="收文机关", on_delete=models.PROTECT, related_name="+")
    source = models.CharField("来源", max_length=10, choices=Source.choices)
    status = models.CharField("状态", max_length=12, choices=Status.choices, default=Status.PENDING)
    kind = models.CharField("收文类别", max_length=4, choices=Kind.choices, default=Kind.MAIN)
    # Exchange package id (internal delivery: a deterministic id per document and recipient): the idempotency key.
    package_id = models.UUIDField("交换包标识", null=True, blank=True)
    document = models.ForeignKey(
        "documents.OfficialDocument", verbose_name="来文（本系统）", null=True, blank=True, on_delete=models.PROTECT,
        related_name="incoming_copies",
    )
    # 登记 fields
    title = models.CharField("标题", max_length=300)
    doc_number = models.CharField("来文字号", max_length=64, blank=True)
    doc_type = models.CharField("文种", max_length=20, blank=True)
    sender_name = models.CharField("来文单位", max_length=200)
    sender_uscc = models.CharField("来文单位统一社会信用代码", max_length=18, blank=True)
    secrecy = models.CharField("密级", max_length=10, choices=Secrecy.choices, default=Secrecy.NONE)
    urgency = models.CharField("紧急程度", max_length=10, choices=Urgency.choices, default=Urgency.NORMAL)
    signed_date = models.DateField("成文日期", null=True, blank=True)
    main_recipients = models.CharField("主送机关", max_length=500, blank=True)
    copies = models.PositiveIntegerField("份数", default=1)
    attachment_note = models.CharField("附件说明", max_length=500, blank=True)
    handling_note = models.TextField("办理情况", blank=True)
    metadata = models.JSONField("元数据（GB/T 33480）", default=dict, blank=True)
    # What arrived: files in default storage, with the hash checked when it was received.
    pdf = models.FileField("正文PDF", upload_to=incoming_file_key, blank=True, max_length=300)
    pdf_sha256 = models.CharField("正文PDF SHA-256", max_length=64, blank=True)
    # [{"name", "key" (storage name), "sha256", "size", "content_type"}]
    attachments = models.JSONField("附件", default=list, blank=True)
    received_at = models.DateTimeField("到达时间", auto_now_add=True)
    # 签收
    signed_at = models.DateTimeField("签收时间", null=True, blank=True)
    signed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="签收人", null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="+")
    # 登记: 收文号 per agency and year
    receipt_year = models.PositiveSmallIntegerField("收文年度", null=True, blank=True)
    receipt_seq = models.PositiveIntegerField("收文顺序号", null=True, blank=True)
    receipt_number = models.CharField("收文号", max_length=40, blank=True)
    registered_at = models.DateTimeField("登记时间", null=True, blank=True)
    registered_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="登记人", null=True, blank=True,
                                      on_delete=models.PROTECT, related_name="+")
    # 退回来文单位 (初审)
    returned_at = models.DateTimeField("退回时间", null=True, blank=True)
    returned_reason = models.CharField("退回理由", max_length=500, blank=True)
    # 批办
    host_department = models.ForeignKey("oa.Department", verbose_name="主办部门", null=True, blank=True,
                                        on_delete=models.PROTECT, related_name="+")
    due_date = models.DateField("办理时限", null=True, blank=True)
    # 办结
    closed_at = models.DateTimeField("办结时间", null=True, blank=True)
    result = models.TextField("办理结果", blank=True)
    reply_document = models.ForeignKey(
        "documents.OfficialDocument", verbose_name="答复文", null=True, blank=True, on_delete=models.PROTECT,
        related_name="replies_to",
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="录入人", null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = verbose_name_plural = "收文"
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["agency", "package_id"], condition=models.Q(package_id__isnull=False),
                                    name="incoming_one_per_package"),
            models.UniqueConstraint(fields=["agency", "receipt_year", "receipt_seq"],
                                    condition=models.Q(receipt_seq__isnull=False), name="incoming_unique_number"),
        ]
        indexes = [models.Index(fields=["agency", "status", "-received_at"], name="incoming_agency_status_idx")]

    def __str__(self) -> str:
        return self.receipt_number or self.title


class ReceiptNumberSequence(models.Model):
    """收文号 counter per agency and year, locked with select_for_update inside the 登记 transaction."""

    agency = models.ForeignKey("oa.Agency", on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField("年度")
    last = models.PositiveIntegerField("已用到", default=0)

    class Meta:
        verbose_name = verbose_name_plural = "收文号序列"
        constraints = [models.UniqueConstraint(fields=["agency", "year"], name="receipt_sequence_unique")]

    def __str__(self) -> str:
        return f"{self.agency_id} {self.year}: {self.last}"


class IncomingAccess(models.Model):
    """Someone outside the receiving office who must see this 收文: a leader, a handling department's people,
    a 传阅 reader. Granted by the flow when work reaches them; never withdrawn (the record shows who saw it)."""

    incoming = models.ForeignKey(IncomingDocument, on_delete=models.CASCADE, related_name="grants")
    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField("原因", max_length=40, blank=True)
    granted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "收文查阅授权"
        constraints = [models.UniqueConstraint(fields=["incoming", "person"], name="incoming_access_unique")]

    def __str__(self) -> str:
        return f"{self.incoming_id} → {self.person_id}"
