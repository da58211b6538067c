"""Writes for 信息报送 (docs/information.md): drafts, the unit's review, the 信息科's 采用/退回, grade changes, the
scoring rules and the duty roster.

Every check_* refuses with a Chinese Refusal (stable code) before writing anything; multi-row writes are one
transaction; events go out after commit (oa.events); 采用, 退回 and grade changes are in the hash-chained audit log.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from viewflow.workflow.models import Process, Task

from oa.actions.audit import do_record_audit
from oa.events import Event, send_event_on_commit
from oa.models import Agency, Person
from oa.refusals import Refusal
from workflows.actions.opinions import refuse_control_chars_in
from workflows.actions.routing import locked_task, principal_of, require_open_own
from workflows.information.flows import InformationFlow
from workflows.information.models import (
    GRADE_ORDER,
    Duty,
    Grade,
    InformationDuty,
    ScoringRule,
    Submission,
    SubmissionAttachment,
    SubmissionEvent,
)
from workflows.information.selectors import is_desk, least_busy_desk, reviewers_of

logger = logging.getLogger(__name__)

TITLE_MAX = 100
BODY_MAX = 20000
REASON_MAX = 500
ATTACHMENT_MAX_BYTES = 20 * 1024 * 1024
ATTACHMENT_MAX_COUNT = 10
ATTACHMENT_TYPES = frozenset({"pdf", "ofd", "docx", "png", "jpeg"})
POINTS_MAX = Decimal(100)
GRADE_LABELS = dict(Grade.choices)


# --- text checks -----------------------------------------------------------------------------------------------


def _clean(value: str | None, what: str, *, required: bool, limit: int) -> str:
    value = (value or "").replace("\r\n", "\n").replace("\r", "\n").strip()
    if required and not value:
        raise Refusal("field_required", f"请填写{what}。")
    if len(value) > limit:
        raise Refusal("field_too_long", f"{what}不能超过 {limit} 字（现有 {len(value)} 字）。")
    refuse_control_chars_in(value, what)
    return value


def _check_grade(grade: str) -> str:
    if grade not in Grade.values:
        raise Refusal("grade_invalid", f"采用级别无效：只能是{'、'.join(Grade.labels)}之一。")
    return grade


@dataclass
class DraftInput:
    title: str = ""
    body: str = ""
    category: str = ""
    uploads: list[Any] = field(default_factory=list)  # uploaded files to add
    remove_attachment_ids: list[int] = field(default_factory=list)


def _check_draft(data: DraftInput) -> tuple[str, str, str]:
    title = _clean(data.title, "标题", required=True, limit=TITLE_MAX)
    body = _clean(data.body, "正文", required=True, limit=BODY_MAX)
    if data.category not in Submission.Category.values:
        raise Refusal("category_invalid", f"请选择信息类别（{'、'.join(Submission.Category.labels)}）。")
    return title, body, data.category


def _check_uploads(uploads: list[Any], existing: int) -> list[tuple[str, bytes, str]]:
    """(filename, bytes, kind) for each upload, checked by content before anything is written."""
    from documents.uploads import check_file_type, read_upload

    if existing + len(uploads) > ATTACHMENT_MAX_COUNT:
        raise Refusal("attachments_too_many", f"附件不能超过 {ATTACHMENT_MAX_COUNT} 个。")
    checked = []
    for upload in uploads:
        name = (upload.name or "附件")[-200:]
        try:
            content = read_upload(upload, ATTACHMENT_MAX_BYTES)
            kind = check_file_type(content, name, ATTACHMENT_TYPES)
        except Refusal as exc:
            raise Refusal(exc.code, f"附件“{name}”：{exc.message}", exc.status) from None
        checked.append((name, content, kind.key))
    return checked


def _store_uploads(submission: Submission, checked: list[tuple[str, bytes, str]], written: list) -> None:
    """Inside the caller's transaction. Each stored file is listed in ``written`` so that the caller removes it
    again when its transaction fails (nothing half-saved: no row without a file, no file without a row)."""
    for name, content, kind in checked:
        row = SubmissionAttachment(submission=submission, filename=name, kind=kind, size=len(content),
                                   sha256=hashlib.sha256(content).hexdigest(), uploaded_at=timezone.now())
        row.file.save("attachment", ContentFile(content), save=False)
        written.append((row.file.storage, row.file.name))
        row.save()


def _discard(written: list) -> None:
    """Best effort: a file whose delete fails (storage unreachable) is logged and left to the daily orphan sweep
    (do_sweep_orphan_attachments); the original error still reaches the caller."""
    for storage, key in written:
        try:
            storage.delete(key)
        except Exception:
            logger.warning("信息报送附件回滚删除失败，留待孤儿文件清理：%s", key, exc_info=True)


ATTACHMENT_PREFIX = "information/attachments"
# A file younger than this may belong to a save still in flight (written, row not yet committed): left alone.
ORPHAN_GRACE = dt.timedelta(hours=24)


def do_sweep_orphan_attachments(now: dt.datetime | None = None, grace: dt.timedelta = ORPHAN_GRACE) -> list[str]:
    """Delete stored attachment files no SubmissionAttachment row points at and older than ``grace`` (left by a
    rollback whose delete failed, or by a removal whose on-commit delete failed). Returns the keys removed. Works on
    the filesystem and on MinIO (both storages list a prefix and give a modified time)."""
    from django.core.files.storage import default_storage

    storage = SubmissionAttachment._meta.get_field("file").storage or default_storage
    now = now or timezone.now()
    try:
        _dirs, files = storage.listdir(ATTACHMENT_PREFIX)
    except FileNotFoundError:
        return []
    keys = [f"{ATTACHMENT_PREFIX}/{name}" for name in files]
    referenced = set(SubmissionAttachment.objects.filter(file__in=keys).values_list("file", flat=True))
    removed = []
    for key in keys:
        if key in referenced or storage.get_modified_time(key) > now - grace:
            continue
        storage.delete(key)
        removed.append(key)
    if removed:
        logger.info("信息报送附件孤儿文件已清理 %d 个", len(removed))
    return removed


def _remove_attachments(submission: Submission, ids: list[int]) -> None:
    for row in SubmissionAttachment.objects.filter(submission=submission, pk__in=ids):
        # After commit; should the delete fail there, the orphan sweep removes the file later.
        transaction.on_commit(lambda key=row.file.name, storage=row.file.storage: storage.delete(key), robust=True)
        row.delete()


def _event(submission: Submission, kind: str, actor: Person | None, note: str = "") -> None:
    SubmissionEvent.objects.create(submission=submission, kind=kind, actor=actor, note=note[:500], at=timezone.now())


def _notify(submission: Submission, event_type: str, title: str, summary: str, people: list[Person]) -> None:
    # Title and summary are metadata only (the piece's title and the outcome), never its body text.
    send_event_on_commit(Event(type=event_type, title=title, summary=summary[:200],
                               link=f"/information/submissions/{submission.pk}/",
                               payload={"submission_id": submission.pk, "status": submission.status}),
                         [p.pk for p in people])


# --- drafts (信息员) -------------------------------------------------------------------------------------------


def check_save_draft(author: Person, agency: Agency | None, data: DraftInput,
                     submission: Submission | None = None) -> Submission:
    """Create or update a draft. Only a 信息员 of the unit drafts for it; only a draft is edited here (a returned
    piece is fixed on its 修改重报 step)."""
    if submission is not None:
        if submission.author_id != author.pk:
            raise Refusal("not_author", "只有起草的信息员可以修改草稿。", status=403)
        if submission.status != Submission.Status.DRAFT:
            raise Refusal("not_draft", "该信息已提交，不能再作为草稿修改。", status=409)
        agency = submission.agency
    if agency is None or not InformationDuty.objects.filter(person=author, agency=agency,
                                                            duty=Duty.REPORTER).exists():
        raise Refusal("not_reporter", "您不是该单位的信息员，不能起草政务信息。", status=403)
    title, body, category = _check_draft(data)
    existing = submission.attachments.exclude(pk__in=data.remove_attachment_ids).count() if submission else 0
    checked = _check_uploads(data.uploads, existing)
    written: list = []
    now = timezone.now()
    try:
        with transaction.atomic():
            created = submission is None
            if created:
                submission = Submission.objects.create(agency=agency, author=author, title=title, body=body,
                                                       category=category, created_at=now, updated_at=now)
                _event(submission, SubmissionEvent.Kind.CREATED, author)
            else:
                submission = Submission.objects.select_for_update().get(pk=submission.pk)
                if submission.status != Submission.Status.DRAFT:
                    raise Refusal("not_draft", "该信息已提交，不能再作为草稿修改。", status=409)
                submission.title, submission.body, submission.category, submission.updated_at = (
                    title, body, category, now)
                submission.save(update_fields=["title", "body", "category", "updated_at"])
                _remove_attachments(submission, data.remove_attachment_ids)
            _store_uploads(submission, checked, written)
    except BaseException:
        _discard(written)
        raise
    return submission


def check_submit_draft(author: Person, submission: Submission, reviewer: Person | None = None) -> Submission:
    """提交单位审核: the flow starts; the unit's 信息审核人 (the one chosen, else the first) gets it in 待办."""
    if submission.author_id != author.pk:
        raise Refusal("not_author", "只有起草的信息员可以提交。", status=403)
    reviewers = list(reviewers_of(submission.agency))
    if not reviewers:
        raise Refusal("no_reviewer", f"{submission.agency.short_name}还没有信息审核人，请联系系统管理员设置后再提交。",
                      status=409)
    if reviewer is None:
        reviewer = reviewers[0]
    elif reviewer.pk not in {r.pk for r in reviewers}:
        raise Refusal("reviewer_invalid", "所选审核人不是本单位的信息审核人。")
    _check_draft(DraftInput(title=submission.title, body=submission.body, category=submission.category))
    with transaction.atomic():
        locked = Submission.objects.select_for_update().get(pk=submission.pk)
        if locked.status != Submission.Status.DRAFT:
            raise Refusal("not_draft", "该信息已提交。", status=409)
        process = InformationFlow.start.run(
            title=f"政务信息：{locked.title}", initiator_id=author.pk, author_id=author.pk,
            agency_id=locked.agency_id, submission_id=locked.pk, reviewer_id=reviewer.pk)
        locked.process_id = process.pk
        locked.status = Submission.Status.UNIT_REVIEW
        locked.updated_at = timezone.now()
        locked.save(update_fields=["process_id", "status", "updated_at"])
        _event(locked, SubmissionEvent.Kind.SUBMITTED, author, f"审核人：{reviewer.name}")
    return locked


