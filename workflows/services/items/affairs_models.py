"""Records of the 机关事务 items (docs/services.md): 用印申请, 公务用车, 会议室预约, 出差审批, 办公用房.

Imported by workflows/services/models.py so Django registers them in the services app. Each record hangs off one
ServiceApplication (integer keys, as the flow's artifacts); the application keeps the form and the timeline.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


def _random_key(prefix: str):
    def key(instance, filename: str) -> str:  # the applicant's file name never reaches the storage path
        return f"services/{prefix}/{uuid.uuid4().hex}"
    return key


def seal_source_key(instance, filename: str) -> str:
    return _random_key("seal-requests")(instance, filename)


def seal_stamped_key(instance, filename: str) -> str:
    return _random_key("seal-stamped")(instance, filename)


class SealRequest(models.Model):
    """用印申请: which seal, on what, how many copies; an electronic one keeps the uploaded PDF and the stamped one."""

    class Mode(models.TextChoices):
        PHYSICAL = "physical", "实物印章"
        ELECTRONIC = "electronic", "电子印章"

    application = models.OneToOneField("services.ServiceApplication", on_delete=models.CASCADE,
                                       related_name="seal_request")
    mode = models.CharField("用印方式", max_length=20, choices=Mode.choices)
    seal = models.ForeignKey("documents.Seal", verbose_name="印章", on_delete=models.PROTECT, related_name="+")
    document_title = models.CharField("文件名称", max_length=100)
    copies = models.PositiveIntegerField("份数", default=1)
    page = models.PositiveIntegerField("盖章页", null=True, blank=True)  # 1-based; electronic only
    source_pdf = models.FileField("待盖章 PDF", upload_to=seal_source_key, max_length=200, blank=True)
    source_sha256 = models.CharField(max_length=64, blank=True)
    stamped_pdf = models.FileField("已盖章 PDF", upload_to=seal_stamped_key, max_length=200, blank=True)
    stamped_sha256 = models.CharField(max_length=64, blank=True)
    pades_signature_sha256 = models.CharField(max_length=64, null=True, blank=True, unique=True)
    ses_signature = models.BinaryField(null=True, blank=True)
    stamped_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    stamped_at = models.DateTimeField("用印时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "用印申请"

    def __str__(self) -> str:
        return f"用印：{self.document_title}"


class Vehicle(models.Model):
    """A car of an agency's pool (公务用车平台). Retired (停用) cars stay for the trips that used them."""

    class Kind(models.TextChoices):
        SEDAN = "sedan", "轿车"
        MPV = "mpv", "商务车"
        SUV = "suv", "越野车"
        BUS = "bus", "客车"
        OTHER = "other", "其他"

    agency = models.ForeignKey("oa.Agency", verbose_name="机关", on_delete=models.PROTECT, related_name="+")
    plate = models.CharField("车牌号", max_length=20, unique=True)
    kind = models.CharField("车辆类型", max_length=10, choices=Kind.choices, default=Kind.SEDAN)
    model = models.CharField("品牌型号", max_length=50)
    seats = models.PositiveIntegerField("座位数")
    mileage = models.PositiveIntegerField("当前里程（公里）", default=0)
    is_active = models.BooleanField("可调度", default=True)

    class Meta:
        verbose_name = verbose_name_plural = "公务车辆"
        ordering = ["plate"]

    def __str__(self) -> str:
        return f"{self.plate}（{self.model}）"


class Driver(models.Model):
    agency = models.ForeignKey("oa.Agency", verbose_name="机关", on_delete=models.PROTECT, related_name="+")
    # A driver on the staff is linked to their directory entry; a contracted one is just a name and a phone.
    person = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="工作人员", null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+")
    name = models.CharField("姓名", max_length=50)
    phone = models.CharField("电话", max_length=30, blank=True)
    is_active = models.BooleanField("在岗", default=True)

    class Meta:
        verbose_name = verbose_name_plural = "驾驶员"
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["agency", "name"], name="driver_unique_name"),
                       models.UniqueConstraint(fields=["agency", "person"], name="driver_unique_person")]

    def __str__(self) -> str:
        return self.name


