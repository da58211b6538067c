"""Every write of 督查督办 (docs/supervision.md). check_* validate then execute; nothing is half-written: each runs
in one transaction, and a Refusal raised anywhere leaves the database as it was."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TypedDict

from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Case, Exists, F, OuterRef, Q, Subquery, Value, When
from django.db.models.lookups import Exact, GreaterThan, GreaterThanOrEqual
from django.utils import timezone
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from documents.models import IncomingDocument
from documents.rendering.text import has_refused_chars
from documents.uploads import check_file_type, read_upload
from oa.actions.audit import do_record_audit
from oa.actions.work import do_assign_work, do_close_work
from oa.events import Event, make_work_urged, register_event_type, send_event_on_commit
from oa.models import Agency, Person, WorkItem
from oa.refusals import Refusal
from oa.selectors.calendar import add_working_days, working_days_between
from oa.selectors.directory import agencies_of, held_roles
from supervision.flows import SupervisionFlow
from supervision.models import (
    SHEETS,
    Extension,
    Feedback,
    FeedbackDue,
    ItemCounter,
    ItemEvent,
    Light,
    LightPolicy,
    SourceType,
    SupervisionItem,
    UnitTask,
)
from supervision.pace import WorkdayOrdinals, workday_ordinal
from supervision.selectors import (
    LEADER_ROLES,
    feedback_due_dates,
    is_unit_member,
    policy_for,
    scope_agencies,
    supervisor_agency_ids,
    unit_head,
)
from workflows.actions import check_complete_task
from workflows.steps import end_of_day

KIND = "supervision"
TITLE_MAX = 200
TEXT_MAX = 4000
FILES_MAX = 9
FEEDBACK_TYPES = frozenset({"pdf", "ofd", "docx", "xlsx", "png", "jpeg"})
Status = SupervisionItem.Status
US = UnitTask.Status


class LightChanged(TypedDict):
    """A 督办 unit task's light changed colour (the policy says who is told)."""

    item_id: int
    unit_id: int
    light: str  # "green" | "yellow" | "red" | ""
    previous: str


register_event_type("supervision.light", LightChanged)


def today() -> dt.date:
    return timezone.localdate()


def _text(value: str, label: str, *, required: bool = True, limit: int = TEXT_MAX) -> str:
    value = (value or "").strip()
    if required and not value:
        raise Refusal("field_required", f"请填写{label}。")
    if len(value) > limit:
        raise Refusal("field_too_long", f"{label}不能超过 {limit} 字。")
    if has_refused_chars(value, allow_newlines=True):
        raise Refusal("field_bad_chars", f"{label}含有不可见的控制字符，请删除后再提交。")
    return value


def _event(item: SupervisionItem, kind: str, text: str, actor: Person | None, unit: UnitTask | None = None,
           **data) -> None:
    ItemEvent.objects.create(item=item, unit=unit, kind=kind, actor=actor, text=text[:500], data=data)


def _audit(actor: Person | None, action: str, obj, ip: str | None = None, **changes) -> None:
    do_record_audit(actor=actor, action=action, obj=obj, ip=ip, changes=changes,
                    actor_name="" if actor else "系统（督查督办）")


def unit_ref(unit: UnitTask) -> str:
    return f"supervision.unit:{unit.pk}"


def report_ref(unit: UnitTask) -> str:
    return f"supervision.report:{unit.pk}"


def extension_ref(ext: Extension) -> str:
    return f"supervision.extension:{ext.pk}"


def _thread(item: SupervisionItem) -> str:
    return f"supervision.item:{item.pk}"


def _assign(unit: UnitTask, owner: Person, *, ref: str, step: str, link: str, note: str = "",
            box: str = WorkItem.Box.TODO) -> WorkItem:
    item = unit.item
    return do_assign_work(
        kind=KIND, ref=ref, box=box, owner=owner, title=item.title, agency=unit.agency, doc_number=item.number,
        step=step, deadline=end_of_day(unit.deadline), link=link, note=note, thread=_thread(item),
        initiator=item.supervisor,
    )


def unit_link(unit: UnitTask) -> str:
    return f"/supervision/units/{unit.pk}/"


def _is_item_supervisor(person: Person, item: SupervisionItem) -> bool:
    return item.supervisor_id == person.pk or item.agency_id in supervisor_agency_ids(person)


# --- 立项 ------------------------------------------------------------------------------------------------------


@dataclass
class ItemInput:
    title: str
    source_type: str
    leader: Person
    lead_agency: Agency | None
    responsible: Person
    requirements: str
    deadline: dt.date | None = None
    deadline_days: int | None = None
    assist_agencies: list[Agency] = field(default_factory=list)
    cycle: str = SupervisionItem.Cycle.WEEKLY
    cycle_weekday: int | None = None
    cycle_monthday: int | None = None
    cycle_dates: list[dt.date] = field(default_factory=list)
    completion_standard: str = ""
    source_basis: str = ""
    source_incoming: IncomingDocument | None = None
    source_decision_id: int | None = None  # a 会议议定事项 (meetings.Decision) taken over


def _next_number(agency: Agency, year: int) -> tuple[int, str]:
    counter, _ = ItemCounter.objects.get_or_create(agency=agency, year=year)
    counter = ItemCounter.objects.select_for_update().get(pk=counter.pk)
    counter.last += 1
    counter.save(update_fields=["last"])
    return counter.last, f"督〔{year}〕{counter.last}号"


