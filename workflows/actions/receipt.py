"""收文办理 actions: start ReceiptFlow for a 收文, complete its steps, 取回 by the sender, register a paper 来文.

Every step runs under the process lock (locked_task) in one transaction: the write on the 收文
(documents.actions.incoming), the receipt to the sender, the opinion, the audit entry and the flow's move either all
happen or none does. viewflow does not check permissions on direct calls, so these functions do.

Lock order, the same for every writer: the sender's DistributionRecipient row (internal delivery only), then the
process, then the 收文 row. 取回 (workflows.actions.distribution.check_withdraw_distribution) takes the recipient row
first too, so 签收 and 取回 racing each other serialise instead of deadlocking. The process row is locked with a
blocking SELECT … FOR UPDATE first (see _lock_process): these functions run inside outer transactions, where
viewflow's NOWAIT-and-retry lock would abort the transaction instead of retrying.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from viewflow.workflow.models import Process, Task
from viewflow.workflow.status import PROCESS, STATUS

from documents.actions.documents import do_create_document
from documents.actions.incoming import (
    IncomingFields,
    check_incoming_scan,
    clean_register_fields,
    do_accept_incoming_for_handling,
    do_archive_incoming,
    do_assign_incoming_handling,
    do_close_incoming,
    do_create_incoming,
    do_mark_incoming_withdrawn,
    do_register_incoming,
    do_return_incoming,
    do_sign_incoming,
    do_store_incoming_pdf,
)
from documents.models import DocType, IncomingDocument
from documents.secrecy import CLASSIFIED_LEVELS, is_classified
from oa.actions.audit import do_record_audit
from oa.models import Agency, Department, Person, Role
from oa.refusals import Refusal
from oa.selectors.calendar import add_working_days
from oa.selectors.directory import head_of_department, people_with_role
from workflows.actions.opinions import do_record_opinion, refuse_control_chars_in
from workflows.actions.routing import locked_task, principal_of, require_open_own
from workflows.models import DistributionRecipient, Opinion
from workflows.nodes import task_repr
from workflows.receipt.flows import ReceiptFlow, incoming_of
from workflows.receipt.steps import RETURN_SENDER, STEPS, decisions_for
from workflows.selectors.receipt import (
    ReceivingOffice,
    handling_agencies,
    leaders_of,
    may_register_paper,
    open_assist_tasks,
    receiving_office,
)
from workflows.selectors.receipt import receipt_process_of as receipt_process
from workflows.steps import end_of_day

LIMIT_DAYS_MAX = 90
READERS_MAX = 100
REPLY_DOC_TYPES = (DocType.LETTER, DocType.REPLY, DocType.OPINION, DocType.NOTICE)


def _first(people) -> Person | None:
    return next(iter(people), None)


def _office_people(agency: Agency) -> tuple[Person, Person]:
    """(文书, 核稿人/办公室) of the receiving office; a small agency where one person does both is fine. A missing
    核稿人 falls back to the 文书; a missing 文书 is said at once (the 收文 could land nowhere)."""
    clerk = _first(people_with_role(Role.CLERK, agency=agency))
    office = _first(people_with_role(Role.REVIEWER, agency=agency))
    return _require_clerk(agency, clerk), office or clerk


def _require_clerk(agency: Agency, clerk: Person | None) -> Person:
    if clerk is None:
        raise Refusal("no_assignee", f"{agency.name}没有办公室文书，无法接收公文，请联系系统管理员维护角色。", status=409)
    return clerk


def _urgency(incoming: IncomingDocument) -> int:
    return {"teji": 2, "jiaji": 1}.get(incoming.urgency, 0)


def _start(incoming: IncomingDocument, *, paper_clerk: Person | None = None,
           office_people: ReceivingOffice | None = None) -> Process:
    if office_people is None:
        office_agency = receiving_office(incoming.agency)
        clerk, office = _office_people(office_agency)
    else:  # looked up for a whole 分发 at once (receiving_offices)
        office_agency = office_people.office
        clerk = _require_clerk(office_agency, office_people.clerk)
        office = office_people.reviewer or clerk
    data = {
        "title": incoming.title,
        "urgency": _urgency(incoming),
        "doc_number": incoming.doc_number,
        "agency_id": incoming.agency_id,
        "office_agency_id": office_agency.pk,  # whose 办公室 signs and registers (区政府: 区府办)
        "incoming_id": incoming.pk,
        "clerk_id": (paper_clerk or clerk).pk,
        "office_id": office.pk,
        "paper": paper_clerk is not None,
        "cc": incoming.kind == IncomingDocument.Kind.CC,  # 抄送件: 阅知 only (ReceiptFlow.kind_gate)
        "_incoming": incoming,
    }
    return ReceiptFlow.start.run(**data)


def do_start_receipt(incoming: IncomingDocument, *, office_people: ReceivingOffice | None = None) -> Process:
    """A 收文 arrived (本系统分发 or 跨系统交换): its ReceiptFlow starts with 签收 for the agency's 文书. A system act
    (no permission check), run inside the creating transaction. ``office_people``: looked up already for a batch."""
    with transaction.atomic(savepoint=False):  # part of the arrival: never caught and retried on its own
        process = _start(incoming, office_people=office_people)
        do_record_audit(actor=None, actor_name="系统（收文到达）", action="receipt.start", obj=incoming,
                        changes={"process": process.pk, "source": incoming.source, "sender": incoming.sender_name})
    return process


def do_withdraw_incoming(incoming: IncomingDocument, *, reason: str = "") -> bool:
    """The sender 取回s a 收文. Still 待签收 → the flow is cancelled (签收 task and its 待办 with it), the 收文 becomes
    已被取回 and True; once signed → False and nothing changes. A 收文 still 送达中 (its flow not started yet by
    the 分发 job) is started first, so 取回 always withdraws a flow the receiver has seen the same way."""
    if IncomingDocument.objects.filter(pk=incoming.pk, status=IncomingDocument.Status.DELIVERING).exists():
        # No process yet, so no step holds one: taking the 收文 row first cannot invert the lock order.
        from workflows.actions.receipt_start import do_start_delivered_receipt

        do_start_delivered_receipt(incoming)
    process = receipt_process(incoming)
    with transaction.atomic():
        if process is not None:
            _lock_process(process.pk)  # process before the 收文 row, like every step (module docstring)
        if not do_mark_incoming_withdrawn(incoming, reason=reason):
            return False
        if process is not None:
            process.refresh_from_db()
            if process.status == PROCESS.NEW:
                ReceiptFlow.instance.cancel(process)
    return True


# --- steps -------------------------------------------------------------------------------------------------------


@dataclass
class StepInput:
    decision: str
    opinion: str = ""
    copies: int | None = None  # 签收
    fields: dict[str, Any] = field(default_factory=dict)  # 登记: REGISTER_FIELDS
    leader_id: int | None = None  # 拟办: the leader proposed for 批办
    host_department_id: int | None = None  # 拟办 (proposed) / 批办 (decided)
    assist_department_ids: list[int] = field(default_factory=list)  # 批办
    limit_days: int | None = None  # 批办: 办理时限 in working days
    reader_ids: list[int] = field(default_factory=list)  # 批办 (suggested) / 传阅 (sent)
    note: str = ""  # 传阅 说明
    result: str = ""  # 办结
    reply: bool = False  # 办结: start a 答复 draft
    reply_doc_type: str = DocType.LETTER
    reply_title: str = ""
    ip: str | None = None


def _node(task: Task) -> str:
    return task.flow_task.name if not isinstance(task.flow_task, str) else task.flow_task.rsplit(".", 1)[-1]


def _lock_process(process_id: int) -> None:
    """A blocking row lock on the process. viewflow's own lock (NOWAIT + retry) cannot retry inside an outer
    transaction: a failed NOWAIT aborts it. Holding the row first, viewflow's NOWAIT on it succeeds at once."""
    Process.objects.select_for_update().filter(pk=process_id).exists()


