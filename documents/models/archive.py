"""归档: a frozen package (ZIP + manifest with hashes) of everything that makes up one document."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ArchivePackage(models.Model):
    class Retention(models.TextChoices):
        PERMANENT = "permanent", "永久"
        Y30 = "30y", "30年"
        Y10 = "10y", "10年"

    document = models.OneToOneField("OfficialDocument", on_delete=models.PROTECT, related_name="archive")
    file = models.FileField("归档包", upload_to="archive/", max_length=300)
    sha256 = models.CharField("归档包SHA-256", max_length=64)
    manifest = models.JSONField("清单")
    retention = models.CharField("保管期限", max_length=10, choices=Retention.choices)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField("归档时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "归档包"

    def __str__(self) -> str:
        return f"归档包 {self.document_id}"