def check_create_item(actor: Person, data: ItemInput, *, ip: str | None = None,
                      supervisor: Person | None = None) -> SupervisionItem:
    """立项 by a 督查员: the item, one UnitTask per unit, and the SupervisionFlow (领导审核 next). ``supervisor``: the
    督查员 the item is registered for when someone else starts it (a meeting's organiser taking a decision over)."""
    supervisor = supervisor or actor
    sup_agencies = supervisor_agency_ids(supervisor)
    if not sup_agencies:
        raise PermissionDenied("只有督查室的督查员可以立项。")
    agency = Agency.objects.get(pk=sorted(sup_agencies)[0])
    title = _text(data.title, "事项名称", limit=TITLE_MAX)
    requirements = _text(data.requirements, "办理要求")
    standard = _text(data.completion_standard, "办结标准", required=False)
    basis = _text(data.source_basis, "来源依据", required=False, limit=300)
    if data.source_type not in SourceType.values:
        raise Refusal("source_type_invalid", "请选择来源类型。")
    lead, assists = data.lead_agency, [a for a in data.assist_agencies if a is not None]
    if lead is None:
        if len(assists) > 1:
            raise Refusal("lead_required", "两个以上单位办理时必须明确牵头单位。")
        if not assists:
            raise Refusal("unit_required", "请选择承办单位。")
        lead, assists = assists[0], []
    assists = [a for a in dict.fromkeys(assists) if a.pk != lead.pk]
    in_scope = set(scope_agencies(agency).values_list("pk", flat=True))
    for unit in [lead, *assists]:
        if unit.pk not in in_scope:
            raise Refusal("unit_out_of_scope", f"“{unit.name}”不在本督查室的督办范围内，不能交办。", status=403)
    if not (held_roles(data.leader) & set(LEADER_ROLES)):
        raise Refusal("leader_invalid", f"{data.leader.get_full_name()}不是领导，不能作为交办领导。")
    if lead.pk not in {a.pk for a in agencies_of(data.responsible)}:
        raise Refusal("responsible_invalid", f"责任人须为牵头单位“{lead.name}”的工作人员。")
    start = today()
    if data.deadline_days:
        if not 1 <= int(data.deadline_days) <= 250:
            raise Refusal("deadline_days_invalid", "办理时限须为 1～250 个工作日。")
        deadline = add_working_days(start, int(data.deadline_days))
    elif data.deadline:
        deadline = data.deadline
        if deadline <= start:
            raise Refusal("deadline_past", f"办理期限须晚于今天（{start:%Y年%-m月%-d日}），不能填过去或当天的日期。")
    else:
        raise Refusal("deadline_required", "请填写办理期限（工作日数或截止日期）。")
    feedback_due_dates(cycle=data.cycle, start=start, deadline=deadline, weekday=data.cycle_weekday,
                       monthday=data.cycle_monthday, dates=data.cycle_dates)  # refuses a cycle with no due date
    with transaction.atomic():
        seq, number = _next_number(agency, start.year)
        office = supervisor.appointments.filter(is_primary=True).select_related("department").first()
        item = SupervisionItem.objects.create(
            agency=agency, office=office.department if office else None, year=start.year, seq=seq, number=number,
            title=title, source_type=data.source_type, source_basis=basis, source_incoming=data.source_incoming,
            leader=data.leader, supervisor=supervisor, lead_agency=lead, source_decision_id=data.source_decision_id, responsible=data.responsible,
            requirements=requirements, completion_standard=standard, deadline_days=data.deadline_days or None,
            deadline=deadline, cycle=data.cycle, cycle_weekday=data.cycle_weekday,
            cycle_monthday=data.cycle_monthday, cycle_dates=[d.isoformat() for d in data.cycle_dates],
            policy=policy_for(agency, data.source_type), status=Status.REVIEW,
        )
        ordinals = WorkdayOrdinals()
        for unit_agency, role in [(lead, UnitTask.Role.LEAD), *[(a, UnitTask.Role.ASSIST) for a in assists]]:
            handler = data.responsible if role == UnitTask.Role.LEAD else _default_handler(unit_agency)
            UnitTask.objects.create(item=item, agency=unit_agency, role=role, handler=handler, deadline=deadline,
                                    start_ord=start.toordinal(), deadline_ord=deadline.toordinal(),
                                    start_wd=ordinals.ordinal(start), deadline_wd=ordinals.ordinal(deadline))
        _event(item, "create", f"{actor.get_full_name()} 立项", actor)
        if data.source_incoming is not None:
            do_close_work(ref=propose_ref(data.source_incoming), by=actor)
        _audit(actor, "supervision.create", item, ip, number=number, units=[lead.pk, *[a.pk for a in assists]],
               deadline=deadline, source_type=data.source_type,
               source_incoming=data.source_incoming.pk if data.source_incoming else None,
               source_decision=data.source_decision_id)
        SupervisionFlow.start.run(
            _item=item, title=f"督办：{title}", doc_number=number, initiator_id=actor.pk, agency_id=agency.pk,
            leader_id=data.leader.pk, supervisor_id=supervisor.pk, item_id=item.pk,
            deadline=end_of_day(deadline).isoformat(),
        )
    return item


def _default_handler(agency: Agency) -> Person:
    """A 协办 unit's 承办人 until it names one: its office (文书), else its head."""
    from oa.models import Role
    from oa.selectors.directory import people_with_role, principals

    person = people_with_role(Role.CLERK, agency=agency).first() or (principals(agency) or [None])[0]
    if person is None:
        raise Refusal("unit_no_handler", f"“{agency.name}”没有文书或负责人，无法接收督办，请联系系统管理员。")
    return person


