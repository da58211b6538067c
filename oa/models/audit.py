"""Append-only, hash-chained audit log (等保三级 安全审计)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class AuditEntry(models.Model):
    # The id is the chain position; every entry hashes over its predecessor's hash.
    at = models.DateTimeField("时间", db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="操作人", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_name = models.CharField("操作人姓名", max_length=100, blank=True)
    on_behalf_of = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="代谁办理", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    on_behalf_of_name = models.CharField("被代理人姓名", max_length=100, blank=True)
    action = models.CharField("操作", max_length=64, db_index=True)
    object_type = models.CharField("对象类型", max_length=64, blank=True)
    object_id = models.CharField("对象标识", max_length=64, blank=True)
    object_repr = models.CharField("对象", max_length=200, blank=True)
    changes = models.JSONField("变更摘要", default=dict, blank=True)
    ip = models.GenericIPAddressField("IP地址", null=True, blank=True)
    algorithm = models.CharField("摘要算法", max_length=10, default="sha256")
    prev_hash = models.CharField("前一条摘要", max_length=64)
    hash = models.CharField("摘要", max_length=64, unique=True)

    class Meta:
        verbose_name = verbose_name_plural = "审计日志"
        ordering = ["id"]
        default_permissions = ("view",)
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} {self.object_repr}"


class AuditChainHead(models.Model):
    """Single row: the last appended entry, locked to serialise appends; and the purge anchor."""

    last_id = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)
    # After a retention purge, verification starts at the entry after this one.
    anchor_id = models.BigIntegerField(default=0)
    anchor_hash = models.CharField(max_length=64, default="0" * 64)

    class Meta:
        verbose_name = verbose_name_plural = "审计链头"

    def __str__(self) -> str:
        return f"链头 #{self.last_id}"
