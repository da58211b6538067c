"""抄送 through 发文 over HTTP (PostgreSQL), posting each step page's own form as a browser does: the 抄送 text
(要素) and the 分发 抄送 checkboxes are different fields, every step page works with 抄送 filled, 分发 sends the
抄送 agencies their 收文 of kind 抄送."""

from __future__ import annotations

import html
import json
import re
import subprocess

import pytest
from django.test import Client
from viewflow.workflow.models import Task
from viewflow.workflow.status import PROCESS

from documents.models import IncomingDocument, OfficialDocument
from oa.models import Agency, Department
from tests.clients import login, totp_code
from tests.test_issuance_http import open_task, seals  # noqa: F401  (fixture)
from tests.test_receipt import open_task as receipt_task
from tests.test_receipt import process_of as receipt_process
from tests.test_receipt import register_fields
from tests.test_receipt import step as receipt_step
from workflows.issuance.flows import IssuanceFlow
from workflows.models import CirculationRead, DistributionRecipient
from workflows.receipt.flows import ReceiptFlow

pytestmark = pytest.mark.django_db

CC_TEXT = "区审计局\n区教育局\n中共揭阳市揭东区委办公室"  # two directory agencies (简称) and one body outside it


def step_form(page: str) -> dict[str, object]:
    """The values the step page's 办理 form would post untouched (text, textareas, ticked boxes, selections)."""
    start = page.rindex('<form method="post" class="form"', 0, page.index('name="decision"'))
    form = page[start:page.index("</form>", start)]
    data: dict[str, object] = {}
    for name, value in re.findall(r'<textarea name="(\w+)"[^>]*>(.*?)</textarea>', form, re.S):
        data[name] = html.unescape(value).lstrip("\n")
    for tag in re.findall(r"<input [^>]*>", form):
        kind = re.search(r'type="(\w+)"', tag).group(1)
        name = re.search(r'name="(\w+)"', tag)
        if name is None or kind == "submit" or (kind in ("checkbox", "radio") and " checked" not in tag):
            continue
        value = re.search(r'value="([^"]*)"', tag)
        value = html.unescape(value.group(1)) if value else ("on" if kind == "checkbox" else "")
        if kind == "checkbox" and name.group(1) in data:
            data[name.group(1)] = [*([data[name.group(1)]] if isinstance(data[name.group(1)], str) else
                                     data[name.group(1)]), value]
        else:
            data[name.group(1)] = value
    for name, options in re.findall(r'<select name="(\w+)"[^>]*>(.*?)</select>', form, re.S):
        chosen = re.search(r'<option value="([^"]*)"[^>]*selected', options)
        data[name] = chosen.group(1) if chosen else ""
    return data


def submit(client: Client, task: Task, decision: str, **changes):
    """Open the step page (200) and post its form as shown, with ``changes`` applied."""
    url = f"/flows/issuance/tasks/{task.pk}/"
    page = client.get(url)
    assert page.status_code == 200, page.status_code
    data = {**step_form(page.content.decode()), **changes, "decision": decision}
    return client.post(url, data)


def _draft_with_cc(cast, title: str = "关于做好2027年元旦春节期间值班工作的通知") -> OfficialDocument:
    zhang = login(cast.zhangwei)
    created = zhang.post("/documents/new", {"doc_type": "tongzhi", "title": title, "publicity": "not_public",
                                            "main_recipients": "各镇人民政府\n区财政局", "cc": CC_TEXT})
    assert created.status_code == 302, created.content.decode()[:2000]
    doc = OfficialDocument.objects.get(title=title)
    assert doc.cc == ["区审计局", "区教育局", "中共揭阳市揭东区委办公室"]
    body = {"blocks": [{"type": "p", "level": 0, "text": "现将2027年元旦春节期间值班工作有关事项通知如下。"}]}
    saved = zhang.put(f"/documents/{doc.pk}/body", json.dumps(body), content_type="application/json",
                      headers={"If-Match": "0"})
    assert saved.status_code == 200, saved.content
    return doc