def _lock_for_step(task: Task) -> None:
    """The sender's recipient row (internal delivery), then the process: the order 取回 uses too."""
    incoming_id = (task.process.data or {}).get("incoming_id")
    if incoming_id:
        DistributionRecipient.objects.select_for_update().filter(incoming_id=incoming_id).exists()
    _lock_process(task.process_id)


def check_perform_receipt_step(user: Person, task: Task, data: StepInput) -> Task:
    """Complete a 收文 step as its holder. Refusals are Refusal/PermissionDenied with nothing changed."""
    if task.process.flow_class is not ReceiptFlow:
        raise Refusal("not_receipt_step", "这不是收文环节。", status=400)
    node = _node(task)
    step = STEPS.get(node)
    if step is None:
        raise Refusal("not_receipt_step", "这不是收文办理环节。", status=400)
    if data.decision not in dict(decisions_for(node, (task.data or {}).get("role", ""))):
        raise Refusal("decision_invalid", f"“{step.label}”环节没有这个办理选项。", status=400)
    refuse_control_chars_in(data.opinion, f"“{step.label}”环节的意见")
    with transaction.atomic():
        _lock_for_step(task)
        with locked_task(task) as activation:
            task = require_open_own(user, activation)
            incoming = incoming_of(activation.process)
            _perform(user, task, activation.process, node, incoming, data)
            if task.status == STATUS.ASSIGNED:
                activation.start(None)
            opinion = data.opinion.strip()
            task.data = {**(task.data or {}), "outcome": data.decision, **({"opinion": opinion} if opinion else {})}
            activation.execute()
            do_record_audit(actor=user, action="flow.task_complete", obj=task, object_repr=task_repr(task), ip=data.ip,
                            on_behalf_of=principal_of(task), changes={
                                "flow": "ReceiptFlow", "process": task.process_id, "node": node,
                                "decision": data.decision, "opinion": opinion, "incoming": incoming.pk})
    return task