def prefill_from_incoming(incoming: IncomingDocument) -> dict:
    """The 立项 form filled from a 收文 (its 批办 step or detail page)."""
    basis = " ".join(x for x in (incoming.sender_name, incoming.doc_number, incoming.receipt_number) if x)
    return {
        "title": incoming.title[:TITLE_MAX],
        "source_type": SourceType.SUPERIOR,
        "source_basis": basis[:300],
        "deadline": incoming.due_date.isoformat() if incoming.due_date else "",
        "requirements": incoming.handling_note[:TEXT_MAX] if incoming.handling_note else "",
    }


def propose_ref(incoming: IncomingDocument) -> str:
    return f"supervision.propose:{incoming.pk}"


def check_propose_from_incoming(user: Person, incoming: IncomingDocument, *, ip: str | None = None) -> list[Person]:
    """A leader at 批办 asks the 督查室 to 立项 this 收文: its 督查员 may read it and get a 待办 to the prefilled form."""
    from documents.actions.incoming import do_grant_incoming_access
    from oa.models import Role
    from oa.selectors.directory import people_with_role

    supervisors = list(people_with_role(Role.SUPERVISOR, agency=incoming.agency))
    if not supervisors:
        raise Refusal("no_supervisor", f"“{incoming.agency.name}”没有督查员，无法转督查室立项。", status=409)
    with transaction.atomic():
        for person in supervisors:
            do_grant_incoming_access(incoming, person, reason="督办立项")
            do_assign_work(kind=KIND, ref=propose_ref(incoming), box=WorkItem.Box.TODO, owner=person,
                           title=f"督办立项：{incoming.title}", agency=incoming.agency, step="立项",
                           doc_number=incoming.receipt_number, link=f"/supervision/new/?incoming={incoming.pk}",
                           note=f"{user.get_full_name()} 批示立为督办事项", initiator=user)
        do_record_audit(actor=user, action="supervision.propose", obj=incoming, ip=ip,
                        changes={"supervisors": [p.pk for p in supervisors]})
    return supervisors


# --- flow steps ----------------------------------------------------------------------------------------------


def _item_of_task(task: Task) -> SupervisionItem:
    return SupervisionItem.objects.select_for_update().get(pk=task.process.data["item_id"])


def _require_node(task: Task, node: str, user: Person) -> None:
    if task.flow_task.name != node or task.status not in (STATUS.ASSIGNED, STATUS.STARTED):
        raise Refusal("work_closed", "该环节已办理或已撤销。", status=409)
    if task.owner_id != user.pk:
        raise PermissionDenied("您不是该环节的办理人。")


def check_leader_review(user: Person, task: Task, *, approve: bool, opinion: str, ip: str | None = None) -> None:
    opinion = _text(opinion, "审核意见", required=not approve, limit=2000)
    with transaction.atomic():
        _require_node(task, "leader_review", user)
        item = _item_of_task(task)
        item.status = Status.DISPATCH if approve else Status.REJECTED
        item.save(update_fields=["status"])
        process = task.process
        process.data = {**process.data, "approved": approve}
        process.save(update_fields=["data"])
        _event(item, "review", f"{user.get_full_name()} {'同意立项' if approve else '不予立项'}：{opinion}", user)
        _audit(user, "supervision.leader_review", item, ip, approve=approve, opinion=opinion)
        check_complete_task(user, task, opinion, ip=ip)


def check_dispatch(user: Person, task: Task, *, ip: str | None = None) -> None:
    """交办: the units get their 签收 待办, the feedback due dates are fixed from today, the 督查通知单 exists."""
    with transaction.atomic():
        _require_node(task, "dispatch", user)
        item = _item_of_task(task)
        start = today()
        if item.deadline <= start:
            raise Refusal("deadline_past", "办理期限已到，不能交办；请先由领导调整期限或重新立项。")
        dates = feedback_due_dates(cycle=item.cycle, start=start, deadline=item.deadline,
                                   weekday=item.cycle_weekday, monthday=item.cycle_monthday,
                                   dates=[dt.date.fromisoformat(d) for d in item.cycle_dates])
        item.status, item.dispatched_at = Status.HANDLING, timezone.now()
        item.save(update_fields=["status", "dispatched_at"])
        for unit in item.units.select_related("agency", "handler", "item"):
            unit.start_ord, unit.start_wd = start.toordinal(), workday_ordinal(start)
            unit.save(update_fields=["start_ord", "start_wd"])
            FeedbackDue.objects.bulk_create([FeedbackDue(unit=unit, due_date=d) for d in dates])
            _assign(unit, unit.handler, ref=unit_ref(unit), step="签收", link=unit_link(unit))
        _event(item, "dispatch", f"{user.get_full_name()} 交办（督查通知单），反馈日 {len(dates)} 个", user,
               dues=[d.isoformat() for d in dates])
        _audit(user, "supervision.dispatch", item, ip, dues=dates)
        check_complete_task(user, task, "交办", ip=ip)
        do_recompute_lights(item_ids=[item.pk])


def check_close_item(user: Person, task: Task, *, ip: str | None = None) -> None:
    """销号."""
    with transaction.atomic():
        _require_node(task, "close", user)
        item = _item_of_task(task)
        if item.status != Status.CLOSING:
            raise Refusal("not_closing", "各承办单位尚未全部办结，不能销号。", status=409)
        item.status, item.closed_at, item.light = Status.CLOSED, timezone.now(), Light.NONE
        item.save(update_fields=["status", "closed_at", "light"])
        _event(item, "close", f"{user.get_full_name()} 销号", user)
        _audit(user, "supervision.close", item, ip)
        check_complete_task(user, task, "销号", ip=ip)


