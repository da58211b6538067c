"""Notifications (the record behind every pushed event), per-channel delivery state, and the outbox."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Notification(models.Model):
    """One row per recipient per event. The id is the monotonic event id clients resync from (last_event_id)."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="接收人", on_delete=models.CASCADE, related_name="notifications"
    )
    event_type = models.CharField("事件类型", max_length=64)
    title = models.CharField("标题", max_length=200)
    # A short summary; never the text of a document (it may travel to a phone platform).
    summary = models.CharField("摘要", max_length=200, blank=True)
    link = models.CharField("链接", max_length=500, blank=True)
    payload = models.JSONField("事件数据", default=dict, blank=True)
    work_item = models.ForeignKey(
        "oa.WorkItem", verbose_name="相关工作", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField("时间", auto_now_add=True)
    read_at = models.DateTimeField("已读时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "通知"
        ordering = ["id"]
        indexes = [
            models.Index(fields=["recipient", "id"]),
            models.Index(fields=["recipient", "read_at"]),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.event_type} → {self.recipient}"


class NotificationDelivery(models.Model):
    """Per-channel state of one notification: web (delivered/read) and the mobile platform (queued/sent/…)."""

    class Channel(models.TextChoices):
        WEB = "web", "网页/工作台"
        PLATFORM = "platform", "移动政务平台"

    class State(models.TextChoices):
        PENDING = "pending", "待送达"
        DELIVERED = "delivered", "已送达"
        READ = "read", "已读"
        QUEUED = "queued", "排队中"
        SENT = "sent", "已发送"
        FAILED = "failed", "发送失败"
        RETIRED = "retired", "已撤回/已更新"

    notification = models.ForeignKey(
        Notification, verbose_name="通知", on_delete=models.CASCADE, related_name="deliveries"
    )
    channel = models.CharField("渠道", max_length=16, choices=Channel.choices)
    state = models.CharField("状态", max_length=16, choices=State.choices)
    attempts = models.PositiveIntegerField("尝试次数", default=0)
    last_error = models.CharField("最近错误", max_length=300, blank=True)
    external_id = models.CharField("平台消息标识", max_length=128, blank=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "通知送达状态"
        constraints = [
            models.UniqueConstraint(fields=["notification", "channel"], name="delivery_one_per_channel"),
        ]
        indexes = [models.Index(fields=["channel", "state"])]

    def __str__(self) -> str:
        return f"{self.notification_id}/{self.channel}: {self.state}"


class OutboxMessage(models.Model):
    """Anything that leaves the system, written in the transaction of the change and delivered by a worker."""

    class State(models.TextChoices):
        PENDING = "pending", "待发送"
        SENT = "sent", "已发送"
        FAILED = "failed", "失败（将重试）"
        DEAD = "dead", "放弃（需人工处理）"

    channel = models.CharField("渠道", max_length=32)  # e.g. "wecom"
    kind = models.CharField("消息类型", max_length=32)  # e.g. "textcard", "card_update", "text"
    idempotency_key = models.CharField("幂等键", max_length=128, unique=True)
    payload = models.JSONField("内容", default=dict)
    notification = models.ForeignKey(
        Notification, verbose_name="通知", null=True, blank=True, on_delete=models.SET_NULL, related_name="outbox"
    )
    state = models.CharField("状态", max_length=16, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField("尝试次数", default=0)
    next_attempt_at = models.DateTimeField("下次尝试", db_index=True)
    last_error = models.CharField("最近错误", max_length=300, blank=True)
    result = models.JSONField("平台返回", default=dict, blank=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    sent_at = models.DateTimeField("发送时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "发件箱"
        ordering = ["id"]
        indexes = [models.Index(fields=["state", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.channel}/{self.kind} #{self.pk} {self.state}"


class ApiToken(models.Model):
    """Bearer tokens for mobile/webview clients (REST API and /ws/events/). Only a hash is stored."""

    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="人员", on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField("设备名称", max_length=100)
    key_hash = models.CharField("令牌摘要", max_length=64, unique=True)
    prefix = models.CharField("令牌前缀", max_length=8)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    last_used_at = models.DateTimeField("最近使用", null=True, blank=True)
    expires_at = models.DateTimeField("过期时间")
    revoked_at = models.DateTimeField("吊销时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "接口令牌"
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.person} {self.name} ({self.prefix}…)"
