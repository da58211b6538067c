"""Whoever a step reaches can open it AND the 公文 / 收文 it is about (docs/routing.md, on_assign).

Each routing operation that hands a step to someone (assignment, 转办, 加签, 委托, 工作交接, 退回) is driven as the
demo cast does it, and the new holder then opens the step page, the document detail page and its 正文 (200, not
the 404 the 转办 bug gave: issue 11 point 6). The people chosen do not see the document by their own post
(another 科室, no agency-wide role), so only the flow's grant lets them in.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from documents.actions.body import check_save_body
from documents.actions.documents import do_create_document
from documents.models import IncomingDocument, OfficialDocument
from oa.actions.delegation import check_create_delegation, check_handover, do_revoke_delegation
from oa.models import Agency, Department, Person
from tests.clients import login
from tests.flowapp.flows import RoutingFlow
from tests.issued import issue_to
from tests.test_receipt import register_fields
from tests.test_receipt import step as receipt_step
from workflows.actions.issuance import (
    StartOptions,
    StepInput,
    check_perform_issuance_step,
    check_start_issuance,
)
from workflows.issuance.flows import IssuanceFlow
from workflows.models import DistributionRecipient, TaskEvent
from workflows.receipt.flows import ReceiptFlow

pytestmark = pytest.mark.django_db

OPEN = [STATUS.ASSIGNED, STATUS.STARTED]
BODY = {"blocks": [{"type": "p", "level": 0, "text": "现将有关事项通知如下。"}]}


# --- 发文 (IssuanceFlow, 区府办 秘书科 drafts) ---------------------------------------------------------------


def start_issuance(cast, *, title: str = "关于做好防汛值班工作的通知", countersign: list[str] = ()):
    office = Agency.objects.get(doc_code="揭东府办")
    doc = do_create_document(actor=cast.zhangwei, agency=office,
                             department=Department.objects.get(agency=office, name="秘书科"), title=title,
                             doc_type="tongzhi", main_recipients=["各镇人民政府"])
    check_save_body(cast.zhangwei, doc, BODY, if_match=None)
    depts = list(Department.objects.filter(agency=office, name__in=countersign).values_list("pk", flat=True))
    process = check_start_issuance(cast.zhangwei, doc, StartOptions(countersign_department_ids=depts))
    return doc, process


def open_task(process, node, owner=None) -> Task:
    tasks = Task.objects.filter(process=process, flow_task=node, status__in=OPEN)
    return tasks.get(owner=owner) if owner else tasks.get()


def assert_opens_document(client: Client, task: Task, doc: OfficialDocument) -> None:
    """The holder opens the step page, the 公文 and its 正文."""
    step = client.get(f"/flows/issuance/tasks/{task.pk}/")
    assert step.status_code == 200, step.content.decode()[:500]
    assert client.get(f"/documents/{doc.pk}/").status_code == 200
    assert client.get(f"/documents/{doc.pk}/body").status_code == 200


def assert_cannot_open_document(client: Client, doc: OfficialDocument) -> None:
    assert client.get(f"/documents/{doc.pk}/").status_code == 404


def test_issuance_reassign_lina_to_xuli(cast):
    """The reported case: 李娜 转办 her 部门负责人审核 to 徐丽 (综合科), whom the page offers."""
    doc, process = start_issuance(cast)
    review = open_task(process, IssuanceFlow.dept_review)
    lina, xuli = login(cast.lina, otp=True), login(cast.xuli, otp=True)
    assert_cannot_open_document(xuli, doc)
    page = lina.get(f"/flows/tasks/{review.pk}/").content.decode()
    assert f'value="{cast.xuli.pk}"' in page  # the UI offers her
    moved = lina.post(f"/flows/tasks/{review.pk}/reassign", {"person": cast.xuli.pk, "reason": "请徐科长审核"})
    assert moved.status_code == 302
    review.refresh_from_db()
    assert review.owner == cast.xuli
    assert_opens_document(xuli, review, doc)
    # 部门负责人审核 may edit the 正文: so may its new holder
    assert xuli.get(f"/documents/{doc.pk}/body").json()["can_edit"] is True


def delegate(principal: Person, to: Person, kind: str):
    today = timezone.localdate()
    return check_create_delegation(actor=principal, principal=principal, delegate=to, start_date=today,
                                   end_date=today + dt.timedelta(days=7), flow_types=[kind], reason="外出培训")


def perform(person: Person, task: Task, decision: str = "agree") -> None:
    check_perform_issuance_step(person, Task.objects.get(pk=task.pk),
                                StepInput(decision=decision, opinion="同意。", otp_verified=True))


def test_issuance_assignment_countersign_reaches_another_department(cast):
    doc, process = start_issuance(cast, countersign=["综合科"])
    xuli = login(cast.xuli, otp=True)
    assert_cannot_open_document(xuli, doc)
    perform(cast.lina, open_task(process, IssuanceFlow.dept_review))
    perform(cast.lina, open_task(process, IssuanceFlow.office_check))
    countersign = open_task(process, IssuanceFlow.countersign)
    assert countersign.owner == cast.xuli
    assert_opens_document(xuli, countersign, doc)
    assert xuli.get(f"/documents/{doc.pk}/body").json()["can_edit"] is False  # 会签 reads, does not edit


@pytest.mark.parametrize("mode", ["before", "after", "parallel"])
def test_issuance_addsign(cast, mode):
    doc, process = start_issuance(cast)
    review = open_task(process, IssuanceFlow.dept_review)
    added = login(cast.lina, otp=True).post(f"/flows/tasks/{review.pk}/addsign",
                                            {"person": cast.xuli.pk, "mode": mode, "reason": "请综合科把关"})
    assert added.status_code == 302
    addsign = open_task(process, IssuanceFlow.addsign)
    assert addsign.owner == cast.xuli
    assert_opens_document(login(cast.xuli, otp=True), addsign, doc)


def test_issuance_delegation_lina_to_xuli(cast):
    """委托: 李娜 is away; her 部门负责人审核 goes to 徐丽, who acts for her (徐丽 代 李娜)."""
    delegate(cast.lina, cast.xuli, "issuance")
    doc, process = start_issuance(cast)
    review = open_task(process, IssuanceFlow.dept_review)
    assert review.owner == cast.xuli and review.data["routing"]["on_behalf_of"] == cast.lina.pk
    assert_opens_document(login(cast.xuli, otp=True), review, doc)


def test_issuance_handover_lina_to_xuli(cast):
    """工作交接: 李娜 leaves; her open 部门负责人审核 moves to 徐丽."""
    doc, process = start_issuance(cast)
    review = open_task(process, IssuanceFlow.dept_review)
    check_handover(actor=cast.sunhao, source=cast.lina, target=cast.xuli, reason="岗位调整")
    review.refresh_from_db()
    assert review.owner == cast.xuli
    assert_opens_document(login(cast.xuli, otp=True), review, doc)


def test_issuance_return_reaches_the_principal_who_never_held_the_step(cast):
    """退回 to a 会签 done by 高军 代 徐丽: the delegation is over, so the step comes back to 徐丽 herself."""
    delegation = delegate(cast.xuli, cast.gaojun, "issuance")
    doc, process = start_issuance(cast, countersign=["综合科"])
    perform(cast.lina, open_task(process, IssuanceFlow.dept_review))
    perform(cast.lina, open_task(process, IssuanceFlow.office_check))
    countersign = open_task(process, IssuanceFlow.countersign)
    assert countersign.owner == cast.gaojun  # 委托 on a 会签 too
    assert_opens_document(login(cast.gaojun, otp=True), countersign, doc)
    perform(cast.gaojun, countersign)
    do_revoke_delegation(actor=cast.xuli, delegation=delegation)
    signoff = open_task(process, IssuanceFlow.signoff)
    xuli = login(cast.xuli, otp=True)
    assert_cannot_open_document(xuli, doc)
    back = login(cast.lina, otp=True).post(f"/flows/tasks/{signoff.pk}/return",
                                           {"target": countersign.pk, "reason": "请综合科重新会签", "jump_back": "on"})
    assert back.status_code == 302
    again = open_task(process, IssuanceFlow.countersign)
    assert again.owner == cast.xuli
    assert_opens_document(xuli, again, doc)


# --- the routing engine's test flow (RoutingFlow declares its own on_assign) ------------------------------------


def test_routing_flow_reassign_and_addsign_grant_its_document(cast):
    doc, _ = start_issuance(cast, title="关于开展安全生产检查的通知")
    process = RoutingFlow.start.run(
        title=doc.title, initiator_id=cast.zhangwei.pk, reviewer_id=cast.lina.pk, office_id=cast.liuyang.pk,
        signer_id=cast.huangjianhua.pk, countersign=[], policy={"policy": "all"},
        roles={"review": [cast.xuli.pk]}, document_id=doc.pk)
    review = open_task(process, RoutingFlow.review)
    lina, xuli, gaojun = (login(p, otp=True) for p in (cast.lina, cast.xuli, cast.gaojun))
    assert_cannot_open_document(xuli, doc)
    assert lina.post(f"/flows/tasks/{review.pk}/reassign", {"person": cast.xuli.pk}).status_code == 302
    assert xuli.get(f"/flows/tasks/{review.pk}/").status_code == 200
    assert xuli.get(f"/documents/{doc.pk}/").status_code == 200
    assert xuli.post(f"/flows/tasks/{review.pk}/addsign",
                     {"person": cast.gaojun.pk, "mode": "before", "reason": "请经办人先看"}).status_code == 302
    addsign = open_task(process, RoutingFlow.addsign)
    assert addsign.owner == cast.gaojun
    assert gaojun.get(f"/flows/tasks/{addsign.pk}/").status_code == 200
    assert gaojun.get(f"/documents/{doc.pk}/").status_code == 200


# --- 收文 (ReceiptFlow at 区财政局: 承办 by 预算科, whose 科员 财政06 sees no 收文 by post) ---------------------


def to_handle(cast) -> tuple[IncomingDocument, Task]:
    finance = Agency.objects.get(doc_code="揭东财")
    doc, _ = issue_to([finance], title="关于清理暂付款的函")
    incoming = DistributionRecipient.objects.get(document=doc, agency=finance).incoming
    clerk, office = login(cast.finance05, otp=True), login(cast.finance03, otp=True)
    receipt_step(clerk, receipt_task(incoming, ReceiptFlow.sign), "sign")
    receipt_step(clerk, receipt_task(incoming, ReceiptFlow.register), "register", **register_fields(incoming))
    receipt_step(office, receipt_task(incoming, ReceiptFlow.review), "accept", "同意办理。")
    receipt_step(office, receipt_task(incoming, ReceiptFlow.propose), "propose", "拟请副局长阅示。",
                 leader=cast.finance02.pk)
    budget = Department.objects.get(agency=finance, name="预算科")
    receipt_step(login(cast.finance02, otp=True), receipt_task(incoming, ReceiptFlow.instruct), "instruct",
                 "请预算科办理。", host_department=budget.pk, limit_days=3)
    return incoming, receipt_task(incoming, ReceiptFlow.handle)


def receipt_task(incoming: IncomingDocument, node) -> Task:
    return Task.objects.get(process__data__incoming_id=incoming.pk, process__flow_class=ReceiptFlow,
                            flow_task=node, status__in=OPEN)


def assert_opens_incoming(client: Client, task: Task, incoming: IncomingDocument) -> None:
    page = client.get(f"/flows/receipt/tasks/{task.pk}/")
    assert page.status_code == 200, page.content.decode()[:500]
    assert client.get(f"/flows/incoming/{incoming.pk}/").status_code == 200
    assert client.get(f"/flows/incoming/{incoming.pk}/pdf").status_code == 200  # the 来文 正文


def test_receipt_assignment_handler(cast):
    incoming, handle = to_handle(cast)
    assert handle.owner == cast.finance04
    assert_opens_incoming(login(cast.finance04, otp=True), handle, incoming)


def test_receipt_reassign(cast):
    incoming, handle = to_handle(cast)
    staff = login(cast.finance06, otp=True)
    assert staff.get(f"/flows/incoming/{incoming.pk}/").status_code == 404
    moved = login(cast.finance04, otp=True).post(f"/flows/tasks/{handle.pk}/reassign",
                                                 {"person": cast.finance06.pk, "reason": "请具体经办"})
    assert moved.status_code == 302
    handle.refresh_from_db()
    assert handle.owner == cast.finance06
    assert_opens_incoming(staff, handle, incoming)


def test_receipt_addsign(cast):
    incoming, handle = to_handle(cast)
    added = login(cast.finance04, otp=True).post(f"/flows/tasks/{handle.pk}/addsign",
                                                 {"person": cast.finance06.pk, "mode": "before", "reason": "先核数"})
    assert added.status_code == 302
    addsign = receipt_task(incoming, ReceiptFlow.addsign)
    assert addsign.owner == cast.finance06
    assert_opens_incoming(login(cast.finance06, otp=True), addsign, incoming)


def test_receipt_delegation(cast):
    delegate(cast.finance04, cast.finance06, "receipt")
    incoming, handle = to_handle(cast)
    assert handle.owner == cast.finance06 and handle.data["routing"]["on_behalf_of"] == cast.finance04.pk
    assert TaskEvent.objects.filter(task=handle, op=TaskEvent.Op.DELEGATE).exists()
    assert_opens_incoming(login(cast.finance06, otp=True), handle, incoming)


def test_receipt_handover(cast):
    incoming, handle = to_handle(cast)
    check_handover(actor=cast.sunhao, source=cast.finance04, target=cast.finance06, reason="岗位调整")
    handle.refresh_from_db()
    assert handle.owner == cast.finance06
    assert_opens_incoming(login(cast.finance06, otp=True), handle, incoming)


def test_receipt_return_reaches_the_principal_who_never_held_the_step(cast):
    """承办 done by 财政06 代 财政04; the delegation is over; 传阅 sends it back: 财政04 gets it and sees the 收文."""
    delegation = delegate(cast.finance04, cast.finance06, "receipt")
    incoming, handle = to_handle(cast)
    assert receipt_step(login(cast.finance06, otp=True), handle, "done", "已清理完毕。").status_code == 302
    do_revoke_delegation(actor=cast.finance04, delegation=delegation)
    # 财政04 never held it (the step went straight to the delegate), so no grant yet
    assert login(cast.finance04, otp=True).get(f"/flows/incoming/{incoming.pk}/").status_code == 404
    circulate = receipt_task(incoming, ReceiptFlow.circulate)
    back = login(cast.finance03, otp=True).post(f"/flows/tasks/{circulate.pk}/return",
                                                {"target": handle.pk, "reason": "请补充清理明细", "jump_back": "on"})
    assert back.status_code == 302
    again = receipt_task(incoming, ReceiptFlow.handle)
    assert again.owner == cast.finance04
    assert_opens_incoming(login(cast.finance04, otp=True), again, incoming)


def test_routing_flow_assign_after_unassign_grants_too(cast):
    """viewflow's own assign (a step left without holder, then claimed) goes through on_assign as well."""
    doc, _ = start_issuance(cast, title="关于开展消防演练的通知")
    process = RoutingFlow.start.run(
        title=doc.title, initiator_id=cast.zhangwei.pk, reviewer_id=cast.lina.pk, office_id=cast.liuyang.pk,
        signer_id=cast.huangjianhua.pk, countersign=[], policy={"policy": "all"}, roles={}, document_id=doc.pk)
    review = open_task(process, RoutingFlow.review)
    with review.activation() as activation:
        activation.unassign()
        activation.assign(cast.xuli)
    review.refresh_from_db()
    assert review.owner == cast.xuli
    assert login(cast.xuli, otp=True).get(f"/documents/{doc.pk}/").status_code == 200