def _save_data(process: Process, **values: Any) -> None:
    process.data = {**process.data, **values}
    process.save(update_fields=["data"])


def _opinion(user: Person, task: Task, process: Process, node: str, kind: str, text: str, ip: str | None,
             label: str = "") -> None:
    do_record_opinion(actor=user, process=process, task=task, step=label or STEPS[node].label, node=node, kind=kind,
                      text=text, on_behalf_of=principal_of(task), ip=ip)


# Acts that are the office's or a leader's by law (签收/登记/归档 by the 文书, 批办 by a leader): the holder must have
# the role in the receiving agency, whoever the task was pinned on. (委托: the principal's role counts.)
ACT_ROLES: dict[str, tuple[tuple[str, ...], str]] = {
    "sign": ((Role.CLERK,), "只有收文机关的文书可以签收"),
    "register": ((Role.CLERK,), "只有收文机关的文书可以登记"),
    "archive": ((Role.CLERK,), "只有收文机关的文书可以归档"),
    "instruct": ((Role.PRINCIPAL, Role.DEPUTY_LEADER), "只有本机关主要负责人或分管领导可以批办"),
}


def _require_role(person: Person, node: str, incoming: IncomingDocument) -> None:
    rule = ACT_ROLES.get(node)
    if rule is None:
        return
    roles, message = rule
    # The office's acts may be done by the serving office (区府办 for 区政府); 批办 only by the agency's own leaders.
    agencies = [incoming.agency] if node == "instruct" else handling_agencies(incoming)
    if not person.role_assignments.filter(role__in=roles, agency__in=agencies).exists():
        raise PermissionDenied(message)


def _require_opinion(step, text: str, what: str = "") -> None:
    if not text.strip():
        raise Refusal("opinion_required", f"请填写{what or step.opinion_label}。", status=400)


