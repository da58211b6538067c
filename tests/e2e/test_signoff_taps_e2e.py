"""From 待办 to a signed 签发 in three taps on a phone (390×844), in Debian chromium against the ASGI server:
王芳 (分管领导, 2FA) opens 待办, taps the 签发 item (1), reads the 正文 and the earlier opinions on the step page,
taps 签发 (2) and confirms with her 动态口令 (3: the submit; typing is not a tap). The document is then signed."""

from __future__ import annotations

import pytest
from django.db import connections
from django_otp.plugins.otp_totp.models import TOTPDevice
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from documents.actions.body import check_save_body
from documents.actions.documents import do_create_document
from documents.models import OfficialDocument
from oa.actions.delegation import do_revoke_delegation
from oa.actions.demo import DEMO_PASSWORD
from oa.models import Agency, Delegation, Department, Person
from tests.clients import totp_code
from tests.clock import without_faketime
from tests.e2e.test_login_e2e import CHROMIUM, CHROMIUM_ARGS, RESULTS, VIEWPORTS, in_thread
from tests.e2e.test_workbench_e2e import _orm
from workflows.actions.issuance import (
    StartOptions,
    StepInput,
    check_perform_issuance_step,
    check_start_issuance,
)
from workflows.issuance.flows import IssuanceFlow
from workflows.models import Opinion

pytestmark = pytest.mark.e2e

TITLE = "关于做好2027年防汛值班工作的通知"
BODY_TEXT = "为切实做好汛期值班工作，确保信息畅通，现就有关事项通知如下。"
OPINIONS = ["审核同意，请办公室核稿。", "文稿已核，请王芳同志签发。"]


def _to_signoff() -> int:
    """张伟 drafts, 李娜 reviews and checks, through the actions; 王芳 holds 签发 (her 委托 to 李娜 is ended first).
    Returns the document's id."""
    people = {p.username: p for p in Person.objects.filter(username__in=["zhangwei", "lina", "wangfang"])}
    for delegation in Delegation.objects.filter(principal=people["wangfang"], revoked_at__isnull=True):
        do_revoke_delegation(actor=people["wangfang"], delegation=delegation, via="web")
    TOTPDevice.objects.get_or_create(user=people["wangfang"], name="手机", defaults={"confirmed": True})
    office = Agency.objects.get(doc_code="揭东府办")
    doc = do_create_document(actor=people["zhangwei"], agency=office,
                             department=Department.objects.get(agency=office, name="秘书科"), title=TITLE,
                             doc_type="tongzhi", main_recipients=["各镇人民政府"])
    check_save_body(people["zhangwei"], doc, {"blocks": [{"type": "p", "level": 0, "text": BODY_TEXT}]}, if_match=None)
    process = check_start_issuance(people["zhangwei"], doc, StartOptions())
    for node, opinion in zip((IssuanceFlow.dept_review, IssuanceFlow.office_check), OPINIONS, strict=True):
        task = Task.objects.get(process=process, flow_task=node, status__in=[STATUS.ASSIGNED, STATUS.STARTED])
        check_perform_issuance_step(task.owner, task, StepInput(decision="agree", opinion=opinion))
    signoff = Task.objects.get(process=process, flow_task=IssuanceFlow.signoff, status=STATUS.ASSIGNED)
    assert signoff.owner == people["wangfang"]
    return doc.pk


def _code() -> str:
    return totp_code(Person.objects.get(username="wangfang"))


def _signed(doc_id: int) -> tuple[str, list[str], list[str]]:
    doc = OfficialDocument.objects.get(pk=doc_id)
    opinions = list(Opinion.objects.filter(document=doc, node="signoff").values_list("text", flat=True))
    return doc.status, doc.signers, opinions


def _scenario(base: str, doc_id: int) -> None:
    from playwright.sync_api import sync_playwright

    taps = 0

    def tap(locator) -> None:
        nonlocal taps
        taps += 1
        locator.click()
        locator.page.wait_for_load_state("load")

    with without_faketime(), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            context = browser.new_context(viewport=VIEWPORTS["mobile"], locale="zh-CN", is_mobile=True,
                                          has_touch=True)
            page = context.new_page()
            problems: list[str] = []
            page.on("console", lambda msg: msg.type == "error" and problems.append(msg.text))
            page.on("response", lambda r: r.status >= 400 and problems.append(f"{r.status} {r.url}"))
            # Signing in (password, then the 2FA login step) comes before and is not counted.
            page.goto(f"{base}/accounts/login/")
            page.get_by_label("用户名", exact=True).fill("wangfang")
            page.get_by_label("密码", exact=True).fill(DEMO_PASSWORD)
            page.get_by_role("button", name="登录", exact=True).click()
            page.wait_for_load_state("load")
            assert page.url.endswith("/accounts/otp/verify/"), page.url
            page.get_by_label("6 位验证码").fill(_orm(_code))
            page.get_by_role("button", name="验证并进入").click()
            page.wait_for_load_state("load")

            page.goto(f"{base}/work/?box=todo")  # 待办
            tap(page.get_by_role("link", name=TITLE))  # 1: the 签发 item
            assert "/flows/issuance/tasks/" in page.url, page.url
            main = page.locator("main")
            # the step page itself: 正文 and the earlier opinions, above the opinion box
            assert page.get_by_role("heading", name="正文").is_visible()
            assert BODY_TEXT in main.inner_text()
            for opinion in OPINIONS:
                assert opinion in page.locator("#reading-opinions").inner_text()
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"横向溢出 {width}px"
            page.screenshot(path=str(RESULTS / "signoff-step-mobile.png"), full_page=True)
            page.get_by_label("签发意见").fill("同意印发。")  # typing, not a tap
            tap(page.get_by_role("button", name="签发", exact=True))  # 2
            assert page.get_by_role("heading", name="确认签发").is_visible()
            page.get_by_label("6 位验证码").fill(_orm(_code))
            page.screenshot(path=str(RESULTS / "signoff-confirm-mobile.png"), full_page=True)
            tap(page.get_by_role("button", name="确认签发"))  # 3
            assert "已办理" in page.locator("main").inner_text() or "/flows/processes/" in page.url
            assert taps == 3
            assert not problems, problems
            context.close()
        finally:
            browser.close()
    status, signers, opinions = _orm(_signed, doc_id)
    assert status == OfficialDocument.Status.SIGNED and signers == ["王芳"] and opinions == ["同意印发。"]


@pytest.mark.django_db(transaction=True)
def test_wangfang_signs_from_todo_in_three_taps(asgi_server):
    doc_id = _to_signoff()
    connections.close_all()
    in_thread(_scenario, asgi_server, doc_id)
