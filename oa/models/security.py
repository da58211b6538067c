"""Login-control state that is not on Person: password history (最近5次不可重复)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class PasswordHistory(models.Model):
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="人员", on_delete=models.CASCADE, related_name="password_history"
    )
    password = models.CharField("密码摘要", max_length=128)
    created_at = models.DateTimeField("设置时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "历史密码"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.person} {self.created_at:%Y-%m-%d}"