def _perform(user: Person, task: Task, process: Process, node: str, incoming: IncomingDocument,
             data: StepInput) -> None:
    step = STEPS[node]
    principal = principal_of(task)
    _require_role(principal or user, node, incoming)
    opinion = data.opinion.strip()
    kind = Opinion.Kind.COMMENT
    if step.opinion_required:
        _require_opinion(step, opinion)
    if node == "sign":
        _sign(user, process, incoming, data, principal)
    elif node == "register":
        do_register_incoming(incoming, actor=user, changes=data.fields, on_behalf_of=principal, ip=data.ip)
        _save_data(process, title=incoming.title, urgency=_urgency(incoming), doc_number=incoming.doc_number,
                   receipt_number=incoming.receipt_number)
    elif node == "review":
        if data.decision == RETURN_SENDER:
            _return_to_sender(user, process, incoming, opinion, principal, data.ip)
            kind = Opinion.Kind.RETURN
        else:
            do_accept_incoming_for_handling(incoming, actor=user, ip=data.ip)
            kind = Opinion.Kind.AGREE
    elif node == "propose":
        _propose(process, incoming, data)
        kind = Opinion.Kind.PROPOSE
    elif node == "instruct":
        _instruct(user, process, incoming, data, principal)
        kind = Opinion.Kind.INSTRUCT
    elif node == "handle":
        _handle(user, task, process, data)
    elif node == "circulate":
        _circulate(user, process, incoming, data, principal)
    elif node == "close":
        _close(user, process, incoming, data, principal)
    elif node == "archive":
        do_archive_incoming(incoming, actor=user, on_behalf_of=principal, ip=data.ip)
    if opinion or step.opinion_required:
        label = "协办" if node == "handle" and (task.data or {}).get("role") == "assist" else ""
        if node == "handle" and not label:
            label = "主办"
        _opinion(user, task, process, node, kind, opinion, data.ip, label=label and f"承办（{label}）")


def _sign(user: Person, process: Process, incoming: IncomingDocument, data: StepInput,
          principal: Person | None) -> None:
    from workflows.actions.distribution import SIGNED, do_report_receipt

    if do_sign_incoming(incoming, actor=user, copies=data.copies, on_behalf_of=principal, ip=data.ip):
        # The sender sees 已签收 (who, when, copies) when this commits.
        do_report_receipt(incoming, SIGNED, actor_name=user.get_full_name(), copies=incoming.copies)
    _save_data(process, clerk_id=user.pk)  # who signed registers it (and archives it)


def _return_to_sender(user: Person, process: Process, incoming: IncomingDocument, reason: str,
                      principal: Person | None, ip: str | None) -> None:
    from workflows.actions.distribution import RETURNED, do_report_receipt

    if not reason:
        raise Refusal("reason_required", "退回来文单位必须填写退回理由。", status=400)
    do_return_incoming(incoming, actor=user, reason=reason, on_behalf_of=principal, ip=ip)
    do_report_receipt(incoming, RETURNED, actor_name=user.get_full_name(), reason=reason)
    _save_data(process, returned_to_sender=True)


def _department(agencies: list[Agency], pk: int | None, what: str) -> Department:
    dept = Department.objects.filter(pk=pk, agency__in=agencies, is_active=True).first() if pk else None
    if dept is None:
        raise Refusal(f"{what}_invalid" if pk else f"{what}_required",
                        "请选择本机关的主办部门。" if what == "host" else "协办部门须为本机关的部门。", status=400)
    _require_head(dept, what)
    return dept


def _require_head(dept: Department, what: str) -> None:
    """主办/协办 go to the department's 部门负责人: a department without one cannot be chosen (the page does not
    offer it: workflows.selectors.receipt.choosable_departments)."""
    if head_of_department(dept) is None:
        role = "主办" if what == "host" else "协办"
        raise Refusal(f"{what}_no_head", f"“{dept.name}”没有部门负责人，不能选为{role}部门，请另选或联系系统管理员维护角色。",
                      status=400)


def _propose(process: Process, incoming: IncomingDocument, data: StepInput) -> None:
    leader = next((p for p in leaders_of(incoming.agency) if p.pk == data.leader_id), None)
    if leader is None:
        raise Refusal("leader_required" if not data.leader_id else "leader_invalid",
                        "请选择批办领导（本机关主要负责人或分管领导）。", status=400)
    values: dict[str, Any] = {"leader_id": leader.pk}
    if data.host_department_id:
        values["proposed_host_id"] = _department(handling_agencies(incoming), data.host_department_id, "host").pk
    if data.reader_ids:
        values["readers"] = [p.pk for p in _readers(handling_agencies(incoming), data.reader_ids)]
    _save_data(process, **values)


