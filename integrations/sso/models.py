"""Who a provincial identity is here: (provider, subject) → Person, linked by an administrator, never guessed."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django_otp.models import Device


class Provider(models.TextChoices):
    OIDC = "oidc", "OpenID Connect"
    CAS = "cas", "CAS"


class SsoIdentity(models.Model):
    """One provincial account linked to one Person. The key is the provider's stable subject (OIDC `sub`, the CAS
    user or the configured attribute), never the e-mail address: addresses are reassigned and are not unique."""

    provider = models.CharField("认证方式", max_length=8, choices=Provider.choices)
    subject = models.CharField("统一身份标识", max_length=255)
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sso_identities", verbose_name="人员"
    )
    linked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name="关联人",
    )
    linked_at = models.DateTimeField("关联时间", auto_now_add=True)
    last_login_at = models.DateTimeField("最近登录", null=True, blank=True)

    class Meta:
        verbose_name = "统一身份关联"
        verbose_name_plural = "统一身份关联"
        constraints = [
            models.UniqueConstraint(fields=["provider", "subject"], name="sso_identity_subject_unique"),
            models.UniqueConstraint(fields=["provider", "person"], name="sso_identity_person_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.get_provider_display()} {self.subject} → {self.person}"


class SsoAssertionDevice(Device):
    """The second factor the provincial identity provider vouched for: an OIDC login whose `acr` is listed in
    OA_OIDC_STRONG_ACR marks the session verified through this device (django_otp.login), so every check of
    `user.is_verified()` — the login gate, 用印 pages — sees the same answer. It holds no secret and accepts no
    typed code; it only exists so the session can name what verified it."""

    provider = models.CharField("认证方式", max_length=8, choices=Provider.choices)

    class Meta:
        verbose_name = "统一身份认证强认证"
        verbose_name_plural = "统一身份认证强认证"
        constraints = [models.UniqueConstraint(fields=["user", "provider"], name="sso_device_user_provider_unique")]

    def verify_token(self, token) -> bool:
        return False