# --- steps -------------------------------------------------------------------------------------------------------

DECISIONS = {
    "unit_review": {"approve": "同意报送", "return": "退回修改"},
    "desk_review": {"adopt": "采用", "return": "退回修改"},
    "revise": {"resubmit": "修改后重新提交"},
}


@dataclass
class AdoptionInput:
    edited_title: str = ""
    edited_body: str = ""
    grade: str = ""
    instructed: bool = False
    instruction_note: str = ""


def _complete(user: Person, task: Task, node: str, decision: str, note: str, ip: str | None, work) -> Submission:
    """Run ``work(submission, process)`` and complete ``task`` with ``decision`` in one transaction, under the
    process lock, as the task's holder."""
    if task.process.flow_class is not InformationFlow:
        raise Refusal("not_information_step", "这不是信息报送的环节。", status=400)
    if task.flow_task.name != node or decision not in DECISIONS[node]:
        raise Refusal("decision_invalid", "该环节没有这个办理选项。", status=400)
    with transaction.atomic():
        Process.objects.select_for_update().filter(pk=task.process_id).exists()
        with locked_task(task) as activation:
            task = require_open_own(user, activation)
            process = activation.process
            submission = Submission.objects.select_for_update().get(pk=process.data["submission_id"])
            work(submission, process)
            process.data = {**process.data, "decision": decision}
            process.save(update_fields=["data"])
            if task.status == "ASSIGNED":
                activation.start(None)
            task.data = {**(task.data or {}), "outcome": decision, **({"opinion": note} if note else {})}
            activation.execute()
            do_record_audit(actor=user, action=f"information.{node}.{decision}", obj=submission, ip=ip,
                            on_behalf_of=principal_of(task), changes={
                                "process": task.process_id, "task": task.pk, "node": node, "decision": decision,
                                "note": note, "title": submission.title, "agency": submission.agency_id,
                                **({"grade": submission.grade} if decision == "adopt" else {})})
    return submission