def test_cc_document_walks_every_step_page_and_distributes_to_its_cc_agencies(cast, seals):  # noqa: F811
    doc = _draft_with_cc(cast)
    zhang = login(cast.zhangwei)
    zonghe = Department.objects.get(agency=doc.agency, name="综合科")
    started = zhang.post(f"/flows/issuance/start/{doc.pk}/", {
        "countersign_departments": [zonghe.pk], "countersign_mode": "parallel", "countersign_policy": "all",
        "jump_back": "on"})
    assert started.status_code == 302
    process_id = Task.objects.filter(flow_task=IssuanceFlow.dept_review).latest("pk").process_id
    lina = login(cast.lina)
    # 审核 and 核稿 may edit 抄送: the pages post it back as text (this was a 500)
    assert submit(lina, open_task(process_id, IssuanceFlow.dept_review), "agree", opinion="同意。").status_code == 302
    assert submit(lina, open_task(process_id, IssuanceFlow.office_check), "agree", opinion="核稿通过。").status_code == 302
    doc.refresh_from_db()
    assert doc.cc == ["区审计局", "区教育局", "中共揭阳市揭东区委办公室"]
    assert submit(login(cast.xuli), open_task(process_id, IssuanceFlow.countersign), "agree",
                  opinion="同意。").status_code == 302
    # 签发 → 退回 to the drafter → 修改稿件 (edits 抄送) → straight back to 签发
    signoff = open_task(process_id, IssuanceFlow.signoff)
    start = Task.objects.get(process_id=process_id, flow_task=IssuanceFlow.start)
    lina.post(f"/flows/tasks/{signoff.pk}/return", {"target": start.pk, "reason": "请补充抄送。", "jump_back": "on"})
    redraft = open_task(process_id, IssuanceFlow.redraft)
    assert submit(zhang, redraft, "done", opinion="已补充。",
                  cc=CC_TEXT + "\n区应急管理局").status_code == 302
    doc.refresh_from_db()
    assert doc.cc == ["区审计局", "区教育局", "中共揭阳市揭东区委办公室", "区应急管理局"]
    lina_otp = login(cast.lina, otp=True)
    assert submit(lina_otp, open_task(process_id, IssuanceFlow.signoff), "agree",
                  opinion="同意印发。", code=totp_code(cast.lina)).status_code == 302
    assert submit(lina, open_task(process_id, IssuanceFlow.recheck), "agree", opinion="复核无误。").status_code == 302
    liuyang = login(cast.liuyang)
    assert submit(liuyang, open_task(process_id, IssuanceFlow.register), "done").status_code == 302
    assert submit(liuyang, open_task(process_id, IssuanceFlow.typeset), "done").status_code == 302
    # the typeset 版记 prints 抄送 as the 要素 lists it: directory agencies and free text, in order
    doc.refresh_from_db()
    with doc.final_pdf.open("rb") as pdf:
        printed = subprocess.run(["pdftotext", "-", "-"], input=pdf.read(), capture_output=True,
                                 check=True).stdout.decode()
    assert "抄送：区审计局，区教育局，中共揭阳市揭东区委办公室，区应急管理局。" in re.sub(r"\s+", "", printed)
    zhoumin = login(cast.zhoumin, otp=True)
    assert submit(zhoumin, open_task(process_id, IssuanceFlow.seal), "done").status_code == 302

    # 分发: the page ticks the 抄送 agencies the 抄送 要素 names (by 简称 or 全称); posting it as shown sends them
    distribute = open_task(process_id, IssuanceFlow.distribute)
    form = step_form(liuyang.get(f"/flows/issuance/tasks/{distribute.pk}/").content.decode())
    names = {"审": "揭东审", "教": "揭东教", "应急": "揭东应急", "财": "揭东财"}
    ids = {key: str(Agency.objects.get(doc_code=code).pk) for key, code in names.items()}
    assert sorted(form["cc_agencies"]) == sorted([ids["审"], ids["教"], ids["应急"]])
    assert form["main_agencies"] == ids["财"]  # "各镇人民政府" names no single agency: the clerk ticks them
    # the same agency ticked as 主送 and 抄送 is refused beside the 抄送 boxes, and nothing is sent
    both = submit(liuyang, distribute, "done", main_agencies=[ids["财"], ids["审"]])
    assert both.status_code == 400
    assert re.search(r'id="id_cc_agencies_error"[^>]*>.*“揭阳市揭东区审计局”已勾选为主送机关，不能同时抄送',
                     both.content.decode(), re.S)
    assert not DistributionRecipient.objects.filter(document=doc).exists()
    assert submit(liuyang, distribute, "done").status_code == 302
    kinds = {r.agency.doc_code: r.kind for r in DistributionRecipient.objects.filter(document=doc)
             .select_related("agency")}
    assert kinds == {"揭东财": "main", "揭东审": "cc", "揭东教": "cc", "揭东应急": "cc"}
    assert submit(liuyang, open_task(process_id, IssuanceFlow.archive), "done").status_code == 302
    doc.refresh_from_db()
    assert doc.status == OfficialDocument.Status.ARCHIVED

    # 收文 side: 区审计局 gets a 抄送件 — 签收 → 登记 → 初审 → 传阅（阅知，办结）→ 归档, no 拟办/批办/承办/办结
    audit = Agency.objects.get(doc_code="揭东审")
    incoming = DistributionRecipient.objects.get(document=doc, agency=audit).incoming
    assert incoming.kind == IncomingDocument.Kind.CC
    clerk, office, leader = login(cast.audit05, otp=True), login(cast.audit03), login(cast.audit01, otp=True)
    assert receipt_step(clerk, receipt_task(incoming, ReceiptFlow.sign), "sign", copies=1).status_code == 302
    assert receipt_step(clerk, receipt_task(incoming, ReceiptFlow.register), "register",
                        **register_fields(incoming)).status_code == 302
    review = receipt_task(incoming, ReceiptFlow.review)
    assert "抄送件" in office.get(f"/flows/receipt/tasks/{review.pk}/").content.decode()
    assert receipt_step(office, review, "accept").status_code == 302
    circulate = receipt_task(incoming, ReceiptFlow.circulate)
    page = office.get(f"/flows/receipt/tasks/{circulate.pk}/").content.decode()
    assert "本文为抄送件，仅供阅知" in page and "阅知（抄送件办结）" in page
    assert receipt_step(office, circulate, "circulate", readers=[cast.audit01.pk]).status_code == 302
    incoming.refresh_from_db()
    assert incoming.status == IncomingDocument.Status.CLOSED and incoming.result.startswith("抄送件，已阅知")
    # the leader it was passed to reads it and 阅知s it
    assert leader.get(f"/flows/incoming/{incoming.pk}/").status_code == 200
    assert leader.post(f"/flows/incoming/{incoming.pk}/circulation/acknowledge", {"comment": "已阅。"}).status_code == 302
    assert CirculationRead.objects.get(incoming=incoming, reader=cast.audit01).acknowledged_at is not None
    assert receipt_step(clerk, receipt_task(incoming, ReceiptFlow.archive), "archive").status_code == 302
    incoming.refresh_from_db()
    assert incoming.status == IncomingDocument.Status.ARCHIVED
    process = receipt_process(incoming)
    assert process.status == PROCESS.DONE
    visited = {t.flow_task.name for t in process.task_set.all()}
    assert not visited & {"propose", "instruct", "handle", "close"}


