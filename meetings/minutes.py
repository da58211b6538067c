"""纪要 and 议定事项 (docs/meetings.md 纪要): decisions recorded against the agenda, a 纪要 drafted from them as an
OfficialDocument of 文种 纪要 (GB/T 9704 §10.3: its own 标志 and series, 出席/请假/列席 from the attendance record,
no seal) and routed for approval on the existing 发文 flow (workflows.actions.issuance.check_start_issuance).

Writes are ``check_*``; the read 督办 will call is ``decisions_for_supervision``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.apps import apps
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from documents.validators import has_control_chars
from meetings.models import AgendaItem, Decision, Invitation, Meeting, MeetingChange, MeetingMinutes
from meetings.selectors import may_manage_meeting, primary_agency
from oa.models import Agency, Person
from oa.refusals import Refusal
from oa.selectors.calendar import add_working_days

DECISION_MAX = 500
MAX_WORKING_DAYS = 250
R = Invitation.Response


def _history(meeting: Meeting, by: Person, action: str, summary: str, changes: dict | None = None) -> None:
    MeetingChange.objects.create(meeting=meeting, at=timezone.now(), by=by, action=action, summary=summary[:300],
                                 changes=changes or {})


def _require_manager(user: Person, meeting: Meeting) -> None:
    if not may_manage_meeting(user, meeting):
        raise Refusal("not_organiser", "只有会议组织人或本机关办公室可以记录议定事项和起草纪要。", status=403)
    if meeting.status != Meeting.Status.SCHEDULED:
        raise Refusal("meeting_not_held", f"会议{meeting.get_status_display()}，没有议定事项和纪要。", status=409)


# --- 议定事项 ------------------------------------------------------------------------------------------------


@dataclass
class DecisionInput:
    text: str
    owner_unit: Agency | None
    agenda_item: AgendaItem | None = None
    deadline: dt.date | None = None  # a date, or …
    working_days: int | None = None  # … N working days after the meeting day (the calendar counts them)


def _clean_decision(meeting: Meeting, data: DecisionInput) -> tuple[str, dt.date | None]:
    text = " ".join((data.text or "").split())
    if not text:
        raise Refusal("decision_text_required", "请填写议定事项的内容。")
    if len(text) > DECISION_MAX:
        raise Refusal("decision_too_long", f"议定事项不能超过 {DECISION_MAX} 字，请分条记录。")
    if has_control_chars(text):
        raise Refusal("control_chars", "议定事项含有不可见的控制字符，请删除后再保存。")
    if data.owner_unit is None:
        raise Refusal("owner_unit_required", "请选择责任单位。")
    if data.agenda_item is not None and data.agenda_item.meeting_id != meeting.pk:
        raise Refusal("agenda_other_meeting", "所选议题不属于本次会议。")
    if data.deadline is not None and data.working_days is not None:
        raise Refusal("deadline_twice", "完成时限请填写日期或工作日数，二者选一。")
    meeting_day = timezone.localtime(meeting.start).date()
    deadline = data.deadline
    if data.working_days is not None:
        if not 1 <= data.working_days <= MAX_WORKING_DAYS:
            raise Refusal("working_days_invalid", f"工作日数须在 1～{MAX_WORKING_DAYS} 之间。")
        deadline = add_working_days(meeting_day, data.working_days)
    if deadline is not None and deadline < meeting_day:
        raise Refusal("deadline_before_meeting", "完成时限不能早于会议日期。")
    return text, deadline


def check_record_decision(user: Person, meeting: Meeting, data: DecisionInput) -> Decision:
    """Record one 议定事项 (organiser or the agency's 文书), numbered after the last one."""
    _require_manager(user, meeting)
    text, deadline = _clean_decision(meeting, data)
    with transaction.atomic():
        meeting = Meeting.objects.select_for_update().get(pk=meeting.pk)
        position = (meeting.decisions.aggregate(n=Max("position"))["n"] or 0) + 1
        decision = Decision.objects.create(
            meeting=meeting, agenda_item=data.agenda_item, position=position, text=text, owner_unit=data.owner_unit,
            deadline=deadline, deadline_working_days=data.working_days, created_by=user)
        _history(meeting, user, "decision.add", f"记录议定事项 {position}：{text}",
                 {"decision": decision.pk, "owner_unit": data.owner_unit.pk,
                  "deadline": deadline.isoformat() if deadline else None})
    return decision


def check_delete_decision(user: Person, decision: Decision) -> None:
    meeting = decision.meeting
    _require_manager(user, meeting)
    with transaction.atomic():
        meeting = Meeting.objects.select_for_update().get(pk=meeting.pk)
        _history(meeting, user, "decision.delete", f"删除议定事项 {decision.position}：{decision.text}",
                 {"decision": decision.pk})
        decision.delete()


def meeting_decisions(meeting: Meeting) -> list[Decision]:
    return list(meeting.decisions.select_related("owner_unit", "agenda_item").order_by("position", "id"))


@dataclass(frozen=True)
class DecisionRecord:
    """One 议定事项 as 督办 takes it over (DOMAIN.md §6.2: 来源类型 会议决定, 来源依据 = the 纪要)."""

    decision_id: int
    meeting_id: int
    meeting_title: str
    position: int
    text: str
    owner_unit_id: int
    owner_unit: str
    deadline: dt.date | None
    agenda_title: str
    source: str  # 来源依据: the 纪要's 文号 once numbered, else its title, else the meeting's title


def decisions_for_supervision(meeting: Meeting) -> list[DecisionRecord]:
    """The decisions of a meeting with owner unit and deadline, in order: what a supervision app turns into
    督办 items with one action. Plain values only, so the caller needs no meetings model."""
    minutes = MeetingMinutes.objects.select_related("document").filter(meeting=meeting).first()
    source = (minutes.document.doc_number or minutes.document.title) if minutes else meeting.title
    return [
        DecisionRecord(decision_id=d.pk, meeting_id=meeting.pk, meeting_title=meeting.title, position=d.position,
                       text=d.text, owner_unit_id=d.owner_unit_id, owner_unit=d.owner_unit.name, deadline=d.deadline,
                       agenda_title=d.agenda_item.title if d.agenda_item else "", source=source)
        for d in meeting_decisions(meeting)
    ]


# --- attendance (出席 / 请假 / 列席) ---------------------------------------------------------------------------


def checked_in_person_ids(meeting: Meeting) -> set[int] | None:
    """Who checked in, when the meeting has check-in data (签到, another module); None when there is none, and
    the replies alone decide. Read by field/model name so this works before and after check-in lands."""
    names = {f.name for f in Invitation._meta.get_fields()}
    for field in ("checked_in_at", "check_in_at", "arrived_at"):
        if field in names:
            ids = set(Invitation.objects.filter(meeting=meeting, **{f"{field}__isnull": False})
                      .values_list("person_id", flat=True))
            return ids or None
    for model_name in ("CheckIn", "Attendance", "AttendanceRecord"):
        try:
            model = apps.get_model("meetings", model_name)
        except LookupError:
            continue
        fields = {f.name for f in model._meta.get_fields()}
        if "invitation" in fields:
            ids = set(model.objects.filter(invitation__meeting=meeting).values_list("invitation__person_id", flat=True))
        elif {"meeting", "person"} <= fields:
            ids = set(model.objects.filter(meeting=meeting).values_list("person_id", flat=True))
        else:
            continue
        return ids or None
    return None


def _unit_and_name(person: Person) -> str:
    agency = primary_agency(person)
    return f"{agency.short_name or agency.name} {person.name}" if agency else person.name


@dataclass(frozen=True)
class Attendance:
    attendees: list[str]  # 出席
    absentees: list[str]  # 请假
    observers: list[str]  # 列席
    from_check_in: bool


def minutes_attendance(meeting: Meeting) -> Attendance:
    """出席 / 请假 / 列席 from the record. With check-in data: present = checked in. Without: present = replied
    参加 (the 主持人 presides and is listed first). 请假 carries the reason; a 委派 is listed under 请假 with
    whom it sent, the delegate under 出席. Unanswered and absent-without-leave people are in no list."""
    checked = checked_in_person_ids(meeting)
    rows = list(meeting.invitations.select_related("person", "delegate").order_by("id"))
    attendees: list[str] = []
    absentees: list[str] = []
    observers: list[str] = []
    seen: set[int] = set()
    if meeting.host_id and (checked is None or meeting.host_id in checked):
        attendees.append(_unit_and_name(meeting.host))
        seen.add(meeting.host_id)
    for inv in rows:
        if inv.person_id in seen:
            continue
        if inv.response == R.LEAVE:
            absentees.append(f"{_unit_and_name(inv.person)}（{inv.reason}）" if inv.reason else _unit_and_name(inv.person))
            continue
        if inv.response == R.DELEGATED:
            who = f"（委派 {inv.delegate.name} 参加）" if inv.delegate_id else ""
            absentees.append(f"{_unit_and_name(inv.person)}{who}")
            continue
        present = inv.person_id in checked if checked is not None else inv.response == R.ACCEPTED
        if not present or inv.response == R.WITHDRAWN:
            continue
        (observers if inv.role == Invitation.Role.OBSERVER else attendees).append(_unit_and_name(inv.person))
        seen.add(inv.person_id)
    return Attendance(attendees, absentees, observers, checked is not None)


# --- the 纪要 -------------------------------------------------------------------------------------------------


def _date_cn(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"  # GB/T 9704: Arabic numerals, no zero padding


def _decision_text(d: Decision) -> str:
    text = d.text.rstrip("。；;，, ")
    deadline = f"，{_date_cn(d.deadline)}前完成" if d.deadline else ""
    return f"{text}（责任单位：{d.owner_unit.name}{deadline}）。"


def minutes_title(meeting: Meeting) -> str:
    return meeting.title if meeting.title.endswith("纪要") else f"{meeting.title}纪要"


def minutes_body(meeting: Meeting) -> dict:
    """The 正文 drafted from the agenda and the decisions, in the documents engine's block format. Headings
    are level 1 (the renderer numbers them 一、二、…); the drafter edits the text in the 公文 editor after."""
    day = timezone.localtime(meeting.start).date()
    chair = meeting.host or meeting.organiser
    agenda = list(meeting.agenda.select_related("presenter").order_by("position"))
    decisions = meeting_decisions(meeting)
    topics = "、".join(f"“{a.title}”" for a in agenda)
    studied = f"研究了{topics}等事项" if agenda else "研究了有关工作"
    blocks = [{"type": "p", "level": 0, "text": (
        f"{_date_cn(day)}，{_unit_and_name(chair)}主持召开{meeting.title}，{studied}。现将会议议定事项纪要如下：")}]
    for item in agenda:
        mine = [d for d in decisions if d.agenda_item_id == item.pk]
        blocks.append({"type": "p", "level": 1, "text": item.title})
        if item.presenter_id:
            blocks.append({"type": "p", "level": 0,
                           "text": f"会议听取了{_unit_and_name(item.presenter)}关于{item.title}的汇报。"})
        blocks += [{"type": "p", "level": 0, "text": _decision_text(d)} for d in mine]
        if not mine and not item.presenter_id:
            blocks.append({"type": "p", "level": 0, "text": "会议对该议题进行了研究。"})
    others = [d for d in decisions if d.agenda_item_id is None or d.agenda_item_id not in {a.pk for a in agenda}]
    if others:
        if agenda:
            blocks.append({"type": "p", "level": 1, "text": "其他事项"})
        blocks += [{"type": "p", "level": 0, "text": _decision_text(d)} for d in others]
    return {"blocks": blocks}


def check_draft_minutes(user: Person, meeting: Meeting, *, series_id: int | None = None) -> MeetingMinutes:
    """Create the 纪要 as a draft 公文 of the meeting's agency: 文种 纪要 (纪要格式, no seal), 出席/请假/列席 from
    the attendance, 正文 from the agenda and decisions, 成文日期 the meeting day (签发 sets it again). One per
    meeting; the drafter then edits it like any draft and sends it into 发文 (check_send_minutes)."""
    from documents.actions.body import check_save_body
    from documents.actions.documents import do_create_document
    from documents.models import DocType, Layout

    _require_manager(user, meeting)
    if meeting.start > timezone.now():
        raise Refusal("meeting_not_started", "会议尚未召开，不能起草纪要。", status=409)
    with transaction.atomic():
        meeting = Meeting.objects.select_for_update().get(pk=meeting.pk)
        if MeetingMinutes.objects.filter(meeting=meeting).exists():
            raise Refusal("minutes_exist", "本次会议已有纪要，请在纪要公文中修改。", status=409)
        attendance = minutes_attendance(meeting)
        fields = {"attendees": attendance.attendees, "absentees": attendance.absentees,
                  "observers": attendance.observers, "layout": Layout.MINUTES, "seal_required": False,
                  "written_date": timezone.localtime(meeting.start).date()}
        if series_id is not None:
            fields["number_series"] = series_id
        document = do_create_document(actor=user, agency=meeting.agency, title=minutes_title(meeting),
                                      doc_type=DocType.MINUTES, department=meeting.department, **fields)
        check_save_body(user, document, minutes_body(meeting), if_match=None)
        minutes = MeetingMinutes.objects.create(meeting=meeting, document=document, drafted_by=user)
        _history(meeting, user, "minutes.draft", f"起草纪要：{document.title}", {"document": document.pk})
    return minutes


def check_send_minutes(user: Person, meeting: Meeting):
    """送审: the 纪要 enters the existing 发文 flow (审核 → 核稿 → 签发 → 登记/编号 → 排版 → 分发 → 归档)."""
    from workflows.actions.issuance import check_start_issuance

    minutes = MeetingMinutes.objects.select_related("document").filter(meeting=meeting).first()
    if minutes is None:
        raise Refusal("minutes_missing", "请先起草纪要。", status=409)
    if minutes.document.created_by_id != user.pk:
        raise Refusal("not_drafter", "只有纪要的起草人可以送审。", status=403)
    with transaction.atomic():
        process = check_start_issuance(user, minutes.document)
        _history(meeting, user, "minutes.send", f"纪要送审：{minutes.document.title}", {"process": process.pk})
    return process


@dataclass(frozen=True)
class DecisionLink:
    """What another app offers on a 议定事项 row: a link (``post=False``) or a one-button form posting to ``url``."""

    label: str
    url: str
    post: bool = False


# Apps that take decisions over (督办) register a function (user, meeting, decisions) → {decision id: [links]}
# from their AppConfig.ready(); the meeting page shows the links without knowing those apps.
DECISION_LINKERS: list = []


def register_decision_linker(linker) -> None:
    if linker not in DECISION_LINKERS:
        DECISION_LINKERS.append(linker)


def _with_links(user: Person, meeting: Meeting, decisions: list[Decision]) -> list[Decision]:
    for d in decisions:
        d.links = []
    for linker in DECISION_LINKERS:
        found = linker(user, meeting, decisions) or {}
        for d in decisions:
            d.links.extend(found.get(d.pk, []))
    return decisions


def minutes_context(user: Person, meeting: Meeting) -> dict:
    """What the meeting page shows about decisions and the 纪要."""
    minutes = MeetingMinutes.objects.select_related("document").filter(meeting=meeting).first()
    manage = may_manage_meeting(user, meeting) and meeting.status == Meeting.Status.SCHEDULED
    return {
        "decisions": _with_links(user, meeting, meeting_decisions(meeting)),
        "minutes": minutes,
        "minutes_manage": manage,
        "minutes_can_draft": manage and minutes is None and meeting.start <= timezone.now(),
        "minutes_can_send": minutes is not None and minutes.document.created_by_id == user.pk
        and minutes.document.status == "draft",
        "decision_units": list(Agency.objects.order_by("sort_order", "id")) if manage else [],
    }
