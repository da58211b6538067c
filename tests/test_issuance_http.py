"""发文 through HTTP as the demo cast (PostgreSQL): 拟稿 → … → 归档 for an ordinary 通知, and the refusals."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client
from django.utils import timezone
from viewflow.workflow.models import Task
from viewflow.workflow.status import PROCESS, STATUS

from documents.actions.seals import check_create_seal, do_init_seal_authority
from documents.models import OfficialDocument
from oa.models import Agency, Department, Notification, WorkItem
from tests.clients import login, totp_code
from workflows.issuance.flows import IssuanceFlow
from workflows.models import DistributionRecipient, Opinion, TaskOpened

pytestmark = pytest.mark.django_db



def open_task(process_id: int, node, owner=None) -> Task:
    tasks = Task.objects.filter(process_id=process_id, flow_task=node, status__in=[STATUS.ASSIGNED, STATUS.STARTED])
    return tasks.get(owner=owner) if owner else tasks.get()


def act(client: Client, task: Task, decision: str, opinion: str = "", **fields):
    url = f"/flows/issuance/tasks/{task.pk}/"
    assert client.get(url).status_code == 200
    return client.post(url, {"decision": decision, "opinion": opinion, **fields})


@pytest.fixture
def seals(cast):
    do_init_seal_authority(actor=None, name="揭东区电子印章制章者")
    check_create_seal(cast.sunhao, agency=Agency.objects.get(doc_code="揭东府办"))


def draft_over_http(cast) -> OfficialDocument:
    zhang = login(cast.zhangwei)
    created = zhang.post("/documents/new", {"doc_type": "tongzhi", "title": "关于做好2027年元旦春节期间值班工作的通知",
                                            "main_recipients": "各镇人民政府\n区财政局", "publicity": "not_public"})
    assert created.status_code == 302, created.content.decode()[:2000]
    doc = OfficialDocument.objects.get(title="关于做好2027年元旦春节期间值班工作的通知")
    body = {"blocks": [{"type": "p", "level": 0, "text": "现将2027年元旦春节期间值班工作有关事项通知如下。"},
                       {"type": "p", "level": 1, "text": "值班安排"},
                       {"type": "p", "level": 0, "text": "各单位要安排领导带班，严格执行24小时值班制度。"}]}
    saved = zhang.put(f"/documents/{doc.pk}/body", json.dumps(body), content_type="application/json",
                      headers={"If-Match": "0"})
    assert saved.status_code == 200, saved.content
    return doc


def test_ordinary_notice_through_http(cast, seals):
    doc = draft_over_http(cast)
    zhang = login(cast.zhangwei)
    detail = zhang.get(f"/documents/{doc.pk}/").content.decode()
    assert f"/flows/issuance/start/{doc.pk}/" in detail
    zonghe = Department.objects.get(agency=doc.agency, name="综合科")
    started = zhang.post(f"/flows/issuance/start/{doc.pk}/", {
        "countersign_departments": [zonghe.pk], "countersign_mode": "parallel", "countersign_policy": "all",
        "jump_back": "on"})
    assert started.status_code == 302
    process_id = int(re.search(r"/(\d+)/?$", started["Location"]).group(1))
    doc.refresh_from_db()
    assert doc.status == OfficialDocument.Status.IN_REVIEW
    trace = zhang.get(f"/flows/processes/{process_id}/").content.decode()
    # the diagram shows the document's steps, not the deadline timers behind them
    assert "拟稿送审" in trace and "部门负责人审核" in trace and "imeout" not in trace and "overdue" not in trace

    lina = login(cast.lina)
    task = open_task(process_id, IssuanceFlow.dept_review)
    item = WorkItem.objects.get(ref=f"viewflow.task:{task.pk}", owner=cast.lina)
    assert item.link == f"/flows/issuance/tasks/{task.pk}/"  # the inbox opens the step page
    assert lina.get(f"/work/{item.pk}/")["Location"] == item.link  # old links and cards land there too
    # a reviewer's edit is limited to the step's 要素: a field outside the list is ignored by the form,
    # one inside is changed and audited
    assert act(lina, task, "agree", "审核同意。", notes="此件不公开").status_code == 302
    doc.refresh_from_db()
    assert doc.notes == "此件不公开"
    assert TaskOpened.objects.filter(task=task, person=cast.lina).exists()

    task = open_task(process_id, IssuanceFlow.office_check)
    page = lina.get(f"/flows/issuance/tasks/{task.pk}/").content.decode()
    assert "公文格式检查" in page and "符合 GB/T 9704-2012" in page  # the verdict, the rules behind <details>
    assert '<details class="gbt-check-detail">' in page and "要求：" in page and "CheckResult" not in page
    assert act(lina, task, "agree", "核稿通过。").status_code == 302

    xuli = login(cast.xuli)
    assert act(xuli, open_task(process_id, IssuanceFlow.countersign), "agree", "同意。").status_code == 302

    # 签发: 李娜 代 王芳. 签发 asks for a 动态口令 at the moment of signing: without one (or with a wrong one) nothing
    # moves, and the confirmation carries what was posted.
    task = open_task(process_id, IssuanceFlow.signoff)
    asked = act(lina, task, "agree", "同意印发。")
    page = asked.content.decode()
    assert asked.status_code == 200 and "确认签发" in page and "同意印发。" in page
    assert 'name="opinion" value="同意印发。"' in page and 'name="decision" value="agree"' in page
    wrong = lina.post(f"/flows/issuance/tasks/{task.pk}/", {"decision": "agree", "opinion": "同意印发。", "code": "000000"})
    assert wrong.status_code == 400 and "验证码不正确" in wrong.content.decode()
    task.refresh_from_db()
    assert task.status in (STATUS.ASSIGNED, STATUS.STARTED) and not Opinion.objects.filter(node="signoff").exists()
    lina_otp = login(cast.lina, otp=True)
    # 签发日期 (成文日期) today on the session's clock: a fixed date soon falls before the draft and is refused.
    today = timezone.localdate()
    assert act(lina_otp, task, "agree", "同意印发。", signed_date=today.isoformat(),
               code=totp_code(cast.lina)).status_code == 302
    doc.refresh_from_db()
    assert doc.status == OfficialDocument.Status.SIGNED and doc.written_date == today
    assert Opinion.objects.get(process_id=process_id, node="signoff").signer_label == "李娜 代 王芳"

    assert act(lina, open_task(process_id, IssuanceFlow.recheck), "agree", "复核无误。").status_code == 302
    liuyang = login(cast.liuyang)
    assert act(liuyang, open_task(process_id, IssuanceFlow.register), "done").status_code == 302
    assert act(liuyang, open_task(process_id, IssuanceFlow.typeset), "done").status_code == 302
    doc.refresh_from_db()
    assert doc.doc_number and doc.final_pdf and doc.status == OfficialDocument.Status.TYPESET

    zhoumin = login(cast.zhoumin, otp=True)
    assert act(zhoumin, open_task(process_id, IssuanceFlow.seal), "done").status_code == 302
    doc.refresh_from_db()
    assert doc.status == OfficialDocument.Status.SEALED

    finance = Agency.objects.get(doc_code="揭东财")
    towns = Agency.objects.filter(kind=Agency.Kind.TOWN)
    assert act(liuyang, open_task(process_id, IssuanceFlow.distribute), "done",
               main_agencies=[finance.pk, *[t.pk for t in towns]]).status_code == 302
    assert DistributionRecipient.objects.filter(document=doc).count() == 1 + towns.count()
    assert act(liuyang, open_task(process_id, IssuanceFlow.archive), "done", retention="30y").status_code == 302
    doc.refresh_from_db()
    assert doc.status == OfficialDocument.Status.ARCHIVED
    assert Task.objects.get(process_id=process_id, flow_task=IssuanceFlow.end).process.status == PROCESS.DONE
    # the drafter is told the 发文 is finished (我发起 closes with a work.completed event)
    assert Notification.objects.filter(recipient=cast.zhangwei, event_type="work.completed").exists()


def test_step_page_refusals(cast):
    doc = draft_over_http(cast)
    zhang = login(cast.zhangwei)
    zhang.post(f"/flows/issuance/start/{doc.pk}/", {"countersign_mode": "parallel", "countersign_policy": "all"})
    process_id = Task.objects.filter(flow_task=IssuanceFlow.dept_review).latest("pk").process_id
    task = open_task(process_id, IssuanceFlow.dept_review)
    # someone else's task → 404; the drafter cannot act on the reviewer's step
    assert zhang.get(f"/flows/issuance/tasks/{task.pk}/").status_code == 404
    assert login(cast.finance06).post(f"/flows/issuance/tasks/{task.pk}/", {"decision": "agree"}).status_code == 404
    lina = login(cast.lina)
    # a 要素 this step may not change → 403 with the field named, nothing changes
    refused = lina.post(f"/flows/issuance/tasks/{task.pk}/", {"decision": "agree", "opinion": "同意", "signers": "李娜"})
    assert refused.status_code == 403 and "不允许修改：签发人" in refused.content.decode()
    doc.refresh_from_db()
    assert doc.signers == []
    # an unknown decision → 400, nothing changes
    assert lina.post(f"/flows/issuance/tasks/{task.pk}/", {"decision": "sign", "opinion": "x"}).status_code == 400
    task.refresh_from_db()
    assert task.status == STATUS.ASSIGNED
    # the generic workbench action does not complete a 发文 step
    item = WorkItem.objects.get(ref=f"viewflow.task:{task.pk}")
    assert lina.post(f"/work/{item.pk}/actions/complete/", {"opinion": "同意"}).status_code == 404
    # a double submit completes the step once
    assert act(lina, task, "agree", "同意。").status_code == 302
    again = lina.post(f"/flows/issuance/tasks/{task.pk}/", {"decision": "agree", "opinion": "同意。"})
    assert again.status_code == 302  # the step page redirects a finished task to the trace
    assert Task.objects.filter(process_id=process_id, flow_task=IssuanceFlow.office_check).count() == 1


def test_ordinary_signer_cannot_sign_an_upward_document(cast):
    doc = draft_over_http(cast)
    OfficialDocument.objects.filter(pk=doc.pk).update(is_upward=True, doc_type="qingshi")
    zhang = login(cast.zhangwei)
    zhang.post(f"/flows/issuance/start/{doc.pk}/", {"countersign_mode": "parallel", "countersign_policy": "all"})
    process_id = Task.objects.filter(flow_task=IssuanceFlow.dept_review).latest("pk").process_id
    lina = login(cast.lina)
    act(lina, open_task(process_id, IssuanceFlow.dept_review), "agree", "同意。")
    act(lina, open_task(process_id, IssuanceFlow.office_check), "agree", "同意。")
    task = open_task(process_id, IssuanceFlow.signoff)
    assert task.owner == cast.huangjianhua  # 上行文 → 主要负责人
    # even if the task were handed to 王芳 (分管领导), she could not sign it
    Task.objects.filter(pk=task.pk).update(owner=cast.wangfang)
    wangfang = login(cast.wangfang, otp=True)
    refused = wangfang.post(f"/flows/issuance/tasks/{task.pk}/", {"decision": "agree", "opinion": "同意"})
    assert refused.status_code == 403
    assert not Opinion.objects.filter(process_id=process_id, node="signoff").exists()


def _started(cast) -> tuple[OfficialDocument, int]:
    doc = draft_over_http(cast)
    login(cast.zhangwei).post(f"/flows/issuance/start/{doc.pk}/",
                                 {"countersign_mode": "parallel", "countersign_policy": "all", "jump_back": "on"})
    return doc, Task.objects.filter(flow_task=IssuanceFlow.dept_review).latest("pk").process_id


def test_return_to_the_drafter_and_jump_back_to_the_signer(cast):
    _doc, process_id = _started(cast)
    lina = login(cast.lina)
    act(lina, open_task(process_id, IssuanceFlow.dept_review), "agree", "同意。")
    act(lina, open_task(process_id, IssuanceFlow.office_check), "agree", "同意。")
    signoff = open_task(process_id, IssuanceFlow.signoff)
    start = Task.objects.get(process_id=process_id, flow_task=IssuanceFlow.start)
    page = lina.get(f"/flows/issuance/tasks/{signoff.pk}/").content.decode()
    assert "流转操作" in page and f'value="{start.pk}"' in page  # 退回 to 拟稿 is offered
    no_reason = lina.post(f"/flows/tasks/{signoff.pk}/return", {"target": start.pk, "reason": "", "jump_back": "on"})
    assert no_reason.status_code == 400
    signoff.refresh_from_db()
    assert signoff.status == STATUS.ASSIGNED
    lina.post(f"/flows/tasks/{signoff.pk}/return", {"target": start.pk, "reason": "第二部分请补充值班电话。",
                                                     "jump_back": "on"})
    redraft = open_task(process_id, IssuanceFlow.redraft)
    assert redraft.owner == cast.zhangwei
    act(login(cast.zhangwei), redraft, "done", "已补充。")
    # jump-back: straight to 签发 again, skipping 审核, 核稿 and 会签
    again = open_task(process_id, IssuanceFlow.signoff)
    assert again.owner == cast.lina and again.pk != signoff.pk
    assert Task.objects.filter(process_id=process_id, flow_task=IssuanceFlow.dept_review).count() == 1


def test_withdraw_before_and_after_the_next_handler_opens(cast):
    _doc, process_id = _started(cast)
    lina = login(cast.lina)
    act(lina, open_task(process_id, IssuanceFlow.dept_review), "agree", "同意。")
    reviewed = Task.objects.get(process_id=process_id, flow_task=IssuanceFlow.dept_review, status=STATUS.DONE)
    office = open_task(process_id, IssuanceFlow.office_check)
    # 取回 while 核稿 is unopened: the office task is cancelled and 审核 comes back to 李娜
    assert lina.post(f"/flows/tasks/{reviewed.pk}/withdraw").status_code in (200, 302)
    office.refresh_from_db()
    assert office.status == STATUS.CANCELED
    back = open_task(process_id, IssuanceFlow.dept_review)
    act(lina, back, "agree", "同意。")
    # now the next handler opens the step page: 取回 is refused and nothing changes
    office = open_task(process_id, IssuanceFlow.office_check)
    assert lina.get(f"/flows/issuance/tasks/{office.pk}/").status_code == 200  # 李娜 is also the 核稿人
    done = Task.objects.filter(process_id=process_id, flow_task=IssuanceFlow.dept_review, status=STATUS.DONE).latest("pk")
    refused = lina.post(f"/flows/tasks/{done.pk}/withdraw")
    assert refused.status_code == 409
    office.refresh_from_db()
    assert office.status == STATUS.ASSIGNED


def test_upward_request_through_http_signed_by_the_principal_with_2fa(cast, seals):
    doc = draft_over_http(cast)
    OfficialDocument.objects.filter(pk=doc.pk).update(is_upward=True, doc_type="qingshi",
                                                      title="关于申请值班经费的请示", main_recipients=["揭阳市揭东区人民政府"])
    zhang = login(cast.zhangwei)
    zhang.post(f"/flows/issuance/start/{doc.pk}/", {"countersign_mode": "parallel", "countersign_policy": "all"})
    process_id = Task.objects.filter(flow_task=IssuanceFlow.dept_review).latest("pk").process_id
    lina = login(cast.lina)
    act(lina, open_task(process_id, IssuanceFlow.dept_review), "agree", "同意。")
    act(lina, open_task(process_id, IssuanceFlow.office_check), "agree", "同意。")
    signoff = open_task(process_id, IssuanceFlow.signoff)
    assert signoff.owner == cast.huangjianhua
    # a 科员 handed the task (e.g. by mistake) still cannot sign it
    Task.objects.filter(pk=signoff.pk).update(owner=cast.zhangwei)
    refused = zhang.post(f"/flows/issuance/tasks/{signoff.pk}/", {"decision": "agree", "opinion": "同意"})
    assert refused.status_code == 403
    Task.objects.filter(pk=signoff.pk).update(owner=cast.huangjianhua)
    # the principal: 2FA first (the security gate sends him to the OTP page), then 圈阅 counts as approval
    huang = login(cast.huangjianhua)
    assert huang.get(f"/flows/issuance/tasks/{signoff.pk}/").status_code == 302
    huang = login(cast.huangjianhua, otp=True)
    assert act(huang, signoff, "circle", code=totp_code(cast.huangjianhua)).status_code == 302
    doc.refresh_from_db()
    assert doc.signers == ["黄建华"] and doc.status == OfficialDocument.Status.SIGNED
    act(lina, open_task(process_id, IssuanceFlow.recheck), "agree", "复核无误。")
    liuyang = login(cast.liuyang)
    act(liuyang, open_task(process_id, IssuanceFlow.register), "done")
    act(liuyang, open_task(process_id, IssuanceFlow.typeset), "done")
    doc.refresh_from_db()
    assert doc.status == OfficialDocument.Status.TYPESET and doc.is_upward
    # 用印 without a verified session: the seal keeper is sent to 2FA and nothing is stamped
    seal_task = open_task(process_id, IssuanceFlow.seal)
    unverified = login(cast.zhoumin).post(f"/flows/issuance/tasks/{seal_task.pk}/", {"decision": "done"})
    assert unverified.status_code == 302 and "/otp/" in unverified["Location"]
    assert doc.seal_uses.count() == 0
    act(login(cast.zhoumin, otp=True), seal_task, "done")
    government = Agency.objects.get(doc_code="揭东府")
    act(liuyang, open_task(process_id, IssuanceFlow.distribute), "done", main_agencies=[government.pk])
    act(liuyang, open_task(process_id, IssuanceFlow.archive), "done", retention="permanent")
    doc.refresh_from_db()
    assert doc.status == OfficialDocument.Status.ARCHIVED and doc.archive.retention == "permanent"


def test_a_title_that_cannot_break_within_three_lines_is_refused_when_drafting(cast):
    """§7.3.1 at 拟稿, 核稿 step and 送审 (an older record), not first at 套红: the message beside 标题 where the page
    has one, the form kept, nothing stored, no process started."""
    from tests.test_documents import UNBREAKABLE_TITLES

    title = UNBREAKABLE_TITLES[0]
    zhang = login(cast.zhangwei)
    before = OfficialDocument.objects.count()
    refused = zhang.post("/documents/new", {"doc_type": "tongzhi", "title": title, "main_recipients": "各镇人民政府",
                                            "publicity": "not_public"})
    html = refused.content.decode()
    assert refused.status_code == 400 and 'id="id_title_error"' in html and "无法在3行内" in html
    assert f'value="{title}"' in html
    assert OfficialDocument.objects.count() == before

    # A record that got such a title before the check: 送审 says so above the form and starts nothing.
    doc = draft_over_http(cast)
    OfficialDocument.objects.filter(pk=doc.pk).update(title=title)
    processes = IssuanceFlow.process_class.objects.count()
    started = zhang.post(f"/flows/issuance/start/{doc.pk}/", {"countersign_mode": "parallel",
                                                             "countersign_policy": "all", "jump_back": "on"})
    assert started.status_code == 400 and "标题过长" in started.content.decode()
    doc.refresh_from_db()
    assert doc.status == OfficialDocument.Status.DRAFT
    assert IssuanceFlow.process_class.objects.count() == processes

    # A step that may change the 标题 (部门负责人审核) refuses it beside the field; the step stays open.
    OfficialDocument.objects.filter(pk=doc.pk).update(title="关于做好2027年元旦春节期间值班工作的通知")
    assert zhang.post(f"/flows/issuance/start/{doc.pk}/", {"countersign_mode": "parallel",
                                                          "countersign_policy": "all"}).status_code == 302
    process_id = Task.objects.filter(flow_task=IssuanceFlow.dept_review).latest("pk").process_id
    task = open_task(process_id, IssuanceFlow.dept_review)
    step = act(login(cast.lina), task, "agree", "同意。", title=title)
    html = step.content.decode()
    assert step.status_code == 400 and 'id="id_title_error"' in html and "无法在3行内" in html
    doc.refresh_from_db()
    task.refresh_from_db()
    assert doc.title == "关于做好2027年元旦春节期间值班工作的通知" and task.status == STATUS.ASSIGNED