def test_cc_that_is_also_main_is_refused_beside_the_field_and_nothing_changes(cast):
    zhang = login(cast.zhangwei)
    # 拟稿: the same body by 简称 in 主送 and by 全称 in 抄送
    refused = zhang.post("/documents/new", {"doc_type": "tongzhi", "title": "关于抄送重复的通知",
                                            "publicity": "not_public", "main_recipients": "区财政局",
                                            "cc": "中共揭阳市揭东区委办公室\n揭阳市揭东区财政局"})
    assert refused.status_code == 400
    assert re.search(r'id="id_cc_error"[^>]*>.*“揭阳市揭东区财政局”已是主送机关，不能同时抄送', refused.content.decode(), re.S)
    assert not OfficialDocument.objects.filter(title="关于抄送重复的通知").exists()
    # 审核: adding a 主送 body to 抄送 is refused beside 抄送, the 要素 and the step unchanged
    doc = _draft_with_cc(cast)
    zhang.post(f"/flows/issuance/start/{doc.pk}/", {"countersign_mode": "parallel", "countersign_policy": "all"})
    task = open_task(Task.objects.filter(flow_task=IssuanceFlow.dept_review).latest("pk").process_id,
                     IssuanceFlow.dept_review)
    response = submit(login(cast.lina), task, "agree", opinion="同意。", cc=CC_TEXT + "\n区财政局")
    assert response.status_code == 400
    page = response.content.decode()
    assert re.search(r'id="id_cc_error"[^>]*>.*“区财政局”已是主送机关，不能同时抄送', page, re.S)
    assert "区财政局</textarea>" in page  # the form is kept as posted
    doc.refresh_from_db()
    task.refresh_from_db()
    assert doc.cc == ["区审计局", "区教育局", "中共揭阳市揭东区委办公室"] and task.status == "ASSIGNED"
    # the API says it with its code (a draft still with its drafter)
    other = _draft_with_cc(cast, title="关于抄送重复的函")
    api = zhang.patch(f"/api/documents/{other.pk}", {"main_recipients": ["区审计局"]},
                      content_type="application/json")
    assert api.status_code == 400 and api.json()["code"] == "cc_overlaps_main"
    other.refresh_from_db()
    assert other.main_recipients == ["各镇人民政府", "区财政局"]