def check_archive_item(user: Person, task: Task, *, ip: str | None = None) -> None:
    with transaction.atomic():
        _require_node(task, "archive", user)
        item = _item_of_task(task)
        item.status, item.archived_at = Status.ARCHIVED, timezone.now()
        item.save(update_fields=["status", "archived_at"])
        _event(item, "archive", f"{user.get_full_name()} 归档", user)
        _audit(user, "supervision.archive", item, ip)
        check_complete_task(user, task, "归档", ip=ip)


# --- the units' work -----------------------------------------------------------------------------------------


def _locked_unit(unit: UnitTask) -> UnitTask:
    unit = UnitTask.objects.select_for_update().select_related("item", "agency", "handler").get(pk=unit.pk)
    unit.item = SupervisionItem.objects.select_for_update().select_related("leader", "supervisor").get(
        pk=unit.item_id)
    return unit


def _require_open_item(unit: UnitTask, what: str) -> None:
    if unit.item.status in (Status.CLOSED, Status.ARCHIVED):
        raise Refusal("item_closed", f"该督办事项已销号，不能再{what}。", status=409)
    if unit.item.status != Status.HANDLING:
        raise Refusal("item_not_handling", f"该督办事项当前为“{unit.item.get_status_display()}”，不能{what}。",
                      status=409)


def _require_member(user: Person, unit: UnitTask) -> None:
    if not is_unit_member(user, unit):
        raise PermissionDenied("只有承办单位的人员可以办理。")


def check_sign(user: Person, unit: UnitTask, *, ip: str | None = None) -> UnitTask:
    with transaction.atomic():
        unit = _locked_unit(unit)
        _require_member(user, unit)
        _require_open_item(unit, "签收")
        if unit.status != US.SIGN:
            raise Refusal("already_signed", "该任务已签收。", status=409)
        unit.status, unit.signed_at, unit.signed_by = US.HANDLING, timezone.now(), user
        unit.save(update_fields=["status", "signed_at", "signed_by"])
        _assign(unit, unit.handler, ref=unit_ref(unit), step="办理", link=unit_link(unit))
        _event(unit.item, "sign", f"{unit.agency.short_name} {user.get_full_name()} 签收", user, unit)
        _audit(user, "supervision.sign", unit, ip, item=unit.item_id)
    return unit


def _store_file(item: SupervisionItem, upload) -> dict:
    data = read_upload(upload)
    kind = check_file_type(data, upload.name, FEEDBACK_TYPES)
    import hashlib

    key = default_storage.save(f"supervision/{item.pk}/{secrets.token_hex(16)}{kind.extensions[0]}",
                               ContentFile(data))
    return {"name": upload.name[:200], "key": key, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data),
            "content_type": kind.mime}


def _roll_up(item: SupervisionItem) -> None:
    """The item's progress is the mean of its units'; status follows when every unit is done."""
    units = list(UnitTask.objects.filter(item=item).values_list("progress", "status"))
    item.progress = round(sum(p for p, _ in units) / len(units)) if units else 0
    item.save(update_fields=["progress"])


def check_submit_feedback(user: Person, unit: UnitTask, *, text: str, progress: int, files: Iterable = (),
                          ip: str | None = None) -> Feedback:
    """进度反馈: fulfils the earliest open due date (late when after it: 逾期补报), moves progress, re-lights."""
    text = _text(text, "进展情况")
    try:
        progress = int(progress)
    except (TypeError, ValueError):
        raise Refusal("progress_invalid", "完成进度须为 0～100 的整数。") from None
    if not 0 <= progress <= 100:
        raise Refusal("progress_invalid", "完成进度须为 0～100 的整数。")
    files = list(files)
    if len(files) > FILES_MAX:
        raise Refusal("too_many_files", f"一次最多上传 {FILES_MAX} 个附件。")
    with transaction.atomic():
        unit = _locked_unit(unit)
        _require_member(user, unit)
        _require_open_item(unit, "报送进度反馈")
        if unit.status == US.SIGN:
            raise Refusal("not_signed", "请先签收再报送进度反馈。", status=409)
        if unit.status != US.HANDLING:
            raise Refusal("unit_not_handling", f"本单位任务当前为“{unit.get_status_display()}”，不能报送进度反馈。",
                          status=409)
        stored = [_store_file(unit.item, f) for f in files]
        fb = Feedback.objects.create(unit=unit, author=user, text=text, progress=progress, files=stored)
        now = today()
        due = unit.dues.filter(feedback__isnull=True).order_by("due_date").first()
        if due is not None:
            due.feedback, due.late = fb, now > due.due_date
            due.save(update_fields=["feedback", "late"])
        unit.progress = progress
        unit.save(update_fields=["progress"])
        _roll_up(unit.item)
        late = " （逾期补报）" if due is not None and due.late else ""
        _event(unit.item, "feedback", f"{unit.agency.short_name} {user.get_full_name()} 报送进度 {progress}%{late}",
               user, unit, feedback=fb.pk, due=due.due_date.isoformat() if due else None)
        _audit(user, "supervision.feedback", unit, ip, progress=progress, files=[f["sha256"] for f in stored],
               due=due.due_date if due else None, late=bool(due and due.late))
        do_recompute_lights(item_ids=[unit.item_id])
    return fb


