"""发文 distribution list: one row per receiving agency with its status (签收 comes with the 收文 issue)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

__all__ = ["DistributionRecipient"]


class DistributionRecipient(models.Model):
    class Kind(models.TextChoices):
        MAIN = "main", "主送"
        CC = "cc", "抄送"

    class Status(models.TextChoices):
        PENDING = "pending", "待签收"
        SIGNED = "signed", "已签收"
        RETURNED = "returned", "已退回"
        WITHDRAWN = "withdrawn", "已取回"
        # The agency refused (退回) and the sender acted on it: a new row carries the new delivery (replaces → this).
        REISSUED = "reissued", "已补发"  # sent again to the same agency
        REDIRECTED = "redirected", "已改送"  # sent instead to another agency

    document = models.ForeignKey("documents.OfficialDocument", on_delete=models.PROTECT, related_name="recipients")
    process = models.ForeignKey("viewflow.Process", on_delete=models.PROTECT, related_name="+")
    agency = models.ForeignKey("oa.Agency", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField("类别", max_length=8, choices=Kind.choices, default=Kind.MAIN)
    status = models.CharField("状态", max_length=12, choices=Status.choices, default=Status.PENDING)
    sent_at = models.DateTimeField("分发时间", auto_now_add=True)
    sent_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    status_at = models.DateTimeField("状态时间", null=True, blank=True)
    status_by = models.CharField("经办人", max_length=50, blank=True)  # the receiver's person, by name
    reason = models.CharField("原因", max_length=500, blank=True)  # 退回 reason
    # The receiver's 收文 when it lives in this deployment (internal delivery); None for another deployment's.
    incoming = models.OneToOneField("documents.IncomingDocument", verbose_name="收文", null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="distribution")
    copies = models.PositiveIntegerField("签收份数", null=True, blank=True)
    # 取回 asked of another deployment, not yet acknowledged (the receipt "withdrawn" or "withdraw_refused" ends it).
    withdraw_requested_at = models.DateTimeField("申请取回时间", null=True, blank=True)
    # The package that carried this copy (internal or exchange): receipts from another deployment name it, and a
    # 补发 to the same agency is a new package, so late receipts of the refused one cannot touch the new row.
    package_id = models.UUIDField("交换包标识", null=True, blank=True)
    # 补发/改送: the refused row this one replaces (that row stays, status 已补发/已改送, with its reason).
    replaces = models.OneToOneField("self", verbose_name="替代", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="replaced_by")

    class Meta:
        verbose_name = verbose_name_plural = "分发对象"
        ordering = ["kind", "id"]
        # One live row per agency; rows superseded by 补发/改送 stay as history.
        constraints = [models.UniqueConstraint(fields=["document", "agency"], name="distribution_unique_live_agency",
                                               condition=~models.Q(status__in=["reissued", "redirected"]))]

    SUPERSEDED = ("reissued", "redirected")

    def __str__(self) -> str:
        return f"{self.agency_id} {self.get_status_display()}"

    @property
    def is_superseded(self) -> bool:
        return self.status in self.SUPERSEDED
