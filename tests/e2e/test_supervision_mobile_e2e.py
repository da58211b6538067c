"""督办 on a phone (issue 16 point 6): a unit handler (区财政局 finance04) at 390×844 opens 我的督办, signs for an item,
submits a 进度反馈 with a photo and a file, and applies for 延期 — all in Chromium. Fails on any response ≥ 400 and
on horizontal overflow at 390 px; screenshots go to test-results/supervision/."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from viewflow.workflow.models import Task

from oa.models import Agency, Person
from supervision import actions as act
from supervision.models import Extension, SupervisionItem
from tests.clock import without_faketime
from tests.e2e.test_login_e2e import CHROMIUM, CHROMIUM_ARGS, RESULTS, _login, in_thread
from tests.test_supervision import PNG
from tests.test_supervision_files import PDF

pytestmark = pytest.mark.e2e
SHOTS = RESULTS / "supervision"
PHONE = {"width": 390, "height": 844}


def _item_for_finance() -> SupervisionItem:
    """An item dispatched today to 区财政局 (by the actions: the browser part is the unit's)."""
    people = {p.username: p for p in Person.objects.filter(username__in=["zhaolei", "linxiaodong", "finance04"])}
    item = act.check_create_item(people["zhaolei"], act.ItemInput(
        title="推进政务服务事项“掌上办”梳理（手机端测试）", source_type="instruction", leader=people["linxiaodong"],
        lead_agency=Agency.objects.get(short_name="区财政局"), responsible=people["finance04"],
        requirements="梳理本单位可掌上办理的事项，按周报送进展。", deadline_days=20, cycle="weekly", cycle_weekday=5))
    act.check_leader_review(people["linxiaodong"], _open(item, "leader_review"), approve=True, opinion="同意")
    act.check_dispatch(people["zhaolei"], _open(item, "dispatch"))
    item.refresh_from_db()
    assert item.status == SupervisionItem.Status.HANDLING
    return item


def _open(item: SupervisionItem, node: str) -> Task:
    from supervision.flows import SupervisionFlow

    return Task.objects.get(process__artifact_object_id=item.pk, process__flow_class=SupervisionFlow,
                            flow_task=getattr(SupervisionFlow, node), status__in=["ASSIGNED", "STARTED"])


def _overflow(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth > document.documentElement.clientWidth")


def _drive(base: str, item_title: str, files: list[str], proposed: str, problems: list[str]) -> None:
    from playwright.sync_api import sync_playwright

    def check(name: str) -> None:
        page.wait_for_load_state("load")
        if _overflow(page):
            problems.append(f"390 px 横向溢出：{name} {page.url}")
        page.screenshot(path=str(SHOTS / f"{name}-390.png"), full_page=True)

    with without_faketime(), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            context = browser.new_context(viewport=PHONE, locale="zh-CN", device_scale_factor=1, has_touch=True,
                                          is_mobile=True)
            page = context.new_page()
            page.on("response", lambda r: r.status >= 400 and problems.append(f"{r.status} {r.url}"))
            _login(page, base, "finance04")
            page.goto(f"{base}/supervision/")
            check("mine")
            page.get_by_role("link", name=item_title).first.click()
            check("unit-sign")
            page.get_by_role("button", name="签收", exact=True).click()
            check("unit-handling")
            page.get_by_label("进展情况").fill("已梳理 12 项事项，现场照片和清单见附件。")
            page.get_by_label("完成进度（%）").fill("35")
            page.get_by_label("照片或文件（PDF、OFD、DOCX、XLSX、PNG、JPEG）").set_input_files(files)
            page.get_by_role("button", name="报送", exact=True).click()
            check("unit-feedback")
            if page.get_by_role("link", name="现场.png").count() != 1:
                problems.append("进度反馈后没有附件链接“现场.png”")
            page.get_by_label("延期理由").fill("涉及市级系统改造，需等待接口开放。")
            page.get_by_label("申请延至").fill(proposed)
            page.get_by_role("button", name="提交延期申请").click()
            check("unit-extension")
            if "待单位负责人审核" not in page.content():
                problems.append("延期申请提交后页面没有显示“待单位负责人审核”")
            context.close()
        finally:
            browser.close()


def test_unit_handler_on_a_phone(asgi_server, tmp_path):
    item = _item_for_finance()
    photo, sheet = tmp_path / "现场.png", tmp_path / "清单.pdf"
    photo.write_bytes(PNG)
    sheet.write_bytes(PDF)
    unit = item.units.get()
    proposed = (unit.deadline + dt.timedelta(days=14)).isoformat()
    SHOTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    in_thread(_drive, asgi_server, item.title, [str(photo), str(sheet)], proposed, problems)
    assert not problems, "\n".join(problems)
    unit.refresh_from_db()
    assert unit.status == "handling" and unit.progress == 35 and unit.signed_at is not None
    feedback = unit.feedbacks.get()
    assert [f["name"] for f in feedback.files] == ["现场.png", "清单.pdf"]
    ext = Extension.objects.get(unit=unit)
    assert ext.status == Extension.Status.HEAD and ext.proposed_date.isoformat() == proposed
    assert ext.old_deadline == unit.deadline and unit.deadline >= timezone.localdate()
    for name in ("mine", "unit-sign", "unit-handling", "unit-feedback", "unit-extension"):
        assert (SHOTS / f"{name}-390.png").stat().st_size > 0