def check_urge(user: Person, unit: UnitTask, *, message: str = "", ip: str | None = None) -> int:
    """Manual 催办 by the 督查员 or the 交办领导: the same work.urged event as a flow step's 催办."""
    message = _text(message, "催办说明", required=False, limit=300)
    with transaction.atomic():
        unit = _locked_unit(unit)
        if not (_is_item_supervisor(user, unit.item) or unit.item.leader_id == user.pk):
            raise PermissionDenied("只有督查员或交办领导可以催办。")
        _require_open_item(unit, "催办")
        if unit.status not in (US.SIGN, US.HANDLING):
            raise Refusal("nothing_to_urge", "该单位已报送办结报告或已办结，无需催办。", status=409)
        count = ItemEvent.objects.filter(unit=unit, kind="urge").count() + 1
        _send_urge(unit, count, by=user, message=message)
        _event(unit.item, "urge", f"{user.get_full_name()} 催办 {unit.agency.short_name}（第 {count} 次）{message}",
               user, unit, count=count)
        _audit(user, "supervision.urge", unit, ip, count=count, message=message)
    return count


def _send_urge(unit: UnitTask, count: int, *, by: Person | None, message: str = "") -> None:
    item = WorkItem.objects.filter(ref=unit_ref(unit), owner=unit.handler, state=WorkItem.State.OPEN).first()
    if item is None:
        item = _assign(unit, unit.handler, ref=unit_ref(unit), step="办理", link=unit_link(unit))
    send_event_on_commit(make_work_urged(item, count=count, by=by), [unit.handler_id], work_item=item)


def do_auto_urge(on: dt.date | None = None) -> int:
    """Automatic 催办 rounds for overdue unit tasks, each fired exactly once: round k is claimed by a conditional
    UPDATE (urge_rounds k-1 → k) before anything is sent, so two schedulers or a re-run never send it twice.
    Round 1 urges the 承办人 (蓝色督查单), round 2 tells the unit head (橙色), round 3 the 交办领导 (红色)."""
    on = on or today()
    fired = 0
    candidates = UnitTask.objects.filter(
        status__in=[US.SIGN, US.HANDLING], item__status=Status.HANDLING, deadline__lt=on, urge_rounds__lt=3
    ).select_related("item__policy", "item__leader", "agency", "handler")
    for unit in candidates:
        policy = unit.item.policy
        rounds = policy.rounds() if policy else [1, 3, 5]
        overdue = working_days_between(unit.deadline, on)
        due = sum(1 for t in rounds if overdue >= t)
        for k in range(unit.urge_rounds + 1, due + 1):
            with transaction.atomic():
                claimed = UnitTask.objects.filter(pk=unit.pk, urge_rounds=k - 1, status__in=[US.SIGN, US.HANDLING])
                if not claimed.update(urge_rounds=k, sheet=SHEETS[k]):
                    break
                unit.urge_rounds, unit.sheet = k, SHEETS[k]
                _fire_round(unit, k, overdue)
                fired += 1
    return fired


def _fire_round(unit: UnitTask, k: int, overdue: int) -> None:
    item = unit.item
    sheet = SHEETS[k].label
    text = f"系统自动催办第 {k} 轮（{sheet}）：{unit.agency.short_name} 已逾期 {overdue} 个工作日"
    if k == 1:
        _send_urge(unit, k, by=None, message=text)
        told = unit.handler
    else:
        told = unit_head(unit) if k == 2 else item.leader
        told = told or item.leader
        _assign(unit, told, ref=f"supervision.urge:{unit.pk}:{k}", step=sheet, link=f"/supervision/{item.pk}/",
                note=text, box=WorkItem.Box.TOREAD)
    _event(item, "auto_urge", f"{text}，已通知 {told.get_full_name()}", None, unit, round=k, sheet=SHEETS[k].value)
    _audit(None, "supervision.auto_urge", unit, round=k, sheet=SHEETS[k].value, told=told.pk, overdue=overdue)


# --- 延期 -----------------------------------------------------------------------------------------------------


def check_request_extension(user: Person, unit: UnitTask, *, reason: str, proposed: dt.date,
                            ip: str | None = None) -> Extension:
    reason = _text(reason, "延期理由", limit=1000)
    with transaction.atomic():
        unit = _locked_unit(unit)
        _require_member(user, unit)
        _require_open_item(unit, "申请延期")
        if unit.status not in (US.SIGN, US.HANDLING):
            raise Refusal("unit_not_handling", "本单位任务已报送办结报告或已办结，不能申请延期。", status=409)
        if today() > unit.deadline:
            raise Refusal("extension_after_deadline",
                          f"已超过办理期限（{unit.deadline:%Y年%-m月%-d日}），不能再申请延期，请尽快办结并说明情况。",
                          status=409)
        if proposed <= unit.deadline:
            raise Refusal("extension_date_invalid", "申请延至的日期须晚于现在的办理期限。")
        if unit.extensions.filter(status__in=[Extension.Status.HEAD, Extension.Status.SUPERVISOR,
                                              Extension.Status.LEADER]).exists():
            raise Refusal("extension_pending", "已有一份延期申请正在审核，请等待结果。", status=409)
        head = unit_head(unit)
        if head is None or head.pk == user.pk:
            stage, decider = Extension.Status.SUPERVISOR, unit.item.supervisor
        else:
            stage, decider = Extension.Status.HEAD, head
        ext = Extension.objects.create(unit=unit, applicant=user, reason=reason, proposed_date=proposed,
                                       old_deadline=unit.deadline, status=stage, decider=decider)
        _assign(unit, decider, ref=extension_ref(ext), step=ext.get_status_display(),
                link=f"/supervision/extensions/{ext.pk}/")
        _event(unit.item, "extension", f"{unit.agency.short_name} {user.get_full_name()} 申请延期至 {proposed}：{reason}",
               user, unit, extension=ext.pk)
        _audit(user, "supervision.extension_request", ext, ip, unit=unit.pk, proposed=proposed)
    return ext