def check_unit_review(user: Person, task: Task, decision: str, note: str = "", *,
                      ip: str | None = None) -> Submission:
    """单位审核: 同意 sends the piece to the 信息科 (counted as 报送 from the first time); 退回 needs a reason."""
    note = _clean(note, "退回理由" if decision == "return" else "审核意见", required=decision == "return",
                  limit=REASON_MAX)
    desk = least_busy_desk() if decision == "approve" else None
    if decision == "approve" and desk is None:
        raise Refusal("no_desk", "区府办信息科还没有编辑人员，暂时无法报送，请联系系统管理员。", status=409)

    def work(submission: Submission, process: Process) -> None:
        now = timezone.now()
        if decision == "approve":
            process.data = {**process.data, "desk_id": desk.pk}
            submission.status = Submission.Status.DESK_REVIEW
            submission.submitted_at = submission.submitted_at or now
            submission.last_submitted_at = now
            submission.rounds += 1
            submission.return_reason = ""
            _event(submission, SubmissionEvent.Kind.UNIT_APPROVED, user, note)
        else:
            submission.status = Submission.Status.UNIT_RETURNED
            submission.return_reason = note
            _event(submission, SubmissionEvent.Kind.UNIT_RETURNED, user, note)
            _notify(submission, "information.returned", f"信息被单位退回：{submission.title}", note,
                    [submission.author])
        submission.updated_at = now
        submission.save()

    return _complete(user, task, "unit_review", decision, note, ip, work)


