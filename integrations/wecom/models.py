"""What the platform told us through the callback. One row per message; WeCom retries, so MsgId de-duplicates."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class CallbackMessage(models.Model):
    dedupe_key = models.CharField("去重键", max_length=128, unique=True)  # MsgId, or user+time+event for events
    agent_id = models.CharField("应用ID", max_length=32, blank=True)
    from_user = models.CharField("平台账号", max_length=64)
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="人员", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    msg_type = models.CharField("消息类型", max_length=32)
    event = models.CharField("事件", max_length=64, blank=True)
    event_key = models.CharField("事件参数", max_length=128, blank=True)
    content = models.CharField("文本内容", max_length=2048, blank=True)
    created_at = models.DateTimeField("接收时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "平台回调消息"
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.from_user} {self.msg_type}{'/' + self.event if self.event else ''}"