def _readers(agencies: list[Agency], ids: list[int]) -> list[Person]:
    wanted = list(dict.fromkeys(int(i) for i in ids))
    if len(wanted) > READERS_MAX:
        raise Refusal("readers_too_many", f"一次传阅不能超过 {READERS_MAX} 人。", status=400)
    people = list(Person.objects.filter(pk__in=wanted, is_active=True,
                                        appointments__department__agency__in=agencies).distinct())
    if len(people) != len(wanted):
        raise Refusal("reader_invalid", "传阅人员须为本机关在职人员。", status=400)
    order = {pk: i for i, pk in enumerate(wanted)}
    return sorted(people, key=lambda p: order[p.pk])


def _instruct(user: Person, process: Process, incoming: IncomingDocument, data: StepInput,
              principal: Person | None) -> None:
    agencies = handling_agencies(incoming)
    host = _department(agencies, data.host_department_id, "host")
    assist_ids = [int(i) for i in dict.fromkeys(data.assist_department_ids) if int(i) != host.pk]
    assists = list(Department.objects.filter(pk__in=assist_ids, agency__in=agencies, is_active=True))
    if len(assists) != len(assist_ids):
        raise Refusal("assist_invalid", "协办部门须为本机关的部门。", status=400)
    assists.sort(key=lambda d: assist_ids.index(d.pk))
    for dept in assists:
        _require_head(dept, "assist")
    days = data.limit_days
    if days is None or not 1 <= int(days) <= LIMIT_DAYS_MAX:
        raise Refusal("limit_days_invalid", f"办理时限须为 1～{LIMIT_DAYS_MAX} 个工作日。", status=400)
    due = add_working_days(timezone.localdate(), int(days))
    deadline = end_of_day(due).isoformat()
    handlers = []
    for role, dept in [("host", host), *[("assist", d) for d in assists]]:
        head = head_of_department(dept)
        if head is None:
            raise Refusal("no_assignee", f"“{dept.name}”没有部门负责人，无法交办，请联系系统管理员维护角色。",
                            status=409)
        handlers.append({"dept_id": dept.pk, "dept": dept.name, "role": role, "handler_id": head.pk,
                         "deadline": deadline})
    readers = [p.pk for p in _readers(agencies, data.reader_ids)] if data.reader_ids else \
        list(process.data.get("readers") or [])
    do_assign_incoming_handling(incoming, actor=user, host_department=host, due_date=due,
                                assist_departments=assists, on_behalf_of=principal, ip=data.ip)
    _save_data(process, handlers=handlers, host_dept_id=host.pk, host_handler_id=handlers[0]["handler_id"],
               readers=readers, instructed_by=user.pk, deadline=deadline)


def _handle(user: Person, task: Task, process: Process, data: StepInput) -> None:
    role = (task.data or {}).get("role")
    if role == "assist":
        return
    pending = open_assist_tasks(process)
    if pending:
        names = "、".join(str((t.data or {}).get("dept") or "") for t in pending)
        raise Refusal("assist_pending", f"协办部门尚未提交意见：{names}。协办意见到齐后才能办理完毕。", status=409)
    _save_data(process, host_handler_id=user.pk)  # who handled it writes the 办结


def _circulate(user: Person, process: Process, incoming: IncomingDocument, data: StepInput,
               principal: Person | None) -> None:
    readers = _readers(handling_agencies(incoming), data.reader_ids) if data.reader_ids else []
    if readers:  # nobody to read it: 传阅 is skipped
        from workflows.actions.circulation import do_circulate

        do_circulate(incoming, readers, by=user, note=data.note)
        _save_data(process, circulated=[p.pk for p in readers])
    if incoming.kind == IncomingDocument.Kind.CC:
        # 抄送件: read by the office (and sent on to the readers chosen) — that is its whole handling.
        sent = "、".join(p.name for p in readers)
        do_close_incoming(incoming, actor=user, result=f"抄送件，已阅知{f'，已送{sent}传阅' if sent else ''}。",
                          on_behalf_of=principal, ip=data.ip)