def check_desk_review(user: Person, task: Task, decision: str, reason: str = "",
                      adoption: AdoptionInput | None = None, *, ip: str | None = None) -> Submission:
    """信息科: 采用 with the edited text (the unit's text is kept beside it), a grade and the 批示 flag; or 退回
    with a reason (the unit fixes and resubmits the same piece)."""
    if decision == "adopt":
        adoption = adoption or AdoptionInput()
        grade = _check_grade(adoption.grade)
        edited_title = _clean(adoption.edited_title, "采用标题", required=True, limit=TITLE_MAX)
        edited_body = _clean(adoption.edited_body, "采用正文", required=True, limit=BODY_MAX)
        instruction_note = _clean(adoption.instruction_note, "批示情况", required=adoption.instructed,
                                  limit=REASON_MAX)
        note = reason = _clean(reason, "采用意见", required=False, limit=REASON_MAX)
    else:
        note = reason = _clean(reason, "退回理由", required=True, limit=REASON_MAX)

    def work(submission: Submission, process: Process) -> None:
        now = timezone.now()
        if decision == "adopt":
            submission.status = Submission.Status.ADOPTED
            submission.edited_title, submission.edited_body = edited_title, edited_body
            submission.grade, submission.adopted_at, submission.adopted_by = grade, now, user
            submission.instructed, submission.instruction_note = adoption.instructed, instruction_note
            submission.return_reason = ""
            _event(submission, SubmissionEvent.Kind.ADOPTED, user,
                   GRADE_LABELS[grade] + ("，领导批示" if adoption.instructed else "") + (f"：{reason}" if reason else ""))
            _notify(submission, "information.adopted", f"信息被{GRADE_LABELS[grade]}：{submission.title}",
                    GRADE_LABELS[grade], [submission.author])
        else:
            submission.status = Submission.Status.DESK_RETURNED
            submission.return_reason = reason
            _event(submission, SubmissionEvent.Kind.DESK_RETURNED, user, reason)
            _notify(submission, "information.returned", f"信息被信息科退回：{submission.title}", reason,
                    [submission.author])
        submission.updated_at = now
        submission.save()

    return _complete(user, task, "desk_review", decision, note, ip, work)


