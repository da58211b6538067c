"""发文 (IssuanceFlow) through its actions on PostgreSQL: the whole chain and its rules.

HTTP tests of the same chain, as the demo cast, are in tests/test_issuance_http.py.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from viewflow.workflow.models import Task
from viewflow.workflow.status import PROCESS, STATUS

from documents.actions.body import check_save_body
from documents.actions.documents import do_create_document
from documents.actions.seals import check_create_seal, do_init_seal_authority
from documents.models import OfficialDocument
from oa.models import Agency, AuditEntry, Department, WorkItem
from oa.refusals import Refusal
from workflows.actions.issuance import (
    StartOptions,
    StepInput,
    check_perform_issuance_step,
    check_start_issuance,
)
from workflows.issuance.flows import IssuanceFlow
from workflows.models import DistributionRecipient, Opinion

pytestmark = pytest.mark.django_db

BODY = {"blocks": [
    {"type": "p", "level": 0, "text": "为做好全区冬季安全生产工作，现将有关事项通知如下。"},
    {"type": "p", "level": 1, "text": "压实责任"},
    {"type": "p", "level": 0, "text": "各单位要严格落实安全生产责任制，主要负责人亲自部署。"},
]}


def draft(cast, **fields) -> OfficialDocument:
    office = Agency.objects.get(doc_code="揭东府办")
    department = Department.objects.get(agency=office, name="秘书科")
    doc = do_create_document(actor=cast.zhangwei, agency=office, department=department,
                             title=fields.pop("title", "关于做好冬季安全生产工作的通知"),
                             main_recipients=["各镇人民政府", "各街道办事处"], **fields)
    check_save_body(cast.zhangwei, doc, BODY, if_match=None)
    return doc


def open_task(process, node, owner=None) -> Task:
    tasks = Task.objects.filter(process=process, flow_task=node, status__in=[STATUS.ASSIGNED, STATUS.STARTED])
    return tasks.get(owner=owner) if owner is not None else tasks.get()


def do(user, process, node, decision="agree", opinion="同意。", **kw) -> Task:
    return check_perform_issuance_step(user, open_task(process, node, owner=user),
                                       StepInput(decision=decision, opinion=opinion, otp_verified=True, **kw))


@pytest.fixture
def seals(cast):
    do_init_seal_authority(actor=None, name="揭东区电子印章制章者")
    for code in ("揭东府办", "揭东财"):
        check_create_seal(cast.sunhao, agency=Agency.objects.get(doc_code=code))


def test_ordinary_notice_runs_the_whole_chain(cast, seals):
    doc = draft(cast)
    finance = Agency.objects.get(doc_code="揭东财")
    process = check_start_issuance(cast.zhangwei, doc, StartOptions(
        countersign_department_ids=list(Department.objects.filter(agency__doc_code="揭东府办", name__in=["综合科", "督查室"]).values_list("pk", flat=True))))
    doc.refresh_from_db()
    assert doc.status == OfficialDocument.Status.IN_REVIEW
    flow = IssuanceFlow
    # 部门负责人审核 (李娜, head of 秘书科), then 办公室核稿 (李娜 is also the office's 核稿人)
    assert open_task(process, flow.dept_review).owner == cast.lina
    do(cast.lina, process, flow.dept_review)
    do(cast.lina, process, flow.office_check, opinion="核稿通过，格式符合要求。")
    # 会签: the heads of 综合科 and 督查室 in parallel
    heads = {t.owner.username for t in Task.objects.filter(process=process, flow_task=flow.countersign)}
    assert heads == {"xuli", "wujing"}
    do(cast.xuli, process, flow.countersign, opinion="同意。")
    assert not Task.objects.filter(process=process, flow_task=flow.signoff).exists()  # the Join waits
    do(cast.wujing, process, flow.countersign, opinion="同意。")
    # 签发: 王芳 (分管领导 of 秘书科) has delegated 发文 to 李娜 → "李娜 代 王芳"
    signoff = open_task(process, flow.signoff)
    assert signoff.owner == cast.lina and signoff.data["routing"]["on_behalf_of"] == cast.wangfang.pk
    with pytest.raises(Refusal) as err:
        check_perform_issuance_step(cast.lina, signoff, StepInput(decision="agree", opinion="同意。"))
    assert err.value.code == "otp_required"
    with pytest.raises(Refusal) as err:
        do(cast.lina, process, flow.signoff, opinion="")
    assert err.value.code == "opinion_required"
    do(cast.lina, process, flow.signoff, opinion="同意印发。")
    doc.refresh_from_db()
    assert doc.status == OfficialDocument.Status.SIGNED and doc.signers == ["王芳"] and doc.written_date
    sign_opinion = Opinion.objects.get(process=process, node="signoff")
    assert sign_opinion.author == cast.lina and sign_opinion.on_behalf_of == cast.wangfang
    do(cast.lina, process, flow.recheck, opinion="复核无误。")
    do(cast.liuyang, process, flow.register, decision="done", opinion="")
    doc.refresh_from_db()
    assert doc.doc_number.startswith("揭东府办〔") and doc.status == OfficialDocument.Status.NUMBERED
    process.refresh_from_db()
    assert process.data["doc_number"] == doc.doc_number
    do(cast.liuyang, process, flow.typeset, decision="done", opinion="")
    doc.refresh_from_db()
    assert doc.status == OfficialDocument.Status.TYPESET and doc.final_pdf
    do(cast.zhoumin, process, flow.seal, decision="done", opinion="")
    doc.refresh_from_db()
    assert doc.status == OfficialDocument.Status.SEALED and doc.seal_uses.count() == 1
    do(cast.liuyang, process, flow.distribute, decision="done", opinion="",
       recipients=[(finance.pk, "main")])
    assert DistributionRecipient.objects.get(document=doc).status == DistributionRecipient.Status.PENDING
    do(cast.liuyang, process, flow.archive, decision="done", opinion="", retention="30y")
    process.refresh_from_db()
    doc.refresh_from_db()
    assert process.status == PROCESS.DONE and doc.status == OfficialDocument.Status.ARCHIVED
    assert AuditEntry.objects.filter(action="issuance.signoff", object_id=str(doc.pk)).exists()
    # Nothing of the 发文 is left open (the receiver's 签收 of its new 收文 is, rightly, the 财政局's).
    assert not WorkItem.objects.filter(ref__in=[f"viewflow.task:{t.pk}" for t in process.task_set.all()],
                                       state=WorkItem.State.OPEN).exists()
    assert WorkItem.objects.filter(owner=cast.finance05, state=WorkItem.State.OPEN, title=doc.title).exists()


def test_upward_request_only_principal_signs(cast, seals):
    doc = draft(cast, doc_type="qingshi", title="关于申请冬季安全生产专项经费的请示")
    process = check_start_issuance(cast.zhangwei, doc)
    assert process.data["signer_id"] == cast.huangjianhua.pk  # 上行文 → 主要负责人
    do(cast.lina, process, IssuanceFlow.dept_review)
    do(cast.lina, process, IssuanceFlow.office_check)
    signoff = open_task(process, IssuanceFlow.signoff)
    assert signoff.owner == cast.huangjianhua
    with pytest.raises(PermissionDenied):
        check_perform_issuance_step(cast.wangfang, signoff, StepInput(decision="agree", opinion="同意", otp_verified=True))
    do(cast.huangjianhua, process, IssuanceFlow.signoff, decision="circle", opinion="")
    doc.refresh_from_db()
    assert doc.signers == ["黄建华"] and Opinion.objects.get(process=process, node="signoff").kind == "circle"


def test_recheck_substantive_change_goes_back_to_the_signer(cast, seals):
    doc = draft(cast, doc_type="qingshi", title="关于申请专项经费的请示")
    process = check_start_issuance(cast.zhangwei, doc)
    for user, node in [(cast.lina, IssuanceFlow.dept_review), (cast.lina, IssuanceFlow.office_check),
                       (cast.huangjianhua, IssuanceFlow.signoff)]:
        do(user, process, node)
    do(cast.lina, process, IssuanceFlow.recheck, decision="changed", opinion="经费数额有实质性调整，请重新签发。")
    again = open_task(process, IssuanceFlow.signoff)
    assert again.owner == cast.huangjianhua
    do(cast.huangjianhua, process, IssuanceFlow.signoff, opinion="同意调整后的数额。")
    assert open_task(process, IssuanceFlow.recheck).owner == cast.lina  # jump back to 复核


def test_step_opinions_with_control_chars_are_refused_by_the_action(cast, seals):
    """The step form checks the opinion box; the action does too, so no other caller gets round it — including
    复核's “实质性修改” which hands the opinion to 退回 without recording an Opinion."""
    doc = draft(cast, doc_type="qingshi", title="关于申请专项经费的请示")
    process = check_start_issuance(cast.zhangwei, doc)
    with pytest.raises(Refusal) as err:
        do(cast.lina, process, IssuanceFlow.dept_review, opinion="同意\u202e。意同不")
    assert err.value.code == "text_control_chars" and err.value.message.startswith("办理意见含有控制字符")
    assert open_task(process, IssuanceFlow.dept_review).owner == cast.lina
    assert not Opinion.objects.filter(process=process).exists()
    for user, node in [(cast.lina, IssuanceFlow.dept_review), (cast.lina, IssuanceFlow.office_check),
                       (cast.huangjianhua, IssuanceFlow.signoff)]:
        do(user, process, node)
    with pytest.raises(Refusal) as err:
        do(cast.lina, process, IssuanceFlow.recheck, decision="changed", opinion="数额调整\u2066，请重新签发。")
    assert err.value.code == "text_control_chars"
    assert open_task(process, IssuanceFlow.recheck).owner == cast.lina


