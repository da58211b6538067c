"""事项管理 by the 系统管理员 (docs/services.md 如何不写代码新增事项): an item with a parallel 协作联办 stage added on
the page and run end to end; a route naming a role nobody holds, a bad line, a 涉密 item → refused at save."""

from __future__ import annotations

import pytest
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from oa.models import Agency, AuditEntry, Department
from tests.clients import login
from tests.services_helpers import load_services, open_task
from workflows.services.models import ServiceApplication, ServiceItem

pytestmark = pytest.mark.django_db

PARALLEL_ROUTE = "部门负责人审核：部门负责人@申请人部门 | 办公室复核：办公室/文书@主管机关\n主任审批：主要负责人@主管机关"


def _form(**over) -> dict:
    data = {"code": "office_room", "name": "办公用房调整", "handler": "general",
            "department": Department.objects.get(agency__doc_code="揭东府办", name="综合科").pk,
            "intake_role": "dept_head", "legal_basis": "《党政机关办公用房管理办法》", "guide": "",
            "materials_text": "姓名：通讯录\n部门：通讯录", "time_limit_days": "5", "route_text": PARALLEL_ROUTE,
            "result_type": "approval", "zero_visit": "on", "non_classified": "on", "is_active": "on"}
    data.update(over)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def admin(cast, sysadmin):
    load_services()
    return sysadmin


def test_only_the_system_administrator_manages_items(admin, cast):
    assert login(cast.zhangwei).get("/services/manage/").status_code == 403
    assert admin.get("/services/manage/").status_code == 200


def test_item_with_a_parallel_group_added_without_code_runs_end_to_end(admin, cast):
    response = admin.post("/services/manage/new", _form())
    assert response.status_code == 302, response.content.decode()[:3000]
    item = ServiceItem.objects.get(code="office_room")
    assert [[s["role"] for s in stage] for stage in item.route] == [["dept_head", "clerk"], ["principal"]]
    assert AuditEntry.objects.filter(action="services.item_create", object_id=str(item.pk)).exists()
    guide = login(cast.zhangwei).get(f"/services/items/{item.pk}/").content.decode()
    assert "协作联办（并行）" in guide

    zhangwei = login(cast.zhangwei)
    applied = zhangwei.post(f"/services/items/{item.pk}/apply", {"purpose": "秘书科新增一名工作人员，需调整工位"})
    assert applied.status_code == 302
    application = ServiceApplication.objects.get(item=item)
    task = open_task(application, cast.xuli)
    login(cast.xuli).post(f"/services/tasks/{task.pk}/", {"form": "decide", "decision": "accept"})

    # 协作联办: 李娜 (秘书科 部门负责人) and 刘洋 (办公室/文书) at the same time.
    open_ = Task.objects.filter(process_id=application.process_id, status=STATUS.ASSIGNED)
    assert {t.owner.username for t in open_} == {"lina", "liuyang"}
    assert len({str(t.token) for t in open_}) == 2
    lina_task = open_task(application, cast.lina)
    login(cast.lina).post(f"/services/tasks/{lina_task.pk}/", {"form": "decide", "decision": "agree"})
    # The next stage waits for the other branch.
    assert {t.owner.username for t in Task.objects.filter(process_id=application.process_id,
                                                          status=STATUS.ASSIGNED)} == {"liuyang"}
    liu_task = open_task(application, cast.liuyang)
    login(cast.liuyang).post(f"/services/tasks/{liu_task.pk}/", {"form": "decide", "decision": "agree"})
    boss = open_task(application)
    assert boss.owner == cast.huangjianhua  # 主任审批：主要负责人@主管机关 (区府办 黄建华)
    done = login(cast.huangjianhua, otp=True).post(f"/services/tasks/{boss.pk}/", {"form": "decide",
                                                                                 "decision": "agree"})
    assert done.status_code == 302
    application.refresh_from_db()
    assert application.status == ServiceApplication.Status.DONE and application.result_note == "审批通过"


def test_rejection_in_a_parallel_group_cancels_the_other_branch(admin, cast):
    admin.post("/services/manage/new", _form())
    item = ServiceItem.objects.get(code="office_room")
    login(cast.zhangwei).post(f"/services/items/{item.pk}/apply", {"purpose": "调整"})
    application = ServiceApplication.objects.get(item=item)
    login(cast.xuli).post(f"/services/tasks/{open_task(application, cast.xuli).pk}/",
                          {"form": "decide", "decision": "accept"})
    login(cast.lina).post(f"/services/tasks/{open_task(application, cast.lina).pk}/",
                          {"form": "decide", "decision": "reject", "opinion": "本科室暂无调整需要"})
    application.refresh_from_db()
    assert application.status == ServiceApplication.Status.REJECTED
    assert not Task.objects.filter(process_id=application.process_id, status=STATUS.ASSIGNED).exists()


