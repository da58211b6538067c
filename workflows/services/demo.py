"""The shipped catalogue for the demo district (docs/services.md 事项清单): items, office supplies and HR data.

Shipped as a seed action (``manage.py load_service_demo``), not a data migration: an item names its 主管部门 and
route roles, which are the deployment's directory data — absent when migrations run, and different in every
district. A real deployment adds its items on the 事项管理 page; this seeds the demo district (oa/actions/demo.py).
"""

from __future__ import annotations

from pathlib import Path

from django.db import transaction

from integrations.hr.actions import check_import_hr
from integrations.hr.source import parse_csv
from oa.models import Agency, Department, Person
from workflows.services.actions import ItemFields, check_save_item
from workflows.services.catalogue import parse_materials, parse_route
from workflows.services.handlers import registered_handlers
from workflows.services.models import ServiceItem, SupplyItem

HR_DEMO = Path(__file__).resolve().parents[2] / "integrations" / "hr" / "demo" / "hr_demo.csv"
OFFICE = "揭东府办"

ITEMS = [
    dict(code="employment_cert", name="在职证明开具", handler="employment_cert", department="综合科",
         intake_role="dept_head", time_limit_days=1, result_type="certificate", instant=True,
         legal_basis="《公务员法》；区府办干部人事管理职责分工。",
         guide="证明内容全部取自通讯录和人事数据，受理人核对后当即出具加盖本机关电子公章的电子证明，可扫码验章。",
         materials="姓名：通讯录\n机关：通讯录\n部门：通讯录\n职务：通讯录\n入职日期：人事数据\n职级：人事数据",
         route=""),
    dict(code="income_cert", name="收入证明开具", handler="income_cert", department="综合科",
         intake_role="dept_head", time_limit_days=3, result_type="certificate",
         legal_basis="区府办财务管理制度。",
         guide="收入信息取自财务（人事）数据；经所在部门负责人审核后出具电子证明。",
         materials="姓名：通讯录\n部门：通讯录\n职级：人事数据\n收入档次：人事数据\n年收入：人事数据",
         route="部门负责人审核：部门负责人@申请人部门"),
    dict(code="leave", name="请休假", handler="leave", department="综合科", intake_role="dept_head",
         time_limit_days=2, result_type="approval",
         legal_basis="《公务员法》；《职工带薪年休假条例》；国务院办公厅节假日安排通知。",
         guide="工作日按法定节假日和调休安排自动计算；年休假余额取自人事数据。假期结束返岗后请在办件中销假。",
         materials="姓名：通讯录\n部门：通讯录\n年休假余额：人事数据",
         route="部门负责人审批：部门负责人@申请人部门\n分管领导审批：分管领导@申请人部门"),
    dict(code="supplies", name="办公用品领用", handler="supplies", department="机要室", intake_role="clerk",
         time_limit_days=1, result_type="stock", instant=True, legal_basis="区府办办公用品管理办法。",
         guide="选择物品和数量，机要室受理后即发放；库存低于预警线时提醒保管人。",
         materials="姓名：通讯录\n部门：通讯录", route=""),
]
SUPPLIES = [("A4 复印纸", "包", 40, 10), ("黑色签字笔", "支", 200, 30), ("文件盒", "个", 30, 5)]


@transaction.atomic
def do_load_service_demo(*, actor: Person | None = None) -> dict[str, int]:
    """Idempotent: items by code (updated in place), supplies by name, the HR demo file imported again."""
    office = Agency.objects.get(doc_code=OFFICE)
    # The kinds in items/ bring their own demo entries (handlers.ServiceHandler.demo / .seed).
    plugged = [h for h in registered_handlers().values()]
    items = ITEMS + [h.demo for h in plugged if h.demo]
    codes = set(ServiceItem.objects.values_list("code", flat=True)) | {i["code"] for i in items}
    for spec in items:
        fields = ItemFields(
            code=spec["code"], name=spec["name"], handler=spec["handler"],
            department=Department.objects.get(agency=office, name=spec["department"]),
            intake_role=spec["intake_role"], time_limit_days=spec["time_limit_days"],
            result_type=spec["result_type"], route=parse_route(spec["route"]),
            materials=parse_materials(spec["materials"], codes), legal_basis=spec["legal_basis"],
            guide=spec["guide"], instant=spec.get("instant", False), eligible_roles=spec.get("eligible_roles", []))
        check_save_item(actor, fields, ServiceItem.objects.filter(code=spec["code"]).first())
    for name, unit, stock, low in SUPPLIES:
        SupplyItem.objects.get_or_create(agency=office, name=name,
                                         defaults={"unit": unit, "stock": stock, "low_stock": low})
    hr = check_import_hr(actor, parse_csv(HR_DEMO.read_bytes()), source="演示数据 hr_demo.csv")
    seeded = sum(h.seed(office) for h in plugged if h.seed)
    return {"items": len(items), "supplies": len(SUPPLIES), "hr": hr, "seeded": seeded}
