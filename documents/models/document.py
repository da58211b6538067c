"""公文: the 18 公文要素 (条例 第九条) plus GB/T 33480 core metadata, one row per document.

Flow-agnostic: 发文, 收文, 督办 and 零跑动 flows all point at this record (integer key for viewflow
artifacts; the public identity is ``identifier``).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class DocType(models.TextChoices):
    """The 15 文种 of 条例 第八条."""

    RESOLUTION = "jueyi", "决议"
    DECISION = "jueding", "决定"
    ORDER = "mingling", "命令（令）"
    COMMUNIQUE = "gongbao", "公报"
    ANNOUNCEMENT = "gonggao", "公告"
    NOTICE_PUBLIC = "tonggao", "通告"
    OPINION = "yijian", "意见"
    NOTICE = "tongzhi", "通知"
    BULLETIN = "tongbao", "通报"
    REPORT = "baogao", "报告"
    REQUEST = "qingshi", "请示"
    REPLY = "pifu", "批复"
    MOTION = "yian", "议案"
    LETTER = "han", "函"
    MINUTES = "jiyao", "纪要"


# 文种 that are 上行文 by nature (the flag can still be set by hand for others).
UPWARD_DOC_TYPES = frozenset({DocType.REPORT, DocType.REQUEST, DocType.MOTION})


class Secrecy(models.TextChoices):
    NONE = "", "非密"
    SECRET = "mimi", "秘密"
    CONFIDENTIAL = "jimi", "机密"
    TOP_SECRET = "juemi", "绝密"


class Urgency(models.TextChoices):
    NORMAL = "", "平件"
    URGENT = "jiaji", "加急"
    EXTRA_URGENT = "teji", "特急"


class Layout(models.TextChoices):
    """GB/T 9704 format family: 文件格式, 信函格式 (§10.1), 纪要格式 (§10.3)."""

    STANDARD = "standard", "文件格式"
    LETTER = "letter", "信函格式"
    MINUTES = "minutes", "纪要格式"


class Publicity(models.TextChoices):
    """发布层次 (GB/T 33480 §4.18): how widely the document may be published."""

    PUBLIC = "public", "主动公开"
    ON_REQUEST = "on_request", "依申请公开"
    NOT_PUBLIC = "not_public", "不予公开"


class Direction(models.TextChoices):
    OUTGOING = "outgoing", "发文"
    INCOMING = "incoming", "收文"
    INTERNAL = "internal", "内部文件"


class OfficialDocument(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "拟稿"
        IN_REVIEW = "in_review", "审核中"
        SIGNED = "signed", "已签发"
        NUMBERED = "numbered", "已编号"
        TYPESET = "typeset", "已排版"
        SEALED = "sealed", "已用印"
        DISTRIBUTED = "distributed", "已分发"
        RECEIVED = "received", "已收文"
        ARCHIVED = "archived", "已归档"
        WITHDRAWN = "withdrawn", "已撤销"

    identifier = models.UUIDField("公文标识", default=uuid.uuid4, unique=True, editable=False)
    direction = models.CharField("收发类别", max_length=10, choices=Direction.choices, default=Direction.OUTGOING)
    doc_type = models.CharField("文种", max_length=12, choices=DocType.choices, default=DocType.NOTICE)
    layout = models.CharField("版式", max_length=10, choices=Layout.choices, default=Layout.STANDARD)
    status = models.CharField("状态", max_length=12, choices=Status.choices, default=Status.DRAFT, db_index=True)
    is_upward = models.BooleanField("上行文", default=False)
    is_important = models.BooleanField("重要公文", default=False)
    publicity = models.CharField("发布层次", max_length=12, choices=Publicity.choices, default=Publicity.NOT_PUBLIC)

    agency = models.ForeignKey(
        "oa.Agency", verbose_name="主办机关", on_delete=models.PROTECT, related_name="documents"
    )
    co_issuers = models.ManyToManyField(
        "oa.Agency", verbose_name="联合行文机关", through="CoIssuer", related_name="co_issued_documents", blank=True
    )
    department = models.ForeignKey(
        "oa.Department", verbose_name="拟稿部门", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="拟稿人", on_delete=models.PROTECT, related_name="drafted_documents"
    )
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    # ---- the 18 公文要素 (条例 第九条), in the order of the standard ----
    copy_number = models.CharField("份号", max_length=6, blank=True)  # 6 位阿拉伯数字
    secrecy = models.CharField("密级", max_length=8, choices=Secrecy.choices, default=Secrecy.NONE, blank=True)
    secrecy_period = models.CharField("保密期限", max_length=20, blank=True)  # e.g. "1年"
    urgency = models.CharField("紧急程度", max_length=8, choices=Urgency.choices, default=Urgency.NORMAL, blank=True)
    issuer_mark = models.CharField("发文机关标志", max_length=200, blank=True)
    doc_number = models.CharField("发文字号", max_length=60, blank=True, db_index=True)
    signers = models.JSONField("签发人", default=list, blank=True)  # names, in 发文机关 order
    title = models.CharField("标题", max_length=300)
    main_recipients = models.JSONField("主送机关", default=list, blank=True)
    # 正文 lives in BodyVersion; this points at the current one (None until the first save).
    current_body = models.ForeignKey(
        "BodyVersion", verbose_name="当前正文版本", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    attachment_note = models.JSONField("附件说明", default=list, blank=True)  # names, in order
    signature = models.CharField("发文机关署名", max_length=200, blank=True)
    written_date = models.DateField("成文日期", null=True, blank=True)
    seal_required = models.BooleanField("加盖印章", default=True)  # 印章 (the act is a SealUse)
    notes = models.CharField("附注", max_length=500, blank=True)
    # 附件: Attachment rows with role=ATTACHMENT.
    cc = models.JSONField("抄送机关", default=list, blank=True)
    printing_org = models.CharField("印发机关", max_length=200, blank=True)
    printing_date = models.DateField("印发日期", null=True, blank=True)
    # 纪要 (GB/T 9704 §10.3): 出席/请假/列席, each "单位 姓名", printed after the 正文 (or 附件说明).
    attendees = models.JSONField("出席", default=list, blank=True)
    absentees = models.JSONField("请假", default=list, blank=True)
    observers = models.JSONField("列席", default=list, blank=True)
    # The 文号序列 the drafter chose (a 纪要 of one meeting body); empty: the agency's series for the 文种.
    number_series = models.ForeignKey(
        "DocNumberSeries", verbose_name="文号序列", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # 页码 is produced by the renderer.

    # 收文: where it came from (another agency's 公文标识 and 文号 are kept as they arrived).
    source_agency_name = models.CharField("来文单位", max_length=200, blank=True)
    source_identifier = models.UUIDField("来文公文标识", null=True, blank=True)

    # Final outputs (set by typesetting and sealing; immutable once archived).
    final_docx = models.FileField("正式文件DOCX", upload_to="documents/final/", blank=True, max_length=300)
    final_pdf = models.FileField("正式文件PDF", upload_to="documents/final/", blank=True, max_length=300)
    # Where each seal goes on final_pdf (rendering.layout.SealAnchor as dicts), written by 套红排版 for 用印.
    seal_anchors = models.JSONField("印章位置", default=list, blank=True, editable=False)
    search_text = models.TextField("检索文本", blank=True, editable=False)  # jieba tokens, space-separated
    archived_at = models.DateTimeField("归档时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "公文"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["agency", "doc_type", "status"]),
            models.Index(fields=["created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.doc_number} {self.title}".strip()

    @property
    def is_co_issued(self) -> bool:
        return self.coissuer_set.exists()


class CoIssuer(models.Model):
    """联合行文: the other agencies, in the order their names appear after the lead agency."""

    document = models.ForeignKey(OfficialDocument, on_delete=models.CASCADE)
    agency = models.ForeignKey("oa.Agency", on_delete=models.PROTECT, related_name="+")
    position = models.PositiveSmallIntegerField("排序", default=1)

    class Meta:
        verbose_name = verbose_name_plural = "联合行文机关"
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["document", "agency"], name="coissuer_unique")]

    def __str__(self) -> str:
        return f"{self.position}. {self.agency_id}"


def attachment_key(instance: Attachment, filename: str) -> str:
    """Random storage key: the original name is kept in the row, never in the path."""
    return f"documents/{instance.document_id or 'new'}/{uuid.uuid4().hex}"


class Attachment(models.Model):
    class Role(models.TextChoices):
        ATTACHMENT = "attachment", "附件"
        SCAN = "scan", "纸质来文扫描件"
        BODY_SOURCE = "body_source", "正文导入源文件"
        REFERENCE = "reference", "参考材料"

    document = models.ForeignKey(OfficialDocument, on_delete=models.CASCADE, related_name="attachments")
    role = models.CharField("用途", max_length=12, choices=Role.choices, default=Role.ATTACHMENT)
    position = models.PositiveSmallIntegerField("顺序号", default=1)
    name = models.CharField("文件名", max_length=255)
    title = models.CharField("附件名称", max_length=200, blank=True)  # as in 附件说明
    file = models.FileField("文件", upload_to=attachment_key, max_length=300)
    content_type = models.CharField("文件类型", max_length=100)
    size = models.PositiveBigIntegerField("大小（字节）")
    sha256 = models.CharField("SHA-256", max_length=64)
    text = models.TextField("提取文本", blank=True, editable=False)  # for search
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField("上传时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "附件"
        ordering = ["role", "position", "id"]

    def __str__(self) -> str:
        return self.title or self.name


class DocumentAccess(models.Model):
    """Explicit access beyond the agency rule: flow participants, 传阅 readers, recipients.

    Flows write these rows (through documents.actions) when they hand a document to someone; ``can_edit``
    lets that person change the 正文 and the 要素 the step allows.
    """

    class Reason(models.TextChoices):
        PARTICIPANT = "participant", "流程经办"
        READER = "reader", "传阅"
        RECIPIENT = "recipient", "收文单位"
        GRANTED = "granted", "授权查看"

    document = models.ForeignKey(OfficialDocument, on_delete=models.CASCADE, related_name="access_grants")
    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField("原因", max_length=12, choices=Reason.choices, default=Reason.PARTICIPANT)
    can_edit = models.BooleanField("可修改", default=False)
    granted_at = models.DateTimeField("授权时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "公文访问授权"
        constraints = [models.UniqueConstraint(fields=["document", "person"], name="docaccess_unique")]

    def __str__(self) -> str:
        return f"{self.person_id} → {self.document_id}"
