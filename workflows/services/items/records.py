"""Tables of the items in workflows/services/items/ (imported by workflows/services/models.py so Django sees them).

干部人事档案查阅 and 公文借阅 both end in an ``AccessGrant``: read access to one thing until a time, every read
audited, expired by the scheduler (jobs.py ``services.expire_access``) and refused afterwards even before it runs.
因公出国(境) keeps the trip and its 证照 custody log; 值班排班 the monthly roster of an agency.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class PersonnelFile(models.Model):
    """干部人事档案 (a simple model of the file): 档号, the keeping agency and the file's parts as text."""

    person = models.OneToOneField(settings.AUTH_USER_MODEL, verbose_name="本人", on_delete=models.PROTECT,
                                  related_name="personnel_file")
    agency = models.ForeignKey("oa.Agency", verbose_name="管理单位", on_delete=models.PROTECT, related_name="+")
    file_number = models.CharField("档号", max_length=40, unique=True)
    sections = models.JSONField("档案内容", default=list)  # [{"title": "履历材料", "content": "…"}]
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "干部人事档案"
        ordering = ["file_number"]

    def __str__(self) -> str:
        return f"{self.file_number}"


class AccessGrant(models.Model):
    """限时查阅: granted when the application is approved, valid until ``valid_until``, expired by the scheduler."""

    class Kind(models.TextChoices):
        PERSONNEL_FILE = "personnel_file", "干部人事档案"
        DOCUMENT = "document", "归档公文"

    class State(models.TextChoices):
        ACTIVE = "active", "有效"
        EXPIRED = "expired", "已到期"

    application = models.OneToOneField("services.ServiceApplication", on_delete=models.PROTECT,
                                       related_name="access_grant")
    kind = models.CharField("类型", max_length=20, choices=Kind.choices)
    reader = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="查阅人", on_delete=models.PROTECT,
                               related_name="+")
    personnel_file = models.ForeignKey(PersonnelFile, null=True, blank=True, on_delete=models.PROTECT,
                                       related_name="grants")
    document = models.ForeignKey("documents.OfficialDocument", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+")
    granted_at = models.DateTimeField("授权时间")
    valid_until = models.DateTimeField("有效期至")
    state = models.CharField("状态", max_length=10, choices=State.choices, default=State.ACTIVE)
    expired_at = models.DateTimeField("收回时间", null=True, blank=True)
    reads = models.PositiveIntegerField("查阅次数", default=0)

    class Meta:
        verbose_name = verbose_name_plural = "限时查阅授权"
        indexes = [models.Index(fields=["state", "valid_until"]), models.Index(fields=["reader", "state"])]
        constraints = [models.CheckConstraint(
            condition=(models.Q(kind="personnel_file", personnel_file__isnull=False, document__isnull=True)
                       | models.Q(kind="document", document__isnull=False, personnel_file__isnull=True)),
            name="access_grant_one_target")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}查阅 {self.application_id}"


class AbroadTrip(models.Model):
    """因公出国(境): where, why, when, who organises, and the 证照 (passport) kept by the 主管部门."""

    class Passport(models.TextChoices):
        OFFICIAL = "official", "因公普通护照"
        SERVICE = "service", "公务护照"
        HKMO = "hkmo", "因公往来港澳通行证"
        TW = "tw", "因公往来台湾通行证"

    class Custody(models.TextChoices):
        KEPT = "kept", "集中保管"
        ISSUED = "issued", "已领用"
        RETURNED = "returned", "已归还"

    application = models.OneToOneField("services.ServiceApplication", on_delete=models.CASCADE, related_name="abroad")
    traveller = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    destination = models.CharField("出访国家（地区）", max_length=100)
    organizer = models.CharField("组团单位", max_length=100)
    start = models.DateField("出境日期")
    end = models.DateField("入境日期")
    passport = models.CharField("证照", max_length=10, choices=Passport.choices)
    custody = models.CharField("证照状态", max_length=10, choices=Custody.choices, default=Custody.KEPT)

    def __str__(self) -> str:
        return f"{self.destination} {self.start}～{self.end}"


class PassportLog(models.Model):
    """证照领用/归还 log line (who handed it over, to whom, when)."""

    class Kind(models.TextChoices):
        ISSUE = "issue", "领用"
        RETURN = "return", "归还"

    trip = models.ForeignKey(AbroadTrip, on_delete=models.CASCADE, related_name="passport_log")
    kind = models.CharField("类型", max_length=10, choices=Kind.choices)
    keeper = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="经办人", on_delete=models.PROTECT,
                               related_name="+")
    at = models.DateTimeField("时间")
    note = models.CharField("备注", max_length=200, blank=True)

    class Meta:
        ordering = ["at", "pk"]
        constraints = [models.UniqueConstraint(fields=["trip", "kind"], name="passport_log_once")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.at:%Y-%m-%d %H:%M}"


class DutyRoster(models.Model):
    """值班表: one per agency per month, made by the agency's 办公室 (文书); people see their days."""

    agency = models.ForeignKey("oa.Agency", verbose_name="机关", on_delete=models.PROTECT, related_name="+")
    month = models.DateField("月份")  # the first day of the month
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    published_at = models.DateTimeField("发布时间")
    version = models.PositiveIntegerField("版本", default=1)

    class Meta:
        verbose_name = verbose_name_plural = "值班表"
        constraints = [models.UniqueConstraint(fields=["agency", "month"], name="duty_roster_per_month")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} 值班表"


class DutySlot(models.Model):
    roster = models.ForeignKey(DutyRoster, on_delete=models.CASCADE, related_name="slots")
    day = models.DateField("日期")
    person = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="值班人", on_delete=models.PROTECT,
                               related_name="duty_slots")

    class Meta:
        ordering = ["day", "pk"]
        constraints = [models.UniqueConstraint(fields=["roster", "day", "person"], name="duty_slot_once")]
        indexes = [models.Index(fields=["person", "day"])]

    def __str__(self) -> str:
        return f"{self.day} {self.person_id}"