def check_decide_extension(user: Person, ext: Extension, *, approve: bool, opinion: str = "",
                           new_date: dt.date | None = None, ip: str | None = None) -> Extension:
    """单位负责人审核 → 督查员初审 → 领导批复 (sets the date). The old date stays in the Extension and the history."""
    opinion = _text(opinion, "审核意见", required=not approve, limit=1000)
    with transaction.atomic():
        ext = Extension.objects.select_for_update().get(pk=ext.pk)
        unit = _locked_unit(ext.unit)
        if ext.status not in (Extension.Status.HEAD, Extension.Status.SUPERVISOR, Extension.Status.LEADER):
            raise Refusal("extension_decided", "该延期申请已审结。", status=409)
        if ext.decider_id != user.pk:
            raise PermissionDenied("您不是该延期申请当前的审核人。")
        do_close_work(ref=extension_ref(ext), by=user)
        stage = ext.get_status_display()
        if not approve:
            ext.status = Extension.Status.REFUSED
            ext.save(update_fields=["status"])
            _event(unit.item, "extension_refused", f"{user.get_full_name()}（{stage}）未同意延期：{opinion}", user, unit)
            _audit(user, "supervision.extension_refuse", ext, ip, stage=stage, opinion=opinion)
            return ext
        if ext.status == Extension.Status.HEAD:
            ext.status, ext.decider = Extension.Status.SUPERVISOR, unit.item.supervisor
        elif ext.status == Extension.Status.SUPERVISOR:
            ext.status, ext.decider = Extension.Status.LEADER, unit.item.leader
        else:
            if new_date is None:
                raise Refusal("extension_new_date", "请确定延期后的办理期限。")
            if new_date <= ext.old_deadline or new_date <= today():
                raise Refusal("extension_date_invalid", "延期后的期限须晚于原期限和今天。")
            ext.status, ext.new_deadline, ext.decider = Extension.Status.GRANTED, new_date, None
            _apply_new_deadline(unit, new_date)
        ext.save(update_fields=["status", "decider", "new_deadline"])
        if ext.decider is not None:
            _assign(unit, ext.decider, ref=extension_ref(ext), step=ext.get_status_display(),
                    link=f"/supervision/extensions/{ext.pk}/")
            text = f"{user.get_full_name()}（{stage}）同意延期，报{ext.get_status_display()[1:]}"
        else:
            text = f"{user.get_full_name()} 批准延期：期限由 {ext.old_deadline} 调整为 {ext.new_deadline}"
        _event(unit.item, "extension_step", text, user, unit, extension=ext.pk, old=ext.old_deadline.isoformat())
        _audit(user, "supervision.extension_approve", ext, ip, stage=stage, opinion=opinion,
               old_deadline=ext.old_deadline, new_deadline=ext.new_deadline)
    if ext.status == Extension.Status.GRANTED:
        do_recompute_lights(item_ids=[unit.item_id])
    return ext


def _apply_new_deadline(unit: UnitTask, new_date: dt.date) -> None:
    item = unit.item
    extra = []
    try:
        extra = feedback_due_dates(cycle=item.cycle, start=unit.deadline, deadline=new_date,
                                   weekday=item.cycle_weekday, monthday=item.cycle_monthday,
                                   dates=[dt.date.fromisoformat(d) for d in item.cycle_dates])
    except Refusal:
        extra = [new_date]  # a short extension inside one cycle: the new deadline itself is the last report
    existing = set(unit.dues.values_list("due_date", flat=True))
    FeedbackDue.objects.bulk_create([FeedbackDue(unit=unit, due_date=d) for d in extra if d not in existing])
    unit.deadline, unit.deadline_ord, unit.deadline_wd = new_date, new_date.toordinal(), workday_ordinal(new_date)
    unit.urge_rounds, unit.sheet = 0, ""
    unit.save(update_fields=["deadline", "deadline_ord", "deadline_wd", "urge_rounds", "sheet"])
    latest = max(UnitTask.objects.filter(item=item).values_list("deadline", flat=True))
    if latest != item.deadline:
        item.deadline = latest
        item.save(update_fields=["deadline"])
    WorkItem.objects.filter(ref=unit_ref(unit), state=WorkItem.State.OPEN).update(deadline=end_of_day(new_date))


# --- 办结报告 and 督查员审核 ----------------------------------------------------------------------------------------