def check_resubmit(user: Person, task: Task, data: DraftInput, *, ip: str | None = None) -> Submission:
    """修改重报 (the 信息员's step after a 退回): the same piece, corrected, goes to unit review again."""
    title, body, category = _check_draft(data)
    submission = Submission.objects.get(pk=task.process.data["submission_id"])
    existing = submission.attachments.exclude(pk__in=data.remove_attachment_ids).count()
    checked = _check_uploads(data.uploads, existing)
    written: list = []

    def work(submission: Submission, process: Process) -> None:
        submission.title, submission.body, submission.category = title, body, category
        submission.status = Submission.Status.UNIT_REVIEW
        submission.updated_at = timezone.now()
        submission.save()
        _remove_attachments(submission, data.remove_attachment_ids)
        _store_uploads(submission, checked, written)
        _event(submission, SubmissionEvent.Kind.RESUBMITTED, user)

    try:
        return _complete(user, task, "revise", "resubmit", "", ip, work)
    except BaseException:
        _discard(written)
        raise


# --- after adoption (信息科) -------------------------------------------------------------------------------------


def check_regrade(user: Person, submission: Submission, grade: str, instructed: bool, instruction_note: str = "",
                  *, ip: str | None = None) -> Submission:
    """升级: the city or the province adopted the piece later (a grade only goes up), or a leader instructed on it."""
    if not is_desk(user):
        raise Refusal("not_desk", "只有区府办信息科可以调整采用级别。", status=403)
    grade = _check_grade(grade)
    instruction_note = _clean(instruction_note, "批示情况", required=instructed, limit=REASON_MAX)
    with transaction.atomic():
        locked = Submission.objects.select_for_update().get(pk=submission.pk)
        if locked.status != Submission.Status.ADOPTED:
            raise Refusal("not_adopted", "只有已采用的信息可以调整采用级别。", status=409)
        if GRADE_ORDER[grade] < GRADE_ORDER[locked.grade]:
            raise Refusal("grade_downgrade", f"采用级别只能升级：该信息已为{GRADE_LABELS[locked.grade]}，"
                                             f"不能改为{GRADE_LABELS[grade]}。")
        if locked.instructed and not instructed:
            raise Refusal("instruction_withdrawn", "领导批示已登记，不能取消。")
        if grade == locked.grade and instructed == locked.instructed and instruction_note == locked.instruction_note:
            raise Refusal("nothing_changed", "采用级别和批示情况都没有变化。")
        before = {"grade": locked.grade, "instructed": locked.instructed}
        now = timezone.now()
        if grade != locked.grade:
            _event(locked, SubmissionEvent.Kind.REGRADED, user,
                   f"{GRADE_LABELS[locked.grade]} → {GRADE_LABELS[grade]}")
            locked.grade, locked.grade_changed_at = grade, now
        if (instructed and not before["instructed"]) or instruction_note != locked.instruction_note:
            _event(locked, SubmissionEvent.Kind.INSTRUCTED, user, instruction_note)
        locked.instructed, locked.instruction_note, locked.updated_at = instructed, instruction_note, now
        locked.save(update_fields=["grade", "grade_changed_at", "instructed", "instruction_note", "updated_at"])
        do_record_audit(actor=user, action="information.regrade", obj=locked, ip=ip, changes={
            "before": before, "grade": grade, "instructed": instructed, "instruction_note": instruction_note})
        _notify(locked, "information.adopted", f"信息采用级别调整为{GRADE_LABELS[grade]}：{locked.title}",
                GRADE_LABELS[grade] + ("，领导批示" if instructed else ""), [locked.author])
    return locked


