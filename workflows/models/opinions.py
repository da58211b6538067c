"""办理意见 (one immutable row per opinion a person writes at a flow step) and the personal 常用语 book.

Generic for every flow: 发文 and 收文 point the opinion at their 公文; 督办 and other flows leave ``document`` empty.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

__all__ = ["CommonPhrase", "Opinion", "OpinionImmutableError"]


class OpinionImmutableError(RuntimeError):
    pass


class Opinion(models.Model):
    class Kind(models.TextChoices):
        # Stored values are part of the API and of the audit log: never rename them.
        AGREE = "agree", "同意"
        DISAGREE = "disagree", "不同意"
        RETURN = "return", "退回"
        CIRCLE = "circle", "圈阅"
        COMMENT = "comment", "意见"
        COUNTERSIGN = "countersign", "会签"
        PROPOSE = "propose", "拟办"
        INSTRUCT = "instruct", "批示"

    # 条例 第二十二条: 圈阅或者签名的，视为同意.
    APPROVING_KINDS = frozenset({Kind.AGREE, Kind.CIRCLE})

    document = models.ForeignKey(
        "documents.OfficialDocument", null=True, blank=True, on_delete=models.PROTECT, related_name="opinions",
        verbose_name="公文",
    )
    process = models.ForeignKey(
        "viewflow.Process", on_delete=models.PROTECT, related_name="opinions", verbose_name="流程",
    )
    task = models.ForeignKey(
        "viewflow.Task", null=True, blank=True, on_delete=models.PROTECT, related_name="opinions", verbose_name="任务",
    )
    step = models.CharField("环节", max_length=50)  # the label people read, e.g. "签发"
    node = models.CharField("节点", max_length=100, blank=True)  # the flow node name, e.g. "signoff"
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="签署人",
    )
    # 委托: the person the author acted for ("李娜 代 王芳" — 李娜 is the author).
    on_behalf_of = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name="被代理人",
    )
    kind = models.CharField("意见类型", max_length=20, choices=Kind.choices)
    text = models.TextField("意见", blank=True)
    # The full date the signer writes beside the name (条例 第二十二条: 签署意见、姓名和完整日期).
    signed_date = models.DateField("签署日期")
    created_at = models.DateTimeField("记录时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "办理意见"
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["document", "created_at"], name="opinion_document_idx"),
            models.Index(fields=["process", "created_at"], name="opinion_process_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.signer_label} · {self.step}"

    def save(self, *args, **kwargs) -> None:
        # An opinion is the signer's record of what they decided: corrections are new opinions, never edits.
        if self.pk is not None:
            raise OpinionImmutableError("办理意见一经签署不可修改")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise OpinionImmutableError("办理意见不可删除")

    @property
    def signer_label(self) -> str:
        """"王芳", or "李娜 代 王芳" when 李娜 signed for 王芳 (practice: 代 beside the signer's name)."""
        if self.on_behalf_of_id:
            return f"{self.author} 代 {self.on_behalf_of}"
        return str(self.author)

    @property
    def is_approval(self) -> bool:
        return self.kind in self.APPROVING_KINDS

    @property
    def display_text(self) -> str:
        """What the 处理笺 prints: the text, or "圈阅" for a bare circle-read."""
        return self.text or self.get_kind_display()


class CommonPhrase(models.Model):
    """A person's own 常用语, offered as one-tap buttons beside every opinion box."""

    TEXT_MAX = 200

    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="common_phrases", verbose_name="人员",
    )
    text = models.CharField("常用语", max_length=TEXT_MAX)
    position = models.PositiveIntegerField("排序", default=0)
    use_count = models.PositiveIntegerField("使用次数", default=0)
    created_at = models.DateTimeField("添加时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "常用语"
        ordering = ["person", "position", "-use_count", "id"]
        constraints = [models.UniqueConstraint(fields=["person", "text"], name="commonphrase_unique_text")]

    def __str__(self) -> str:
        return self.text