def check_submit_report(user: Person, unit: UnitTask, *, text: str, files: Iterable = (),
                        ip: str | None = None) -> UnitTask:
    text = _text(text, "办结报告")
    files = list(files)
    if len(files) > FILES_MAX:
        raise Refusal("too_many_files", f"一次最多上传 {FILES_MAX} 个附件。")
    with transaction.atomic():
        unit = _locked_unit(unit)
        _require_member(user, unit)
        _require_open_item(unit, "报送办结报告")
        if unit.status != US.HANDLING:
            raise Refusal("unit_not_handling", f"本单位任务当前为“{unit.get_status_display()}”，不能报送办结报告。",
                          status=409)
        stored = [_store_file(unit.item, f) for f in files]
        unit.status, unit.report, unit.reported_at, unit.progress = US.REPORTED, text, timezone.now(), 100
        unit.report_files = stored  # a resubmission after 退办 brings its own files
        unit.save(update_fields=["status", "report", "reported_at", "progress", "report_files"])
        do_close_work(ref=unit_ref(unit), by=user)
        _assign(unit, unit.item.supervisor, ref=report_ref(unit), step="审核办结报告", link=unit_link(unit))
        _roll_up(unit.item)
        _event(unit.item, "report", f"{unit.agency.short_name} {user.get_full_name()} 报送办结报告", user, unit)
        _audit(user, "supervision.report", unit, ip, files=[f["sha256"] for f in stored])
    return unit


def check_review_report(user: Person, unit: UnitTask, *, approve: bool, reason: str = "",
                        ip: str | None = None) -> UnitTask:
    """督查员审核: 通过 (the unit is done; the last one moves the item to 销号) or 退办 with a reason."""
    reason = _text(reason, "退办理由", required=not approve, limit=500)
    with transaction.atomic():
        unit = _locked_unit(unit)
        if not _is_item_supervisor(user, unit.item):
            raise PermissionDenied("只有督查员可以审核办结报告。")
        if unit.status != US.REPORTED:
            raise Refusal("no_report", "该单位没有待审核的办结报告。", status=409)
        do_close_work(ref=report_ref(unit), by=user, outcome="" if approve else "returned", note=reason)
        if approve:
            unit.status, unit.done_at, unit.light, unit.return_reason = US.DONE, timezone.now(), Light.NONE, ""
            unit.save(update_fields=["status", "done_at", "light", "return_reason"])
            _event(unit.item, "approve", f"{user.get_full_name()} 审核通过 {unit.agency.short_name} 的办结报告", user,
                   unit)
        else:
            unit.status, unit.return_reason = US.HANDLING, reason
            unit.save(update_fields=["status", "return_reason"])
            _assign(unit, unit.handler, ref=unit_ref(unit), step="办理（退办）", link=unit_link(unit),
                    note=f"被 {user.get_full_name()} 退办：{reason}")
            _event(unit.item, "return", f"{user.get_full_name()} 退办 {unit.agency.short_name}：{reason}", user, unit)
        _audit(user, "supervision.review_report", unit, ip, approve=approve, reason=reason)
        _roll_up(unit.item)
        if approve and not UnitTask.objects.filter(item=unit.item).exclude(status=US.DONE).exists():
            item = unit.item
            item.status, item.light = Status.CLOSING, Light.NONE
            item.save(update_fields=["status", "light"])
            task = Task.objects.get(process__artifact_object_id=item.pk, flow_task=SupervisionFlow.handling,
                                    process__flow_class=SupervisionFlow, status=STATUS.NEW)
            SupervisionFlow.handling.run(task)
        else:
            do_recompute_lights(item_ids=[unit.item_id])
    return unit


# --- lights --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LightChange:
    unit_id: int
    item_id: int
    previous: str
    light: str


def _light_case(policy: LightPolicy | None, on: dt.date) -> Case:
    """The colour of an open unit task under ``policy``, as one SQL CASE. Working days enter through a threshold
    date computed once per policy (the deadline is within N working days ⇔ deadline ≤ add_working_days(today, N));
    序时进度 through working-day ordinals (supervision.pace): with elapsed and span counted in working days, behind by
    more than p points ⇔ elapsed·100 > (progress + p)·span — integers only, no division."""
    yellow_days = policy.yellow_days if policy else 3
    pace_yellow = policy.pace_yellow_pct if policy else 10
    pace_red = policy.pace_red_pct if policy else 30
    today_ord = on.toordinal()
    threshold_ord = add_working_days(on, yellow_days).toordinal()
    elapsed = (Value(workday_ordinal(on)) - F("start_wd")) * Value(100)
    span = F("deadline_wd") - F("start_wd")
    past = FeedbackDue.objects.filter(unit=OuterRef("pk"), due_date__lt=on)
    missed = Exists(past.filter(feedback__isnull=True))
    latest_late = Subquery(past.order_by("-due_date").values("late")[:1])
    return Case(
        When(status=US.DONE, then=Value(Light.NONE)),
        When(deadline_ord__lt=today_ord, then=Value(Light.RED)),
        When(missed, then=Value(Light.RED)),
        When(GreaterThan(elapsed, (F("progress") + Value(pace_red)) * span), then=Value(Light.RED)),
        # 红 → 黄: the last due report came in late (the gap was made up): 滞后, not 正常.
        When(Exact(latest_late, True), then=Value(Light.YELLOW)),
        When(deadline_ord__lte=threshold_ord, then=Value(Light.YELLOW)),
        When(GreaterThanOrEqual(elapsed, (F("progress") + Value(pace_yellow)) * span), then=Value(Light.YELLOW)),
        default=Value(Light.GREEN),
        output_field=UnitTask._meta.get_field("light"),
    )


def do_recompute_lights(*, on: dt.date | None = None, item_ids: list[int] | None = None) -> list[LightChange]:
    """Recolour unit tasks (one UPDATE per light policy) and items (one UPDATE: the worst unit colour), then audit
    and notify each change. Runs from the periodic job and after every event that can move a colour."""
    on = on or today()
    with transaction.atomic():
        run = recolour(on=on, item_ids=item_ids)
        changes = []
        changed = UnitTask.objects.filter(light_run=run).select_related("item__policy", "agency")
        for unit in changed:
            change = LightChange(unit.pk, unit.item_id, unit.light_prev, unit.light)
            changes.append(change)
            _record_light_change(unit, change)
    return changes