def _close(user: Person, process: Process, incoming: IncomingDocument, data: StepInput,
           principal: Person | None) -> None:
    reply = None
    if data.reply:
        if data.reply_doc_type not in REPLY_DOC_TYPES:
            raise Refusal("reply_doc_type_invalid", "答复文种须为函、批复、意见或通知。", status=400)
        title = (data.reply_title or "").strip() or f"关于{incoming.title}的复函"
        # The 答复 is an ordinary draft of the handling department: its drafter 送审s it into 发文 (拟稿 page).
        reply = do_create_document(actor=user, agency=incoming.agency, title=title[:300],
                                   doc_type=data.reply_doc_type, department=incoming.host_department,
                                   main_recipients=[incoming.sender_name])
        do_record_audit(actor=user, action="incoming.reply", obj=incoming, ip=data.ip,
                        changes={"reply_document": reply.pk, "title": reply.title})
    do_close_incoming(incoming, actor=user, result=data.result, reply_document=reply, on_behalf_of=principal,
                      ip=data.ip)


# --- 纸质来文 ---------------------------------------------------------------------------------------------------


def check_register_paper_incoming(actor: Person, agency: Agency, fields: IncomingFields, scan) -> IncomingDocument:
    """纸质来文: the agency's 文书 registers a scanned PDF with its 登记 fields. The clerk holds the paper, so it is
    signed by them at once and the flow starts at 登记. Refused input leaves nothing (no row, no file).

    非涉密 only (docs/security.md §12): a 收文 marked 秘密/机密/绝密 is registered as metadata only — its scan is
    refused (``classified_scan_refused``) and not required, so no classified content is ever stored."""
    if not may_register_paper(actor, agency):
        raise PermissionDenied("只有本机关的文书可以登记纸质来文")
    clean_register_fields({"title": fields.title, "sender_name": fields.sender_name,
                           "doc_number": fields.doc_number, "secrecy": fields.secrecy,
                           "urgency": fields.urgency, "signed_date": fields.signed_date,
                           "main_recipients": fields.main_recipients, "copies": fields.copies,
                           "attachment_note": fields.attachment_note})
    if is_classified(fields):
        if scan is not None:
            level = CLASSIFIED_LEVELS[fields.secrecy]
            raise Refusal("classified_scan_refused",
                          f"本系统只处理非涉密公文，标注“{level}”的来文不能上传扫描件，只登记标题、文号、密级等信息；"
                          f"请去掉扫描件后再登记，纸质原件按保密规定保管和办理")
        return _register_paper(actor, agency, fields, stored="", digest="", size=0)
    data, digest = check_incoming_scan(scan)
    stored = do_store_incoming_pdf(data)
    try:
        return _register_paper(actor, agency, fields, stored=stored, digest=digest, size=len(data))
    except BaseException:
        # Nothing committed: take the scan back out of storage.
        from django.core.files.storage import default_storage

        default_storage.delete(stored)
        raise


def _register_paper(actor: Person, agency: Agency, fields: IncomingFields, *, stored: str, digest: str,
                    size: int) -> IncomingDocument:
    with transaction.atomic():
        incoming, _ = do_create_incoming(agency=agency, source=IncomingDocument.Source.PAPER, fields=fields,
                                         package_id=None, pdf_name=stored, pdf_sha256=digest, actor=actor)
        do_sign_incoming(incoming, actor=actor, copies=fields.copies)
        process = _start(incoming, paper_clerk=actor)
        do_record_audit(actor=actor, action="receipt.start", obj=incoming,
                        changes={"process": process.pk, "source": incoming.source, "sender": incoming.sender_name,
                                 "pdf_sha256": digest, "size": size,
                                 **({"metadata_only": True} if not stored else {})})
    return incoming
