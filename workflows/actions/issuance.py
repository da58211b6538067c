"""发文 step actions: start the flow for a draft, and complete a step with its business act.

Every step runs under the process lock (task.activation()) in one transaction: the document change (要素, 编号,
排版, 用印 …), the opinion, the audit entry and the flow's move either all happen or none does. viewflow does
not check permissions on direct calls, so these functions do (STACK.md §2).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from viewflow.workflow.models import Process, Task
from viewflow.workflow.status import STATUS

from documents.actions.archive import check_archive_document
from documents.actions.documents import (
    check_update_document,
    do_record_signoff,
    do_set_document_status,
    document_access_statement,
    refuse_unbreakable_title,
)
from documents.actions.numbering import do_allocate_doc_number
from documents.actions.seals import check_stamp_document, do_authorise_seal_use
from documents.actions.typeset import check_typeset_document
from documents.models import CoIssuer, OfficialDocument
from oa.actions.audit import do_record_audit
from oa.models import Agency, Department, Person, Role
from oa.refusals import Refusal
from oa.selectors.directory import (
    head_of_department,
    may_sign_off,
    people_with_role,
    principals,
)
from workflows.actions.distribution import delivery_content, do_deliver_internal_many, do_send_remote
from workflows.actions.opinions import do_record_opinion, refuse_control_chars_in
from workflows.actions.routing import check_return_task, locked_task, principal_of, require_open_own
from workflows.issuance.flows import IssuanceFlow, document_of
from workflows.issuance.steps import AGREE, CHANGED, CIRCLE, STEPS, VETO
from workflows.models import DistributionRecipient, Opinion
from workflows.nodes import task_repr
from workflows.selectors.issuance import _first, choose_signer, preview_check
from workflows.transports import is_remote

POLICIES = ("all", "n_of_m", "veto")




@dataclass
class StartOptions:
    countersign_department_ids: list[int] = field(default_factory=list)
    countersign_mode: str = "parallel"  # or "sequential"
    countersign_policy: str = "all"  # all | n_of_m | veto
    countersign_required: int | None = None  # for n_of_m
    jump_back: bool = True


@transaction.atomic
def check_start_issuance(actor: Person, document: OfficialDocument, options: StartOptions | None = None) -> Process:
    """送审: the drafter sends a draft into 发文. Resolves every assignee now, so a missing role is said at once."""
    options = options or StartOptions()
    doc = OfficialDocument.objects.select_for_update(of=("self",)).select_related("agency", "department").get(
        pk=document.pk
    )
    if doc.created_by_id != actor.pk:
        raise PermissionDenied("只有拟稿人可以送审")
    if doc.status != OfficialDocument.Status.DRAFT:
        raise Refusal("not_draft", f"公文当前状态为“{doc.get_status_display()}”，不能再次送审。", status=409)
    if doc.current_body is None:
        raise Refusal("no_body", "请先撰写正文再送审。", status=400)
    # 标题回行 (§7.3.1): 拟稿/修改要素 refuse such a title; a record stored before that check is stopped here, not
    # first at 核稿 or 套红.
    refuse_unbreakable_title(doc.title)
    if options.countersign_mode not in ("parallel", "sequential"):
        raise Refusal("countersign_mode_invalid", "会签方式只能是并行或依次。", status=400)
    if options.countersign_policy not in POLICIES:
        raise Refusal("countersign_policy_invalid", "会签规则只能是全部同意、N 个同意或一票否决。", status=400)
    agency = doc.agency
    countersign = []
    for dept in Department.objects.filter(pk__in=options.countersign_department_ids, agency=agency, is_active=True):
        head = head_of_department(dept)
        if head is None:
            raise Refusal("countersign_department_no_head",
                          f"会签部门“{dept.name}”没有部门负责人，不能会签，请另选或联系系统管理员维护角色。", status=400)
        countersign.append({"dept_id": dept.pk, "dept": dept.name, "signer_id": head.pk})
    if len(countersign) != len(set(options.countersign_department_ids)):
        raise Refusal("countersign_department_invalid", "会签部门须为本机关在用的部门。", status=400)
    # 联合发文由所有联署机关的负责人会签 (条例 第二十二条).
    co_agencies = [c.agency for c in CoIssuer.objects.filter(document=doc).select_related("agency")]
    for co in co_agencies:
        head = _first(principals(co), "主要负责人", co)
        countersign.append({"agency_id": co.pk, "dept": co.name, "signer_id": head.pk})
    if options.countersign_policy == "n_of_m":
        required = options.countersign_required or 0
        if not 1 <= required <= len(countersign):
            raise Refusal("countersign_required_invalid", f"“N 个同意”的 N 须在 1～{len(countersign)} 之间。",
                            status=400)
    seals = []
    if doc.seal_required:
        for issuer in [agency, *co_agencies]:
            keeper = _first(people_with_role(Role.SEAL_KEEPER, agency=issuer), "印章管理员", issuer)
            seals.append({"agency_id": issuer.pk, "keeper_id": keeper.pk})
    data = {
        "title": doc.title,
        "urgency": {"teji": 2, "jiaji": 1}.get(doc.urgency, 0),
        "doc_number": "",
        "initiator_id": actor.pk,
        "agency_id": agency.pk,
        "document_id": doc.pk,
        "office_id": _first(people_with_role(Role.REVIEWER, agency=agency), "核稿人", agency).pk,
        "clerk_id": _first(people_with_role(Role.CLERK, agency=agency), "办公室文书", agency).pk,
        "signer_id": choose_signer(doc).pk,
        "countersign": countersign,
        "countersign_mode": options.countersign_mode,
        "countersign_policy": options.countersign_policy,
        "countersign_required": options.countersign_required,
        "seals": seals,
        "seq_index": 0,
        "jump_back": options.jump_back,
        "_document": doc,
    }
    do_set_document_status(doc, OfficialDocument.Status.IN_REVIEW, actor=actor)
    process = IssuanceFlow.start.run(**data)
    do_record_audit(actor=actor, action="issuance.start", obj=doc, changes={
        "process": process.pk, "countersign": [c["dept"] for c in countersign],
        "countersign_mode": options.countersign_mode, "countersign_policy": options.countersign_policy,
    })
    return process


def do_authorise_seal_step(activation, document: OfficialDocument) -> None:
    """Reaching 用印 authorises exactly one stamping for that agency, bound to this task (DESIGN: seals)."""
    task = activation.task
    agency = Agency.objects.get(pk=task.data["agency_id"])
    previous = activation.process.task_set.filter(flow_task=IssuanceFlow.typeset, status=STATUS.DONE).last()
    actor = previous.owner if previous and previous.owner else Person.objects.get(pk=activation.process.data["clerk_id"])
    do_authorise_seal_use(actor=actor, document=document, agency=agency, step_label="用印",
                          step_token=seal_step_token(task))


def seal_step_token(task: Task) -> str:
    return f"issuance:{task.process_id}:task:{task.pk}"


@dataclass
class StepInput:
    decision: str
    opinion: str = ""
    fields: dict[str, Any] = field(default_factory=dict)
    signed_date: dt.date | None = None
    recipients: list[tuple[int, str]] = field(default_factory=list)  # (agency id, "main"|"cc") for 分发
    retention: str = ""  # 归档 保管期限
    # 2FA proven for this act: a verified session (用印), at 签发 a 动态口令 the step page checked just now.
    otp_verified: bool = False
    ip: str | None = None


def _opinion_kind(node: str, decision: str) -> str:
    if decision == CIRCLE:
        return Opinion.Kind.CIRCLE
    if decision == VETO:
        return Opinion.Kind.DISAGREE
    if node in ("countersign", "seq_countersign"):
        return Opinion.Kind.COUNTERSIGN
    if node == "signoff":
        return Opinion.Kind.AGREE
    return Opinion.Kind.AGREE if decision == AGREE else Opinion.Kind.COMMENT


def _node_name(task: Task) -> str:
    return task.flow_task.name if not isinstance(task.flow_task, str) else task.flow_task.rsplit(".", 1)[-1]


def check_issuance_step_input(user: Person, task: Task, data: StepInput) -> None:
    """What can be refused before anything is done (decision, opinion text and whether one is required, who may
    sign), so the 签发 page says so before it asks for the 动态口令. check_perform_issuance_step runs it again."""
    node = _node_name(task)
    step = STEPS.get(node)
    if step is None:
        raise Refusal("not_issuance_step", "这不是发文环节。", status=400)
    if data.decision not in dict(step.decisions):
        raise Refusal("decision_invalid", f"“{step.label}”环节没有这个办理选项。", status=400)
    refuse_control_chars_in(data.opinion, "签发意见" if node == "signoff" else "办理意见")
    needs_text = data.decision == VETO or (node == "signoff" and data.decision != CIRCLE)
    if needs_text and not data.opinion.strip():
        circle = "（或选择圈阅）" if CIRCLE in dict(step.decisions) else ""
        what = "不同意会签须说明理由" if data.decision == VETO else f"签发须签署意见{circle}"
        raise Refusal("opinion_required", what + "。", status=400)
    if node == "signoff":
        _require_signer(principal_of(task) or user, document_of(task.process))


def _require_signer(signer: Person, document: OfficialDocument) -> None:
    if not may_sign_off(signer, document.agency, upward=document.is_upward, important=document.is_important,
                        department=document.department):
        rule = "上行文和重要公文只能由主要负责人签发" if (document.is_upward or document.is_important) else "您不是本机关可签发公文的负责人"
        raise PermissionDenied(rule)


def check_perform_issuance_step(user: Person, task: Task, data: StepInput) -> Task:
    """Complete a 发文 step as its holder. Refusals are Refusal/PermissionDenied with nothing changed."""
    node = _node_name(task)
    step = STEPS.get(node)
    check_issuance_step_input(user, task, data)
    if data.decision == CHANGED:
        # 复核 found a substantive change: back to the signer, who re-signs and comes straight back here.
        signoff = task.process.task_set.filter(flow_task=IssuanceFlow.signoff, status=STATUS.DONE).order_by("pk").last()
        if signoff is None:
            raise Refusal("no_signoff", "没有找到签发环节，无法退回重签。", status=409)
        return check_return_task(user, task, signoff.pk, data.opinion, jump_back=True, ip=data.ip)
    # The lock's transaction is the step's: no savepoint of its own (a refusal rolls the whole step back).
    with locked_task(task) as activation, transaction.atomic(savepoint=False):
        task = require_open_own(user, activation)
        document = document_of(task.process)
        principal = principal_of(task)  # 委托: the step is the principal's, done by the delegate ("代")
        _perform(user, task, node, step, document, data, principal)
        if task.status == STATUS.ASSIGNED:
            activation.start(None)
        task.data = {**(task.data or {}), "outcome": "veto" if data.decision == VETO else "agree",
                     **({"opinion": data.opinion.strip()} if data.opinion.strip() else {})}
        activation.execute()
        # The step is over: its edit right goes (the person keeps seeing the document). The grant travels in the
        # audit append's statement.
        do_record_audit(actor=user, action="flow.task_complete", obj=task, object_repr=task_repr(task), ip=data.ip,
                        on_behalf_of=principal, changes={
                            "flow": "IssuanceFlow", "process": task.process_id, "node": node,
                            "decision": data.decision, "opinion": data.opinion.strip(),
                            "document": document.pk},
                        also=[document_access_statement(document, user, can_edit=False)])
    return task


def _perform(user: Person, task: Task, node: str, step, document: OfficialDocument, data: StepInput,
             principal: Person | None) -> None:
    if step.needs_otp and not data.otp_verified:
        raise Refusal("otp_required", f"“{step.label}”须先完成双因素认证（动态口令）。", status=403)
    if data.fields:
        check_update_document(user, document, data.fields, allowed=step.fields)
        document.refresh_from_db()
    signer = principal or user
    if node == "office_check":
        failures = [r for r in preview_check(document) if not r.passed]
        if failures:
            listed = "；".join(f"{r.rule}（实测 {r.measured}）" for r in failures[:3])
            raise Refusal("gbt9704_failed", f"核稿未通过 GB/T 9704 检查：{listed}", status=422)
    elif node == "signoff":
        _require_signer(signer, document)  # again, under the lock
        signed = data.signed_date or timezone.localdate()
        # 签发人 as printed is the principal's name even when signed "代".
        do_record_signoff(document, signer_name=signer.name, signed_on=signed, actor=user)
        do_record_audit(actor=user, action="issuance.signoff", obj=document, on_behalf_of=principal, changes={
            "signer": signer.name, "by": user.name, "date": signed, "circle": data.decision == CIRCLE,
            "opinion": data.opinion.strip()})
    elif node == "seq_countersign":
        process = task.process
        process.data = {**process.data, "seq_index": int(process.data.get("seq_index", 0)) + 1}
        process.save(update_fields=["data"])
    elif node == "register":
        entry = do_allocate_doc_number(user, document)
        process = task.process
        process.data = {**process.data, "doc_number": entry.number}
        process.save(update_fields=["data"])
        do_set_document_status(document, OfficialDocument.Status.NUMBERED, actor=user)
    elif node == "typeset":
        check_typeset_document(user, document)
    elif node == "seal":
        _stamp(user, task, document, data)
    elif node == "distribute":
        _distribute(user, task, document, data)
    elif node == "archive":
        check_archive_document(user, document, retention=data.retention)
    if node not in ("register", "typeset", "seal", "distribute", "archive") or data.opinion.strip():
        do_record_opinion(actor=user, process=task.process, task=task, document=document, step=step.label,
                          node=node, kind=_opinion_kind(node, data.decision), text=data.opinion,
                          on_behalf_of=principal, signed_date=data.signed_date, ip=data.ip,
                          circle_offered=CIRCLE in dict(step.decisions))


def _stamp(user: Person, task: Task, document: OfficialDocument, data: StepInput) -> None:
    from documents.models import Seal

    agency_id = task.data["agency_id"]
    seal = Seal.objects.filter(agency_id=agency_id, kind=Seal.Kind.OFFICIAL, is_active=True,
                               revoked_at__isnull=True).order_by("-valid_from").first()
    if seal is None:
        raise Refusal("no_seal", "本机关没有可用的电子公章，请联系系统管理员制章。", status=409)
    check_stamp_document(user, document, seal, step_token=seal_step_token(task), otp_verified=data.otp_verified)


def _distribute(user: Person, task: Task, document: OfficialDocument, data: StepInput) -> None:
    if not data.recipients:
        raise Refusal("recipients_required", "请选择分发的收文机关。", status=400)
    agencies = {a.pk: a for a in Agency.objects.filter(pk__in=[pk for pk, _ in data.recipients], is_active=True)}
    if len(agencies) != len({pk for pk, _ in data.recipients}):
        raise Refusal("recipient_invalid", "收文机关不存在或已停用。", status=400)
    if document.agency_id in agencies:
        raise Refusal("recipient_is_sender", "不能分发给发文机关自己。", status=400)
    main = {pk for pk, kind in data.recipients if kind == DistributionRecipient.Kind.MAIN}
    both = [agencies[pk].name for pk, kind in data.recipients if kind == DistributionRecipient.Kind.CC and pk in main]
    if both:
        raise Refusal("cc_overlaps_main", f"“{both[0]}”已勾选为主送机关，不能同时抄送，请取消其中一项。", status=400)
    rows = [DistributionRecipient(document=document, process=task.process, agency=agencies[pk], kind=kind,
                                  sent_by=user) for pk, kind in dict(data.recipients).items()]
    DistributionRecipient.objects.bulk_create(rows)
    do_set_document_status(document, OfficialDocument.Status.DISTRIBUTED, actor=user)
    # Same deployment: the receiver's 收文 exists when this commits. Another deployment: one signed package per
    # peer goes into the exchange outbox, written in this same transaction.
    local = [row for row in rows if not is_remote(row.agency)]
    if local:
        do_deliver_internal_many(local, actor=user, content=delivery_content(document))
    do_send_remote(document, [row for row in rows if is_remote(row.agency)], actor=user)
    do_record_audit(actor=user, action="issuance.distribute", obj=document,
                    changes={"recipients": [f"{r.agency.name}（{r.get_kind_display()}）" for r in rows]})