# --- scoring rules (信息科) ----------------------------------------------------------------------------------------


@dataclass
class RuleInput:
    effective_from: dt.date | None
    district_points: Any
    city_points: Any
    province_points: Any
    instruction_points: Any
    note: str = ""


def _points(value: Any, what: str) -> Decimal:
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise Refusal("points_invalid", f"{what}须为数字。") from None
    if not number.is_finite() or number < 0 or number > POINTS_MAX:
        raise Refusal("points_out_of_range", f"{what}须在 0～{POINTS_MAX} 分之间。")
    if number != number.quantize(Decimal("0.1")):
        raise Refusal("points_precision", f"{what}最多保留一位小数。")
    return number.quantize(Decimal("0.1"))


def check_save_rule(actor: Person, data: RuleInput) -> ScoringRule:
    """A new 计分规则 from a date on. Higher grades never score less than lower ones."""
    if not is_desk(actor):
        raise Refusal("not_desk", "只有区府办信息科可以设置计分规则。", status=403)
    if data.effective_from is None:
        raise Refusal("rule_date_required", "请填写生效日期。")
    district = _points(data.district_points, "区采用分值")
    city = _points(data.city_points, "市采用分值")
    province = _points(data.province_points, "省采用分值")
    instruction = _points(data.instruction_points, "领导批示加分")
    if not district <= city <= province:
        raise Refusal("points_order", "分值须满足 区采用 ≤ 市采用 ≤ 省采用（级别越高分值不能越低）。")
    if district == 0:
        raise Refusal("points_zero", "区采用分值不能为 0：采用的信息应当计分。")
    note = _clean(data.note, "说明", required=False, limit=200)
    if ScoringRule.objects.filter(effective_from=data.effective_from).exists():
        raise Refusal("rule_date_taken", f"{data.effective_from:%Y年%-m月%-d日}起已有一条计分规则，请换一个生效日期。",
                      status=409)
    with transaction.atomic():
        rule = ScoringRule.objects.create(
            effective_from=data.effective_from, district_points=district, city_points=city,
            province_points=province, instruction_points=instruction, note=note, created_by=actor,
            created_at=timezone.now())
        do_record_audit(actor=actor, action="information.rule_create", obj=rule, changes={
            "effective_from": data.effective_from, "district": district, "city": city, "province": province,
            "instruction": instruction})
    return rule


# --- duties (办公室/文书, 信息科负责人, 系统管理员) ---------------------------------------------------------------------


def check_assign_duty(actor: Person | None, person: Person, agency: Agency, duty: str, *,
                      ip: str | None = None, via: str = "command") -> InformationDuty:
    """Give ``person`` the duty at ``agency`` (idempotent). Without an actor (the demo command, the shell) no scope is
    checked; the page goes through check_manage_assign_duty."""
    if duty not in Duty.values:
        raise Refusal("duty_invalid", "职责无效。")
    if duty in (Duty.DESK, Duty.DESK_HEAD) and agency.kind != Agency.Kind.OFFICE:
        raise Refusal("desk_outside_office", f"{Duty(duty).label}只能设在区府办。")
    if duty == Duty.STATISTICS and agency.kind not in (Agency.Kind.OFFICE, Agency.Kind.GOVERNMENT):
        raise Refusal("statistics_outside_office", "统计查看只能设在区政府或区府办。")
    if duty != Duty.DESK and not person.appointments.filter(department__agency=agency).exists():
        raise Refusal("duty_outside_unit", f"{person.name}不在{agency.short_name}任职，不能担任该单位的信息职责。")
    if not person.is_active:
        raise Refusal("person_inactive", f"{person.name}的账号已停用，不能担任信息职责。")
    with transaction.atomic():
        row, created = InformationDuty.objects.get_or_create(person=person, agency=agency, duty=duty)
        if created:
            do_record_audit(actor=actor, action="information.duty_assign", obj=row, ip=ip,
                            changes={"person": person.pk, "agency": agency.pk, "duty": duty, "via": via})
    return row


