"""正文 versions: every save is a new immutable row; the document points at the current one."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ImmutableError(RuntimeError):
    pass


class BodyVersion(models.Model):
    class Kind(models.TextChoices):
        EDIT = "edit", "编辑"
        IMPORT = "import", "导入"
        CLEAN = "clean", "清稿"
        RESTORE = "restore", "恢复"

    document = models.ForeignKey("OfficialDocument", on_delete=models.CASCADE, related_name="body_versions")
    number = models.PositiveIntegerField("版本号")  # 1, 2, 3 … per document; the If-Match value
    kind = models.CharField("类型", max_length=10, choices=Kind.choices, default=Kind.EDIT)
    # Structured body: {"blocks": [{"type": "p", "level": 0-4, "text": "…"} | {"type": "table", "rows": [[…]]}]}
    content = models.JSONField("正文内容")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # 清稿: the clean version records the marked-up 花脸稿 it was made from (which stays as it is).
    marked_up_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # The version that tracked changes (痕迹) are measured from: the last 清稿 (or the first version).
    baseline = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField("保存时间", auto_now_add=True)
    step = models.CharField("所在环节", max_length=50, blank=True)  # e.g. "核稿", set by the flow
    sha256 = models.CharField("内容摘要", max_length=64)
    # 自动保存会话 (docs/editor.md): the editor page's session id. While the same author keeps editing in the same
    # session, autosaves amend this version (revision + 1, saved_at) instead of adding one per pause; the database
    # guard allows exactly that update and only on the document's current version.
    edit_session = models.CharField("编辑会话", max_length=64, blank=True, default="")
    revision = models.PositiveIntegerField("会话内保存次数", default=0)
    saved_at = models.DateTimeField("最后保存时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "正文版本"
        ordering = ["document", "number"]
        constraints = [models.UniqueConstraint(fields=["document", "number"], name="bodyversion_unique_number")]

    def __str__(self) -> str:
        return f"第{self.number}版"

    def save(self, *args, **kwargs) -> None:
        # Versions are evidence of who changed what: never rewritten (the one exception, an autosave amending the
        # current version within its editing session, is a guarded UPDATE in documents.actions.body).
        if self.pk is not None:
            raise ImmutableError("正文版本一经保存不可修改")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableError("正文版本不可删除")

    @property
    def last_saved_at(self):
        return self.saved_at or self.created_at

    @property
    def etag(self) -> str:
        """The If-Match value for this state: "5", or "5.3" after three in-session autosaves amended 第5版."""
        return f"{self.number}.{self.revision}" if self.revision else str(self.number)