def test_a_role_nobody_holds_is_refused_when_saved(admin):
    before = ServiceItem.objects.count()
    response = admin.post("/services/manage/new", _form(route_text="数据审核：首席数据官@主管机关"))
    html = response.content.decode()
    assert response.status_code == 400
    assert "审批路线中有无人担任的岗位，未保存" in html and "没有人担任首席数据官" in html
    assert ServiceItem.objects.count() == before
    # 申请人部门: checked in every agency that may apply.
    finance = Agency.objects.get(doc_code="揭东财")
    response = admin.post("/services/manage/new", _form(route_text="审核：首席数据官@申请人部门",
                                                        eligible_agencies=[finance.pk]))
    assert response.status_code == 400 and "揭阳市揭东区财政局没有人担任首席数据官" in response.content.decode()
    assert ServiceItem.objects.count() == before


def test_bad_lines_are_named_and_a_classified_item_is_refused(admin):
    before = ServiceItem.objects.count()
    html = admin.post("/services/manage/new", _form(route_text="审核：科长@主管部门\n复核部门负责人",
                                                    materials_text="工资条：财务系统")).content.decode()
    assert "第 1 行：没有“科长”这个岗位" in html
    assert "第 2 行：“复核部门负责人”应写成“环节名称：岗位@范围”" in html
    assert "第 1 行：来源“财务系统”应为" in html
    html = admin.post("/services/manage/new", _form(materials_text="身份证号：通讯录")).content.decode()
    assert "通讯录中没有“身份证号”" in html
    response = admin.post("/services/manage/new", _form(non_classified=None))
    assert response.status_code == 400 and "只能是非涉密事项" in response.content.decode()
    assert ServiceItem.objects.count() == before


def test_editing_an_item_round_trips_its_text(admin):
    item = ServiceItem.objects.get(code="leave")
    page = admin.get(f"/services/manage/{item.pk}/").content.decode()
    assert "部门负责人审批：部门负责人@申请人部门" in page and "年休假余额：人事数据" in page
    response = admin.post(f"/services/manage/{item.pk}/", _form(
        code="leave", name="请休假", handler="leave", time_limit_days="3",
        route_text="部门负责人审批：部门负责人@申请人部门", materials_text="姓名：通讯录\n年休假余额：人事数据"))
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.time_limit_days == 3 and len(item.route) == 1


def _tiny_pdf() -> bytes:
    import io

    from reportlab.pdfgen.canvas import Canvas

    out = io.BytesIO()
    canvas = Canvas(out)
    canvas.drawString(72, 720, "room plan")
    canvas.save()
    return out.getvalue()


def test_upload_and_previous_result_materials(admin, cast):
    from django.core.files.uploadedfile import SimpleUploadedFile

    materials = "姓名：通讯录\n情况说明：上传\n在职证明：前序结果@employment_cert"
    assert admin.post("/services/manage/new", _form(materials_text=materials)).status_code == 302
    room = ServiceItem.objects.get(code="office_room")
    zhangwei = login(cast.zhangwei)
    url = f"/services/items/{room.pk}/apply"
    page = zhangwei.get(url).content.decode()
    assert 'enctype="multipart/form-data"' in page
    from tests.services_helpers import input_names

    assert input_names(page) == {"csrfmiddlewaretoken", "purpose", "material_1", "previous_2"}

    # No finished 在职证明 yet: nothing to choose; a forged id is refused by the action's own check.
    forged = zhangwei.post(url, {"purpose": "调整", "previous_2": "999",
                                 "material_1": SimpleUploadedFile("说明.pdf", _tiny_pdf(), "application/pdf")})
    assert forged.status_code == 400 and not ServiceApplication.objects.filter(item=room).exists()

    cert = zhangwei.post(f"/services/items/{ServiceItem.objects.get(code='employment_cert').pk}/apply",
                         {"purpose": "办公用房"})
    assert cert.status_code == 302
    cert_app = ServiceApplication.objects.get(item__code="employment_cert")
    login(cast.xuli).post(f"/services/tasks/{open_task(cert_app).pk}/", {"form": "decide", "decision": "accept"})

    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    disguised = zhangwei.post(url, {"purpose": "调整", "previous_2": str(cert_app.pk),
                                    "material_1": SimpleUploadedFile("说明.pdf", png, "application/pdf")})
    assert disguised.status_code == 400 and "情况说明" in disguised.content.decode()
    assert not ServiceApplication.objects.filter(item=room).exists()

    ok = zhangwei.post(url, {"purpose": "调整", "previous_2": str(cert_app.pk),
                             "material_1": SimpleUploadedFile("情况说明.pdf", _tiny_pdf(), "application/pdf")})
    assert ok.status_code == 302, ok.content.decode()[:2000]
    application = ServiceApplication.objects.get(item=room)
    assert application.form["previous"] == {"在职证明": cert_app.number}
    material = application.materials.get()
    assert material.name == "情况说明" and material.kind == "pdf" and "情况说明" not in material.file.name
    assert open_task(application).owner == cast.xuli
    link = f"/services/applications/{application.pk}/materials/{material.pk}"
    download = login(cast.xuli).get(link)  # the 受理 desk reads it
    assert download.status_code == 200 and download["Content-Disposition"].startswith("attachment")
    assert b"".join(download.streaming_content).startswith(b"%PDF-")
    assert login(cast.gaojun).get(link).status_code == 404