class VehicleTrip(models.Model):
    """公务用车: the trip asked for, then the dispatch (vehicle + driver) and the return log with mileage."""

    class State(models.TextChoices):
        PENDING = "pending", "待派车"
        DISPATCHED = "dispatched", "已派车"
        RETURNED = "returned", "已还车"
        REJECTED = "rejected", "未批准"

    application = models.OneToOneField("services.ServiceApplication", on_delete=models.CASCADE, related_name="trip")
    start = models.DateTimeField("用车开始")
    end = models.DateTimeField("用车结束")
    origin = models.CharField("出发地", max_length=100)
    destination = models.CharField("目的地", max_length=100)
    passengers = models.PositiveIntegerField("乘车人数")
    state = models.CharField("状态", max_length=20, choices=State.choices, default=State.PENDING)
    vehicle = models.ForeignKey(Vehicle, null=True, blank=True, on_delete=models.PROTECT, related_name="trips")
    driver = models.ForeignKey(Driver, null=True, blank=True, on_delete=models.PROTECT, related_name="trips")
    dispatched_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                      related_name="+")
    dispatched_at = models.DateTimeField(null=True, blank=True)
    start_mileage = models.PositiveIntegerField("出车里程", null=True, blank=True)
    end_mileage = models.PositiveIntegerField("还车里程", null=True, blank=True)
    returned_at = models.DateTimeField("还车时间", null=True, blank=True)
    returned_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")

    class Meta:
        verbose_name = verbose_name_plural = "用车记录"
        indexes = [models.Index(fields=["vehicle", "start"]), models.Index(fields=["driver", "start"])]
        constraints = [models.CheckConstraint(condition=models.Q(end__gt=models.F("start")), name="trip_end_after_start"),
                       models.CheckConstraint(condition=models.Q(end_mileage__isnull=True)
                                              | models.Q(end_mileage__gte=models.F("start_mileage")),
                                              name="trip_mileage_not_backwards")]

    def __str__(self) -> str:
        return f"{self.origin}→{self.destination}"


class RoomRequest(models.Model):
    """会议室预约: the room and time asked for; an approved one is a meetings.Meeting booked through meetings' action."""

    application = models.OneToOneField("services.ServiceApplication", on_delete=models.CASCADE,
                                       related_name="room_request")
    room = models.ForeignKey("meetings.Room", verbose_name="会议室", on_delete=models.PROTECT, related_name="+")
    title = models.CharField("会议名称", max_length=100)
    start = models.DateTimeField("开始")
    end = models.DateTimeField("结束")
    attendees = models.PositiveIntegerField("人数")
    meeting = models.OneToOneField("meetings.Meeting", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="service_request")

    class Meta:
        verbose_name = verbose_name_plural = "会议室预约"

    def __str__(self) -> str:
        return f"{self.room} {self.title}"


class TravelRequest(models.Model):
    """出差审批: where, when (working days from the calendar), the estimated cost and the 差旅 budget it met."""

    class State(models.TextChoices):
        PENDING = "pending", "审批中"
        APPROVED = "approved", "已批准"
        REJECTED = "rejected", "未批准"

    application = models.OneToOneField("services.ServiceApplication", on_delete=models.CASCADE, related_name="travel")
    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="travel_requests")
    destination = models.CharField("目的地", max_length=100)
    start = models.DateField("出发日期")
    end = models.DateField("返回日期")
    working_days = models.PositiveIntegerField("工作日天数")
    estimated_cost = models.DecimalField("预计费用（元）", max_digits=10, decimal_places=2)
    budget_year = models.PositiveIntegerField("预算年度")
    budget_remaining = models.DecimalField("申请时预算余额（元）", max_digits=12, decimal_places=2)
    over_budget = models.BooleanField("超预算", default=False)
    state = models.CharField("状态", max_length=20, choices=State.choices, default=State.PENDING)

    class Meta:
        verbose_name = verbose_name_plural = "出差审批"
        indexes = [models.Index(fields=["person", "start"])]

    def __str__(self) -> str:
        return f"出差 {self.destination}"


class OfficeRoom(models.Model):
    """办公用房: one office of an agency, its usable area and who sits in it."""

    agency = models.ForeignKey("oa.Agency", verbose_name="机关", on_delete=models.PROTECT, related_name="+")
    building = models.CharField("楼宇", max_length=60)
    number = models.CharField("房号", max_length=30)
    area = models.DecimalField("使用面积（㎡）", max_digits=7, decimal_places=2)
    occupants = models.ManyToManyField(settings.AUTH_USER_MODEL, verbose_name="使用人", blank=True,
                                       related_name="office_rooms")
    is_active = models.BooleanField("可分配", default=True)

    class Meta:
        verbose_name = verbose_name_plural = "办公用房"
        ordering = ["building", "number"]
        constraints = [models.UniqueConstraint(fields=["agency", "building", "number"], name="office_room_unique")]

    def __str__(self) -> str:
        return f"{self.building} {self.number}"


class OfficeRequest(models.Model):
    """办公用房 allocation (分配) or adjustment (调整): the room asked for and the area check the approver saw."""

    class Kind(models.TextChoices):
        ALLOCATE = "allocate", "分配"
        ADJUST = "adjust", "调整"

    application = models.OneToOneField("services.ServiceApplication", on_delete=models.CASCADE,
                                       related_name="office_request")
    kind = models.CharField("类型", max_length=20, choices=Kind.choices)
    from_room = models.ForeignKey(OfficeRoom, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    room = models.ForeignKey(OfficeRoom, verbose_name="申请用房", on_delete=models.PROTECT, related_name="+")
    area_per_person = models.DecimalField("分配后人均面积（㎡）", max_digits=7, decimal_places=2)
    standard = models.DecimalField("人均面积标准（㎡）", max_digits=5, decimal_places=1)

    class Meta:
        verbose_name = verbose_name_plural = "办公用房申请"

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.room}"

    @property
    def over_standard(self) -> bool:
        return self.area_per_person > self.standard
