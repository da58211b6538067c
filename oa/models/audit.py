"""Append-only, hash-chained audit log (等保三级 安全审计)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class AuditEntry(models.Model):
    """One entry of one chain (docs/security.md § 审计链). The log is several chains (lanes): an append takes any
    chain no other transaction holds, so writers never queue on one head row. (chain, seq) is the position; each
    entry hashes over its chain predecessor's hash; checkpoint entries (action ``audit.checkpoint``) record the
    heads of all chains and so link them. The id is only the global order of insertion."""

    # Layout 1: entries written before chains existed (all in chain 1, seq = id, the id is hashed).
    # Layout 2: chain and seq are hashed instead of the id.
    LEGACY_LAYOUT = 1
    LAYOUT = 2

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
    chain = models.PositiveIntegerField("链", default=1)
    seq = models.BigIntegerField("链内序号", default=0)
    layout = models.PositiveSmallIntegerField("格式", default=LAYOUT)

    class Meta:
        verbose_name = verbose_name_plural = "审计日志"
        ordering = ["id"]
        default_permissions = ("view",)
        indexes = [models.Index(fields=["object_type", "object_id"])]
        constraints = [models.UniqueConstraint(fields=["chain", "seq"], name="oa_audit_chain_seq_unique")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} {self.object_repr}"


class AuditChainHead(models.Model):
    """One row per chain (its id is the chain number): the chain's last entry, row-locked by the transaction
    appending to it until commit; and the purge anchor. Chains are opened on demand when all are busy."""

    last_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)
    # After a retention purge, verification of this chain starts at the entry after this one.
    anchor_seq = models.BigIntegerField(default=0)
    anchor_hash = models.CharField(max_length=64, default="0" * 64)

    class Meta:
        verbose_name = verbose_name_plural = "审计链头"

    def __str__(self) -> str:
        return f"链 {self.pk} 至第 {self.last_seq} 条"