def check_manage_assign_duty(actor: Person, person: Person | None, agency: Agency, duty: str, *,
                             ip: str | None = None) -> InformationDuty:
    """From /information/duties/: only within the actor's roster (selectors.managed_duty_pairs), only someone who
    works in the unit (the 信息科编辑 too: the picker lists the 区府办's staff)."""
    from workflows.information.selectors import managed_duty_pairs

    if (agency.pk, duty) not in managed_duty_pairs(actor):
        raise Refusal("duty_not_managed", f"您不能管理{agency.short_name}的{Duty(duty).label if duty in Duty.values else '该职责'}。",
                      status=403)
    if person is None:
        raise Refusal("person_required", "请选择人员。")
    if not person.appointments.filter(department__agency=agency).exists():
        raise Refusal("duty_outside_unit", f"{person.name}不在{agency.short_name}任职，不能担任该单位的信息职责。")
    if InformationDuty.objects.filter(person=person, agency=agency, duty=duty).exists():
        raise Refusal("duty_exists", f"{person.name}已经是{agency.short_name}的{Duty(duty).label}。", status=409)
    return check_assign_duty(actor, person, agency, duty, ip=ip, via="page")


def check_remove_duty(actor: Person, duty: InformationDuty, *, ip: str | None = None) -> None:
    """Take a duty away. Refused while the person still holds open steps of it (转办 them first), and refused for
    the last 信息审核人 of a unit with pieces waiting in unit review (or the last 信息科编辑 while pieces wait at the
    desk): nobody could take them over."""
    from workflows.information.selectors import open_steps_held

    label, unit = duty.get_duty_display(), duty.agency.short_name
    with transaction.atomic():
        duty = InformationDuty.objects.select_for_update().select_related("person", "agency").get(pk=duty.pk)
        peers = InformationDuty.objects.filter(duty=duty.duty, person__is_active=True).exclude(pk=duty.pk)
        if duty.duty == Duty.REVIEWER:
            waiting = Submission.objects.filter(agency=duty.agency, status=Submission.Status.UNIT_REVIEW).count()
            if waiting and not peers.filter(agency=duty.agency).exists():
                raise Refusal("last_reviewer", f"{unit}还有 {waiting} 条信息在单位审核中，{duty.person.name}是该单位"
                                               f"唯一的信息审核人：请先增加一名信息审核人，再取消。", status=409)
        if duty.duty == Duty.DESK:
            waiting = Submission.objects.filter(status=Submission.Status.DESK_REVIEW).count()
            if waiting and not peers.exists():
                raise Refusal("last_desk", f"信息科还有 {waiting} 条信息待审核，{duty.person.name}是唯一的信息科编辑："
                                           f"请先增加一名信息科编辑，再取消。", status=409)
        open_steps = open_steps_held(duty.person, duty.agency, duty.duty)
        if open_steps:
            raise Refusal("duty_has_open_steps", f"{duty.person.name}还有 {open_steps} 条信息待其办理（{label}），"
                                                 f"请先在待办中转办给其他{label}，再取消其职责。", status=409)
        do_record_audit(actor=actor, action="information.duty_remove", obj=duty, ip=ip,
                        changes={"person": duty.person_id, "agency": duty.agency_id, "duty": duty.duty})
        duty.delete()

