"""Demo data of the 机关事务 kinds (docs/services.md 演示事项): the catalogue entries of 用印申请, 公务用车, 会议室预约,
出差审批, 办公用房 (each kind's ``ServiceHandler.demo``, saved by ``load_service_demo`` through ``check_save_item``
like any administrator's item) and the seeds (``ServiceHandler.seed``): the car pool, the drivers and the office 台账.
Meeting rooms are the meetings app's (``meetings_demo``)."""

from __future__ import annotations

from decimal import Decimal

from oa.models import Agency, Person
from workflows.services.items.affairs_models import Driver, OfficeRoom, Vehicle

ITEMS = [
    dict(code="seal", name="用印申请", handler="seal", department="机要室", intake_role="clerk", time_limit_days=2,
         result_type="approval", legal_basis="《党政机关公文处理工作条例》；区府办印章管理办法。",
         guide="实物用印或电子用印。电子用印上传 PDF，审批通过后由印章管理员加盖电子印章（PAdES 签名 + GB/T 38540 签章），"
               "可在验章页核验；实物用印登记份数。",
         materials="姓名：通讯录\n部门：通讯录",
         route="部门负责人审批：部门负责人@申请人部门\n用印：印章管理员@主管机关"),
    dict(code="vehicle", name="公务用车", handler="vehicle", department="机要室", intake_role="clerk",
         time_limit_days=1, result_type="booking", legal_basis="《党政机关公务用车管理办法》。",
         guide="填写用车时间、起止地点和人数；部门负责人审批后由车管员从车辆池派车并指定驾驶员，车辆不会重复派出；"
               "还车时车管员登记里程。",
         materials="姓名：通讯录\n部门：通讯录\n职务：通讯录",
         route="部门负责人审批：部门负责人@申请人部门\n派车：办公室/文书@主管部门"),
    dict(code="meeting_room", name="会议室预约", handler="room", department="机要室", intake_role="clerk",
         time_limit_days=1, result_type="booking", legal_basis="区府办会议室管理规定。",
         guide="选择会议室和时段（与会议安排共用同一套会议室和冲突检查），审批通过即排入会议安排。",
         materials="姓名：通讯录\n部门：通讯录",
         route="部门负责人审批：部门负责人@申请人部门"),
    dict(code="travel", name="出差审批", handler="travel", department="综合科", intake_role="dept_head",
         time_limit_days=2, result_type="approval", legal_basis="《党政机关厉行节约反对浪费条例》；区级差旅费管理办法。",
         guide="差旅费余额取自财务数据；超出余额的出差不拒绝，增加主要负责人“超预算审批”环节。",
         materials="姓名：通讯录\n部门：通讯录\n职级：人事数据",
         route="部门负责人审批：部门负责人@申请人部门\n分管领导审批：分管领导@申请人部门"),
    dict(code="office_space", name="办公用房", handler="office", department="综合科", intake_role="dept_head",
         time_limit_days=5, result_type="approval", legal_basis="《党政机关办公用房管理办法》；《党政机关办公用房建设标准》。",
         guide="申请分配或调整办公用房；系统按台账和职务职级核对人均面积标准，超标时提醒审批人。",
         materials="姓名：通讯录\n部门：通讯录\n职务：通讯录",
         route="分管领导审批：分管领导@主管部门"),
]
VEHICLES = [("粤V·A1234", "大众帕萨特", 5, 52310), ("粤V·A5678", "别克GL8", 7, 88020)]
DRIVERS = [("陈师傅", "13800000001"), ("林师傅", "13800000002")]
OFFICES = [("区府大楼", "301", "18", ["zhangwei"]), ("区府大楼", "302", "24", ["lina"]),
           ("区府大楼", "303", "12", []), ("区府大楼", "305", "36", ["gaojun", "xuli"])]


DEMO = {spec["handler"]: spec for spec in ITEMS}  # each kind's ``ServiceHandler.demo``


def seed_fleet(office: Agency) -> int:
    """公务用车's demo seed: the car pool and the drivers (idempotent)."""
    for plate, model, seats, mileage in VEHICLES:
        Vehicle.objects.get_or_create(plate=plate, defaults={"agency": office, "model": model, "seats": seats,
                                                              "mileage": mileage})
    for name, phone in DRIVERS:
        Driver.objects.get_or_create(agency=office, name=name, defaults={"phone": phone})
    return len(VEHICLES) + len(DRIVERS)


def seed_offices(office: Agency) -> int:
    """办公用房's demo seed: the office 台账 (rooms created once, with their first occupants)."""
    for building, number, area, usernames in OFFICES:
        room, created = OfficeRoom.objects.get_or_create(agency=office, building=building, number=number,
                                                         defaults={"area": Decimal(area)})
        if created:
            room.occupants.set(Person.objects.filter(username__in=usernames))
    return len(OFFICES)