def test_start_refusals(cast):
    doc = draft(cast)
    with pytest.raises(PermissionDenied):
        check_start_issuance(cast.lina, doc)
    with pytest.raises(Refusal) as err:
        check_start_issuance(cast.zhangwei, doc, StartOptions(countersign_policy="most"))
    assert err.value.code == "countersign_policy_invalid"
    doc.refresh_from_db()
    assert doc.status == OfficialDocument.Status.DRAFT
    check_start_issuance(cast.zhangwei, doc)
    with pytest.raises(Refusal) as err:
        check_start_issuance(cast.zhangwei, doc)
    assert err.value.code == "not_draft"


def test_countersign_veto_returns_to_the_drafter(cast):
    doc = draft(cast)
    dept = Department.objects.get(agency__doc_code="揭东府办", name="综合科")
    process = check_start_issuance(cast.zhangwei, doc, StartOptions(countersign_department_ids=[dept.pk],
                                                                    countersign_policy="veto"))
    do(cast.lina, process, IssuanceFlow.dept_review)
    do(cast.lina, process, IssuanceFlow.office_check)
    with pytest.raises(Refusal) as err:
        do(cast.xuli, process, IssuanceFlow.countersign, decision="veto", opinion="")
    assert err.value.code == "opinion_required"
    do(cast.xuli, process, IssuanceFlow.countersign, decision="veto", opinion="涉及综合科职责，需先协商。")
    assert open_task(process, IssuanceFlow.redraft).owner == cast.zhangwei