def recolour(*, on: dt.date, item_ids: list[int] | None = None) -> int:
    """The set-based part of do_recompute_lights (no audit): returns the run number stamped on the unit tasks whose
    colour changed. Only those rows are written. Callers hold a transaction; bench/supervision.py times it alone."""
    run = secrets.randbits(62) or 1
    scope = UnitTask.objects.filter(item__status=Status.HANDLING)
    if item_ids is not None:
        scope = scope.filter(item_id__in=item_ids)
    policy_ids = set(scope.values_list("item__policy_id", flat=True).distinct())
    policies = {p.pk: p for p in LightPolicy.objects.filter(pk__in=[p for p in policy_ids if p])}
    for pid in policy_ids:
        part = scope.filter(item__policy_id=pid) if pid else scope.filter(item__policy__isnull=True)
        case = _light_case(policies.get(pid), on)
        part.filter(~Q(Exact(F("light"), case))).update(light=case, light_prev=F("light"), light_run=run)
    items = SupervisionItem.objects.filter(status=Status.HANDLING)
    if item_ids is not None:
        items = items.filter(pk__in=item_ids)
    units = UnitTask.objects.filter(item=OuterRef("pk"))
    worst = Case(
        When(Exists(units.filter(light=Light.RED)), then=Value(Light.RED)),
        When(Exists(units.filter(light=Light.YELLOW)), then=Value(Light.YELLOW)),
        When(Exists(units.filter(light=Light.GREEN)), then=Value(Light.GREEN)),
        default=Value(Light.NONE),
        output_field=SupervisionItem._meta.get_field("light"),
    )
    items.filter(~Q(Exact(F("light"), worst))).update(light=worst)
    return run


def _record_light_change(unit: UnitTask, change: LightChange) -> None:
    labels = dict(Light.choices)
    text = f"{unit.agency.short_name} 亮灯：{labels.get(change.previous, '无')} → {labels.get(change.light, '无')}"
    _event(unit.item, "light", text, None, unit, previous=change.previous, light=change.light)
    _audit(None, "supervision.light", unit, item=unit.item_id, previous=change.previous, light=change.light)
    policy = unit.item.policy
    notify = policy.notify_colours if policy else [Light.YELLOW, Light.RED]
    if change.light and change.light in (notify or []):
        event = Event("supervision.light", f"督办亮{labels[change.light][:1]}灯：{unit.item.title}", text,
                      f"/supervision/{unit.item_id}/",
                      dict(LightChanged(item_id=unit.item_id, unit_id=unit.pk, light=change.light,
                                        previous=change.previous)))
        send_event_on_commit(event, [unit.handler_id, unit.item.supervisor_id])


# --- policies ------------------------------------------------------------------------------------------------


def check_save_policy(user: Person, policy: LightPolicy | None, *, name: str, source_types: list[str],
                      yellow_days: int, pace_yellow_pct: int, pace_red_pct: int, urge_after_days: list[int],
                      notify_colours: list[str], is_default: bool, ip: str | None = None) -> LightPolicy:
    sup = supervisor_agency_ids(user)
    if not sup:
        raise PermissionDenied("只有督查员可以设置亮灯规则。")
    name = _text(name, "规则名称", limit=60)
    if any(s not in SourceType.values for s in source_types):
        raise Refusal("source_type_invalid", "适用来源类型无效。")
    if not 0 <= yellow_days <= 30:
        raise Refusal("yellow_days_invalid", "黄灯天数须为 0～30 个工作日。")
    if not 0 < pace_yellow_pct < pace_red_pct <= 100:
        raise Refusal("pace_invalid", "序时进度：黄灯百分点须大于 0 且小于红灯百分点（不超过 100）。")
    rounds = [int(x) for x in urge_after_days]
    if not 1 <= len(rounds) <= 3 or rounds != sorted(set(rounds)) or rounds[0] < 1:
        raise Refusal("rounds_invalid", "自动催办轮次须为 1～3 个递增的逾期工作日数（如 1,3,5）。")
    if any(c not in (Light.YELLOW, Light.RED, Light.GREEN) for c in notify_colours):
        raise Refusal("notify_invalid", "亮灯通知只能选绿灯、黄灯、红灯。")
    with transaction.atomic():
        if policy is None:
            policy = LightPolicy(agency_id=sorted(sup)[0])
        elif policy.agency_id not in sup:
            raise PermissionDenied("不能修改其他机关的亮灯规则。")
        before = {f: getattr(policy, f) for f in ("name", "source_types", "yellow_days", "pace_yellow_pct",
                                                  "pace_red_pct", "urge_after_days", "notify_colours", "is_default")}
        policy.name, policy.source_types, policy.yellow_days = name, source_types, yellow_days
        policy.pace_yellow_pct, policy.pace_red_pct = pace_yellow_pct, pace_red_pct
        policy.urge_after_days, policy.notify_colours, policy.is_default = rounds, notify_colours, is_default
        policy.save()
        if is_default:
            LightPolicy.objects.filter(agency_id=policy.agency_id).exclude(pk=policy.pk).update(is_default=False)
        _audit(user, "supervision.policy", policy, ip, before=before, name=name, yellow_days=yellow_days,
               rounds=rounds)
    return policy

