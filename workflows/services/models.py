"""零跑动 internal services (docs/services.md): the catalogue as data, applications, their timeline and results.

A ServiceItem is an administrator's data, never code: its route is a list of stages, each a list of role-based steps
(more than one step in a stage = 协作联办, run in parallel). The generic ServiceFlow (flows.py) runs it. Business data
lives here; the viewflow Process keeps only flow state (process.data: application_id, stages resolved to people).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class ServiceItem(models.Model):
    class Handler(models.TextChoices):
        # What the item's form asks and what its result is; the route and everything else is data.
        EMPLOYMENT_CERT = "employment_cert", "在职证明"
        INCOME_CERT = "income_cert", "收入证明"
        LEAVE = "leave", "请休假"
        SUPPLIES = "supplies", "办公用品领用"
        GENERAL = "general", "通用审批"

    class Result(models.TextChoices):
        CERTIFICATE = "certificate", "加盖电子印章的电子证明"
        APPROVAL = "approval", "审批记录"
        BOOKING = "booking", "预约登记"
        STOCK = "stock", "物品发放"

    code = models.SlugField("事项编码", max_length=50, unique=True)
    name = models.CharField("事项名称", max_length=100)
    handler = models.CharField("办理类型", max_length=20, choices=Handler.choices)
    department = models.ForeignKey("oa.Department", verbose_name="主管部门", on_delete=models.PROTECT,
                                   related_name="service_items")
    intake_role = models.CharField("受理岗位", max_length=20)  # held in the 主管部门: 一门受理
    legal_basis = models.TextField("设定依据", blank=True)
    guide = models.TextField("办事指南说明", blank=True)
    eligible_roles = models.JSONField("可申请角色", default=list, blank=True)  # empty: every civil servant
    eligible_agencies = models.ManyToManyField("oa.Agency", verbose_name="可申请机关", blank=True,
                                               related_name="+")  # empty: every agency
    materials = models.JSONField("申请材料", default=list, blank=True)  # [{name, source, field}]
    time_limit_days = models.PositiveIntegerField("承诺时限（工作日）")
    route = models.JSONField("审批路线", default=list, blank=True)  # [[{title, role, scope}, ...], ...]
    result_type = models.CharField("办理结果", max_length=20, choices=Result.choices)
    instant = models.BooleanField("即办件", default=False)
    zero_visit = models.BooleanField("零跑动", default=True)
    non_classified = models.BooleanField("非涉密", default=True)
    is_active = models.BooleanField("已上线", default=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "服务事项"
        ordering = ["department__agency__sort_order", "code"]

    def __str__(self) -> str:
        return self.name

    @property
    def agency(self):
        return self.department.agency


class ServiceApplication(models.Model):
    class Status(models.TextChoices):
        SUBMITTED = "submitted", "已提交"
        ACCEPTED = "accepted", "审批中"
        AMENDING = "amending", "待补正"
        DONE = "done", "已办结"
        REJECTED = "rejected", "不予办理"

    item = models.ForeignKey(ServiceItem, verbose_name="事项", on_delete=models.PROTECT, related_name="applications")
    number = models.CharField("办件编号", max_length=40, unique=True)
    applicant = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="申请人", on_delete=models.PROTECT,
                                  related_name="service_applications")
    agency = models.ForeignKey("oa.Agency", verbose_name="申请人机关", on_delete=models.PROTECT, related_name="+")
    department = models.ForeignKey("oa.Department", verbose_name="申请人部门", on_delete=models.PROTECT,
                                   related_name="+")
    status = models.CharField("状态", max_length=20, choices=Status.choices, default=Status.SUBMITTED)
    prefill = models.JSONField("系统带出信息", default=dict)  # {key: {label, value, source}}; never typed
    form = models.JSONField("申请人填写", default=dict)
    process_id = models.PositiveIntegerField("流程", null=True, blank=True)
    submitted_at = models.DateTimeField("提交时间")
    deadline = models.DateTimeField("承诺办结时间")
    completed_at = models.DateTimeField("办结时间", null=True, blank=True)
    amend_count = models.PositiveIntegerField("补正次数", default=0)
    result_note = models.CharField("办理结果说明", max_length=500, blank=True)
    rating = models.PositiveSmallIntegerField("评价", null=True, blank=True)
    rating_comment = models.CharField("评价意见", max_length=500, blank=True)
    rated_at = models.DateTimeField("评价时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "办件"
        ordering = ["-submitted_at", "-id"]
        constraints = [models.CheckConstraint(condition=models.Q(rating__isnull=True) | models.Q(rating__gte=1, rating__lte=5),
                                              name="service_rating_1_to_5")]

    def __str__(self) -> str:
        return f"{self.item.name}（{self.number}）"


class ApplicationEvent(models.Model):
    """One line of the applicant's status timeline."""

    class Kind(models.TextChoices):
        SUBMITTED = "submitted", "提交申请"
        ACCEPTED = "accepted", "受理"
        APPROVED = "approved", "审批同意"
        RETURNED = "returned", "退回补正"
        RESUBMITTED = "resubmitted", "补正后重新提交"
        REJECTED = "rejected", "不予办理"
        COMPLETED = "completed", "办结"
        RATED = "rated", "评价"
        LEAVE_CANCELLED = "leave_cancelled", "销假"
        SEALED = "sealed", "用印"
        DISPATCHED = "dispatched", "派车"
        VEHICLE_RETURNED = "vehicle_returned", "还车登记"
        ACCESS_GRANTED = "access_granted", "授予查阅权限"
        ACCESS_READ = "access_read", "查阅"
        ACCESS_EXPIRED = "access_expired", "查阅期满收回"
        PASSPORT_ISSUED = "passport_issued", "证照领用"
        PASSPORT_RETURNED = "passport_returned", "证照归还"
        ROSTER_CHANGED = "roster_changed", "值班表已调整"
        OVERDUE_URGED = "overdue_urged", "超期自动催办"

    application = models.ForeignKey(ServiceApplication, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+")
    step = models.CharField(max_length=100, blank=True)
    note = models.CharField(max_length=500, blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.at:%Y-%m-%d %H:%M}"


class ServiceCertificate(models.Model):
    """An electronic certificate: a PDF sealed (PAdES + GB/T 38540 SES) with the 主管部门's agency seal."""

    application = models.OneToOneField(ServiceApplication, on_delete=models.PROTECT, related_name="certificate")
    public_id = models.UUIDField("证明编号", default=uuid.uuid4, unique=True, editable=False)
    seal = models.ForeignKey("documents.Seal", on_delete=models.PROTECT, related_name="+")
    pdf = models.FileField(upload_to="services/certificates/%Y/%m/")
    pdf_sha256 = models.CharField(max_length=64)
    pades_signature_sha256 = models.CharField(max_length=64)
    ses_signature = models.BinaryField()
    issued_at = models.DateTimeField()

    class Meta:
        verbose_name = verbose_name_plural = "电子证明"

    def __str__(self) -> str:
        return f"电子证明 {self.public_id}"


class LeaveRecord(models.Model):
    """请休假: the dates and working days of one application, for balance and overlap checks and 销假."""

    class Kind(models.TextChoices):
        ANNUAL = "annual", "年休假"
        PERSONAL = "personal", "事假"
        SICK = "sick", "病假"

    class State(models.TextChoices):
        PENDING = "pending", "审批中"
        APPROVED = "approved", "已批准"
        REJECTED = "rejected", "未批准"
        CLOSED = "closed", "已销假"

    application = models.OneToOneField(ServiceApplication, on_delete=models.CASCADE, related_name="leave")
    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="leave_records")
    kind = models.CharField("假别", max_length=20, choices=Kind.choices)
    start = models.DateField("开始日期")
    end = models.DateField("结束日期")
    working_days = models.PositiveIntegerField("工作日天数")
    state = models.CharField("状态", max_length=20, choices=State.choices, default=State.PENDING)
    returned_on = models.DateField("销假日期", null=True, blank=True)
    used_days = models.PositiveIntegerField("实际休假工作日", null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["person", "start"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.start}～{self.end}"


class SupplyItem(models.Model):
    """办公用品 in one agency's store: stock and the level below which its keeper is alerted."""

    agency = models.ForeignKey("oa.Agency", verbose_name="机关", on_delete=models.PROTECT, related_name="+")
    name = models.CharField("物品名称", max_length=100)
    unit = models.CharField("单位", max_length=10, default="件")
    stock = models.PositiveIntegerField("库存", default=0)
    low_stock = models.PositiveIntegerField("库存预警线", default=0)

    class Meta:
        verbose_name = verbose_name_plural = "办公用品"
        constraints = [models.UniqueConstraint(fields=["agency", "name"], name="supply_unique_name")]

    def __str__(self) -> str:
        return self.name


def material_key(instance, filename: str) -> str:
    # A random key: the applicant's file name never reaches the storage path.
    return f"services/materials/{uuid.uuid4().hex}"


class ApplicationMaterial(models.Model):
    """An 上传 material of an application (only what the system cannot obtain itself), checked by content."""

    application = models.ForeignKey(ServiceApplication, on_delete=models.CASCADE, related_name="materials")
    name = models.CharField("材料名称", max_length=30)
    file = models.FileField(upload_to=material_key, max_length=200)
    filename = models.CharField("文件名", max_length=200)
    kind = models.CharField("类型", max_length=10)
    size = models.PositiveIntegerField("大小")
    sha256 = models.CharField(max_length=64)
    uploaded_at = models.DateTimeField()

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.name}（{self.filename}）"


# The 机关事务 items' records (用印, 公务用车, 会议室, 出差, 办公用房) live beside their item code.
from workflows.services.items.affairs_models import (  # noqa: E402, F401
    Driver,
    OfficeRequest,
    OfficeRoom,
    RoomRequest,
    SealRequest,
    TravelRequest,
    Vehicle,
    VehicleTrip,
)

# Tables of the item kinds in workflows/services/items/ (kept apart so each kind stays in its own files).
from workflows.services.items.records import (  # noqa: E402, F401
    AbroadTrip,
    AccessGrant,
    DutyRoster,
    DutySlot,
    PassportLog,
    PersonnelFile,
)