def test_sequential_countersign(cast):
    doc = draft(cast)
    ids = list(Department.objects.filter(agency__doc_code="揭东府办", name__in=["综合科", "督查室"])
               .order_by("name").values_list("pk", flat=True))
    process = check_start_issuance(cast.zhangwei, doc, StartOptions(countersign_department_ids=ids,
                                                                    countersign_mode="sequential"))
    do(cast.lina, process, IssuanceFlow.dept_review)
    do(cast.lina, process, IssuanceFlow.office_check)
    first = open_task(process, IssuanceFlow.seq_countersign)
    do(first.owner, process, IssuanceFlow.seq_countersign)
    second = open_task(process, IssuanceFlow.seq_countersign)
    assert second.owner != first.owner
    do(second.owner, process, IssuanceFlow.seq_countersign)
    assert open_task(process, IssuanceFlow.signoff)


def test_overdue_step_is_urged_automatically_and_keeps_running(cast):
    import datetime as dt

    from django.core.management import call_command
    from django.utils import timezone

    from oa.models import Notification
    from workflows.models import TaskEvent

    doc = draft(cast)
    process = check_start_issuance(cast.zhangwei, doc)
    host = open_task(process, IssuanceFlow.dept_review)
    assert host.data["deadline"]  # the inbox shows it; the timer fires at it
    timer = Task.objects.get(process=process, previous=host, scheduled__isnull=False)
    assert timer.scheduled == dt.datetime.fromisoformat(host.data["deadline"])
    Task.objects.filter(pk=timer.pk).update(scheduled=timezone.now() - dt.timedelta(minutes=1))
    call_command("workflow_timers")
    host.refresh_from_db()
    assert host.status == STATUS.ASSIGNED  # non-interrupting: the step runs on
    assert host.data["routing"]["urged"]["count"] == 1 and host.data["routing"]["urged"]["last_by"] is None
    event = TaskEvent.objects.get(task=host, op=TaskEvent.Op.URGE)
    assert event.data["automatic"] is True and event.actor is None
    assert Notification.objects.filter(recipient=cast.lina, event_type="work.urged").exists()
    assert AuditEntry.objects.filter(action="flow.task_urge", actor__isnull=True).exists()
    # finishing the step cancels a timer that has not fired yet
    do(cast.lina, process, IssuanceFlow.dept_review)
    office_timer = Task.objects.get(process=process, previous=open_task(process, IssuanceFlow.office_check),
                                    scheduled__isnull=False)
    do(cast.lina, process, IssuanceFlow.office_check)
    office_timer.refresh_from_db()
    assert office_timer.status == STATUS.CANCELED


