"""Electronic seals: the deployment's 制章者 (SealAuthority), each agency's seals, the authorisations flows grant to
use one on a document, and every use (SealUse). See docs/seals.md.

Private keys are stored only encrypted under OA_SEAL_KEK (documents.seals.keys); ``kek_id`` says which KEK, so a
rotation can find the rows still under an old key.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from oa.models import Role


class SealAuthority(models.Model):
    """制章者: the CA that issues seal certificates (ECDSA P-256 for PAdES, SM2 for GB/T 38540).

    One row is active at a time; older rows stay so that seals they issued keep verifying.
    """

    uid = models.UUIDField("标识", default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField("制章者名称", max_length=200)
    cert_pem = models.TextField("CA 证书（X.509 PEM）")
    key_encrypted = models.BinaryField("CA 私钥（密文）")
    sm2_public_hex = models.CharField("SM2 公钥（x‖y，无 04 前缀）", max_length=128)
    sm2_private_encrypted = models.BinaryField("SM2 私钥（密文）")
    sm2_cert_der = models.BinaryField("SM2 制章者证书（DER）")
    kek_id = models.CharField("KEK 标识", max_length=16, db_index=True)
    is_active = models.BooleanField("当前使用", default=True)
    created_at = models.DateTimeField("创建时间", default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="创建人", null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = verbose_name_plural = "电子印章制章者"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["is_active"], condition=models.Q(is_active=True),
                                    name="seal_authority_one_active"),
        ]

    def __str__(self) -> str:
        return self.name

    def key_context(self, purpose: str) -> str:
        return f"authority:{self.uid}:{purpose}"


def seal_image_key(instance: Seal, filename: str) -> str:
    return f"seals/images/{uuid.uuid4().hex}.png"


def seal_use_key(instance: SealUse, filename: str) -> str:
    return f"seals/uses/{uuid.uuid4().hex}.pdf"


class Seal(models.Model):
    class Kind(models.TextChoices):
        OFFICIAL = "official", "公章"
        BUSINESS = "business", "业务专用章"
        SIGNATURE = "signature", "签名章"

    class Algorithm(models.TextChoices):
        ECDSA_P256 = "ecdsa_p256", "ECDSA P-256"
        RSA_2048 = "rsa_2048", "RSA-2048"

    class ImageSource(models.TextChoices):
        GENERATED = "generated", "系统生成"
        UPLOADED = "uploaded", "上传"

    agency = models.ForeignKey("oa.Agency", verbose_name="所属机关", on_delete=models.PROTECT, related_name="seals")
    authority = models.ForeignKey(SealAuthority, verbose_name="制章者", on_delete=models.PROTECT, related_name="seals")
    kind = models.CharField("印章类型", max_length=12, choices=Kind.choices, default=Kind.OFFICIAL)
    name = models.CharField("印章名称", max_length=200)
    es_id = models.CharField("印章编码（esID）", max_length=64, unique=True)
    image = models.FileField("印章图片（PNG）", upload_to=seal_image_key, max_length=300)
    image_source = models.CharField("图片来源", max_length=10, choices=ImageSource.choices, default=ImageSource.GENERATED)
    valid_from = models.DateTimeField("有效期起")
    valid_to = models.DateTimeField("有效期止")
    holder_role = models.CharField("持章角色", max_length=20, choices=Role.choices, default=Role.SEAL_KEEPER)
    algorithm = models.CharField("签名算法", max_length=12, choices=Algorithm.choices, default=Algorithm.ECDSA_P256)
    cert_pem = models.TextField("印章证书（X.509 PEM）")
    cert_serial = models.CharField("证书序列号（十六进制）", max_length=64, db_index=True)
    key_encrypted = models.BinaryField("印章私钥（密文）")
    sm2_public_hex = models.CharField("SM2 公钥（x‖y，无 04 前缀）", max_length=128)
    sm2_private_encrypted = models.BinaryField("SM2 私钥（密文）")
    sm2_cert_der = models.BinaryField("SM2 签章者证书（DER）")
    ses_seal = models.BinaryField("电子印章数据（GB/T 38540 SES_Seal，DER）")
    kek_id = models.CharField("KEK 标识", max_length=16, db_index=True)
    is_active = models.BooleanField("启用", default=True)
    revoked_at = models.DateTimeField("注销时间", null=True, blank=True)
    revoked_reason = models.CharField("注销原因", max_length=200, blank=True)
    created_at = models.DateTimeField("创建时间", default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="制作人", null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = verbose_name_plural = "电子印章"
        ordering = ["agency__sort_order", "kind", "id"]
        indexes = [models.Index(fields=["agency", "kind", "is_active"])]

    def __str__(self) -> str:
        return self.name

    def key_context(self, purpose: str) -> str:
        return f"seal:{self.es_id}:{purpose}"

    def is_valid_at(self, moment) -> bool:
        return self.valid_from <= moment <= self.valid_to


class SealAuthorization(models.Model):
    """A flow step's permission to use a seal once on one document (the 用印 step of 发文 creates it).

    ``step_token`` is what the step presents when stamping (e.g. the viewflow task token), so a stamping outside
    that step, or a second one, finds no usable authorisation.
    """

    document = models.ForeignKey(
        "documents.OfficialDocument", verbose_name="公文", on_delete=models.CASCADE, related_name="seal_authorizations"
    )
    agency = models.ForeignKey("oa.Agency", verbose_name="用印机关", on_delete=models.PROTECT, related_name="+")
    seal = models.ForeignKey(
        Seal, verbose_name="指定印章", null=True, blank=True, on_delete=models.PROTECT, related_name="authorizations",
        help_text="为空时可用该机关任一有效公章",
    )
    step_label = models.CharField("流程环节", max_length=100)
    step_token = models.CharField("环节令牌", max_length=200, db_index=True)
    authorised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="授权人", on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField("授权时间", default=timezone.now)
    expires_at = models.DateTimeField("失效时间")
    used_at = models.DateTimeField("使用时间", null=True, blank=True)
    revoked_at = models.DateTimeField("撤销时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "用印授权"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.step_label}：{self.document_id}"

    def is_open(self, moment=None) -> bool:
        moment = moment or timezone.now()
        return self.used_at is None and self.revoked_at is None and moment < self.expires_at


class SealUse(models.Model):
    """One stamping: the signed PDF (PAdES inside) and the GB/T 38540 SES_Signature over it. Never changed."""

    document = models.ForeignKey(
        "documents.OfficialDocument", verbose_name="公文", on_delete=models.PROTECT, related_name="seal_uses"
    )
    seal = models.ForeignKey(Seal, verbose_name="印章", on_delete=models.PROTECT, related_name="uses")
    authorization = models.OneToOneField(
        SealAuthorization, verbose_name="用印授权", on_delete=models.PROTECT, related_name="use"
    )
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="用印人", on_delete=models.PROTECT, related_name="+")
    step_label = models.CharField("流程环节", max_length=100)
    signed_at = models.DateTimeField("签章时间")
    pdf_before_sha256 = models.CharField("盖章前 PDF SHA-256", max_length=64)
    signed_pdf = models.FileField("盖章后 PDF", upload_to=seal_use_key, max_length=300)
    signed_pdf_sha256 = models.CharField("盖章后 PDF SHA-256", max_length=64, db_index=True)
    signed_pdf_sm3 = models.CharField("盖章后 PDF SM3", max_length=64)
    ses_signature = models.BinaryField("电子签章数据（GB/T 38540 SES_Signature，DER）")
    pades_field = models.CharField("PDF 签名域", max_length=64)
    pades_signature_sha256 = models.CharField("PDF 签名值 SHA-256", max_length=64, unique=True)
    anchor = models.JSONField("用印位置", default=dict)  # page (0-based), center x/y and diameter in pt

    class Meta:
        verbose_name = verbose_name_plural = "用印记录"
        ordering = ["signed_at", "id"]

    def __str__(self) -> str:
        return f"{self.seal} → {self.document_id}"
