"""Exchange state: this deployment's agency keys, the peers (other deployments) we trust, the nonces we have
seen, and every package that arrived (accepted or quarantined). Outgoing packages and receipts are OutboxMessage
rows on the "exchange" channel (oa.actions.outbox)."""

from __future__ import annotations

from django.db import models

__all__ = ["AgencyExchangeKey", "ExchangeNonce", "ExchangePeer", "InboundPackage"]


class AgencyExchangeKey(models.Model):
    """The Ed25519 key an agency of this deployment signs its packages with (private half encrypted under the
    KEK, like seal keys). Peers learn the public half from our exported node descriptor."""

    agency = models.ForeignKey("oa.Agency", verbose_name="机关", on_delete=models.PROTECT, related_name="+")
    key_id = models.CharField("密钥标识", max_length=64, unique=True)
    public_key = models.TextField("公钥（PEM）")
    private_key_encrypted = models.BinaryField("私钥（密文）")
    kek_id = models.CharField("加密密钥标识", max_length=16)
    is_active = models.BooleanField("启用", default=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "机关交换密钥"
        constraints = [
            models.UniqueConstraint(fields=["agency"], condition=models.Q(is_active=True),
                                    name="exchange_one_active_key_per_agency"),
        ]

    def __str__(self) -> str:
        return f"{self.agency_id} {self.key_id[:12]}"


class ExchangePeer(models.Model):
    """Another deployment we exchange with. Requests between nodes are signed with the node key (its public
    half here); packages are signed by agency keys (``agency_keys``: key id → {"uscc", "public_key"})."""

    code = models.SlugField("节点代码", max_length=40, unique=True)
    name = models.CharField("节点名称", max_length=100)
    base_url = models.URLField("地址", max_length=300)
    node_key_id = models.CharField("节点密钥标识", max_length=64)
    node_public_key = models.TextField("节点公钥（PEM）")
    agency_keys = models.JSONField("机关公钥", default=dict, blank=True)
    is_active = models.BooleanField("启用", default=True)
    created_at = models.DateTimeField("加入时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "交换节点"
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"


class ExchangeNonce(models.Model):
    """A request nonce already used by a peer: a second request with it is a replay. Rows older than the
    timestamp window are pruned (a request that old is refused by its timestamp anyway)."""

    peer = models.ForeignKey(ExchangePeer, on_delete=models.CASCADE, related_name="+")
    nonce = models.CharField(max_length=64)
    seen_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["peer", "nonce"], name="exchange_nonce_unique")]

    def __str__(self) -> str:
        return f"{self.peer_id} {self.nonce}"


class InboundPackage(models.Model):
    class Status(models.TextChoices):
        ACCEPTED = "accepted", "已接收"
        QUARANTINED = "quarantined", "已隔离"

    package_id = models.UUIDField("交换包标识", null=True, blank=True, db_index=True)
    peer = models.ForeignKey(ExchangePeer, verbose_name="来自节点", null=True, blank=True, on_delete=models.PROTECT,
                             related_name="+")
    sender_uscc = models.CharField("发送机关统一社会信用代码", max_length=18, blank=True)
    status = models.CharField("状态", max_length=12, choices=Status.choices)
    code = models.CharField("原因代码", max_length=40, blank=True)
    reason = models.CharField("原因", max_length=500, blank=True)
    size = models.PositiveIntegerField("大小（字节）", default=0)
    sha256 = models.CharField("SHA-256", max_length=64, blank=True)
    blob_key = models.CharField("存储位置", max_length=200, blank=True)  # the bytes as they arrived, kept for review
    received_at = models.DateTimeField("接收时间", auto_now_add=True)
    incoming_ids = models.JSONField("生成的收文", default=list, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "接收的交换包"
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["package_id"], condition=models.Q(status="accepted"),
                                    name="exchange_package_accepted_once"),
        ]

    def __str__(self) -> str:
        return f"{self.package_id} {self.get_status_display()}"