def test_joint_issuance_countersigned_by_every_head_and_sealed_by_every_agency(cast, seals):
    from documents.actions.documents import do_set_co_issuers

    doc = draft(cast, title="关于联合开展冬季安全生产检查的通知")
    finance = Agency.objects.get(doc_code="揭东财")
    do_set_co_issuers(doc, [finance], actor=cast.zhangwei)
    process = check_start_issuance(cast.zhangwei, doc)
    do(cast.lina, process, IssuanceFlow.dept_review)
    do(cast.lina, process, IssuanceFlow.office_check)
    # 联合发文由所有联署机关的负责人会签: the finance bureau's 局长 countersigns
    countersign = open_task(process, IssuanceFlow.countersign)
    assert countersign.owner == cast.finance01
    do(cast.finance01, process, IssuanceFlow.countersign, opinion="同意联合印发。")
    do(cast.lina, process, IssuanceFlow.signoff, opinion="同意。")
    do(cast.lina, process, IssuanceFlow.recheck)
    do(cast.liuyang, process, IssuanceFlow.register, decision="done", opinion="")
    doc.refresh_from_db()
    assert doc.doc_number.startswith("揭东府办〔")  # the lead agency's 文号
    do(cast.liuyang, process, IssuanceFlow.typeset, decision="done", opinion="")
    keepers = {t.owner.username for t in Task.objects.filter(process=process, flow_task=IssuanceFlow.seal)}
    assert keepers == {"zhoumin", "finance05"}
    do(cast.zhoumin, process, IssuanceFlow.seal, decision="done", opinion="")
    doc.refresh_from_db()
    assert doc.status == OfficialDocument.Status.TYPESET  # not sealed until every 署名 has its seal
    do(cast.finance05, process, IssuanceFlow.seal, decision="done", opinion="")
    doc.refresh_from_db()
    assert doc.status == OfficialDocument.Status.SEALED and doc.seal_uses.count() == 2
    assert open_task(process, IssuanceFlow.distribute).owner == cast.liuyang
