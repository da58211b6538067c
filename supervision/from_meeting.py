"""会议议定事项 → 督办 in one action (docs/supervision.md 从会议立项). The meeting's organiser (or its agency's 文书) or a
督查员 presses one button on the 议定事项 row; the item is registered with source type 会议议定事项, linked to the
decision (``SupervisionItem.source_decision``, one-to-one: a second press — or a second person at the same time —
gets the existing item), 来源依据 the 纪要's 文号, the decision's owner unit as 牵头单位 and its 完成时限 as deadline.
The meeting's host, when a leader, is the 交办领导 (else the agency's principal); the item then starts at 领导审核
like any other. Reads the decision through ``meetings.minutes.decisions_for_supervision`` (plain values)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from meetings.minutes import DecisionLink, DecisionRecord, decisions_for_supervision
from meetings.models import Decision, Meeting
from meetings.selectors import access_meeting_by_id, may_manage_meeting
from oa.http import client_ip
from oa.models import Agency, Person, Role
from oa.refusals import Refusal
from oa.selectors.directory import held_roles, people_with_role, principals
from supervision import actions as act
from supervision.models import SourceType, SupervisionItem
from supervision.selectors import LEADER_ROLES, feedback_due_dates, items_visible_to, supervisor_agency_ids

FRIDAY = 5


def may_take_over(user: Person, meeting: Meeting) -> bool:
    return may_manage_meeting(user, meeting) or bool(supervisor_agency_ids(user))


def _supervisor_for(user: Person, meeting: Meeting) -> Person:
    if supervisor_agency_ids(user):
        return user
    person = people_with_role(Role.SUPERVISOR, agency=meeting.agency).first()
    if person is None:
        raise Refusal("no_supervisor", f"“{meeting.agency.name}”没有督查员，无法转为督办事项。", status=409)
    return person


def _leader_for(meeting: Meeting) -> Person:
    if meeting.host_id and held_roles(meeting.host) & set(LEADER_ROLES):
        return meeting.host
    heads = principals(meeting.agency)
    if not heads:
        raise Refusal("leader_missing", f"会议主持人不是领导，“{meeting.agency.name}”也没有主要负责人，无法确定交办领导。")
    return heads[0]


def _cycle(record: DecisionRecord) -> dict:
    """Weekly on Friday when the time limit has a Friday in it; else one report due on the deadline itself."""
    today = act.today()
    try:
        feedback_due_dates(cycle=SupervisionItem.Cycle.WEEKLY, start=today, deadline=record.deadline, weekday=FRIDAY)
        return {"cycle": SupervisionItem.Cycle.WEEKLY, "cycle_weekday": FRIDAY}
    except Refusal:
        return {"cycle": SupervisionItem.Cycle.CUSTOM, "cycle_dates": [record.deadline]}


def check_create_from_decision(user: Person, meeting: Meeting, decision_id: int, *,
                               ip: str | None = None) -> tuple[SupervisionItem, bool]:
    """(the item, whether it was created now). Idempotent per decision."""
    if not may_take_over(user, meeting):
        raise PermissionDenied("只有会议组织人、本机关文书或督查员可以把议定事项转为督办。")
    existing = SupervisionItem.objects.filter(source_decision_id=decision_id).first()
    if existing is not None:
        return existing, False
    record = next((r for r in decisions_for_supervision(meeting) if r.decision_id == decision_id), None)
    if record is None:
        raise Http404("议定事项不存在。")
    if record.deadline is None:
        raise Refusal("decision_no_deadline", "该议定事项没有完成时限，请先补充时限，或由督查员在立项页面填写期限后立项。")
    lead = Agency.objects.get(pk=record.owner_unit_id)
    text = record.text.strip()
    title = f"{record.meeting_title}议定事项{record.position}：{text}"
    data = act.ItemInput(
        title=title[: act.TITLE_MAX], source_type=SourceType.MEETING,
        source_basis=f"{record.source} 第{record.position}项"[:300], leader=_leader_for(meeting), lead_agency=lead,
        responsible=act._default_handler(lead), requirements=text, deadline=record.deadline,
        source_decision_id=record.decision_id, **_cycle(record),
    )
    try:
        item = act.check_create_item(user, data, ip=ip, supervisor=_supervisor_for(user, meeting))
    except IntegrityError:  # someone else took it over at the same moment: theirs stands
        existing = SupervisionItem.objects.filter(source_decision_id=decision_id).first()
        if existing is None:
            raise
        return existing, False
    return item, True


def decision_links(user: Person, meeting: Meeting, decisions: list[Decision]) -> dict[int, list[DecisionLink]]:
    """The meeting page's 议定事项 rows: the item's link once taken over (for whoever can see the item), else the
    one-button action for those who may take it over."""
    taken = dict(SupervisionItem.objects.filter(source_decision__in=[d.pk for d in decisions])
                 .values_list("source_decision_id", "pk"))
    visible = set(items_visible_to(user).filter(pk__in=list(taken.values())).values_list("pk", flat=True))
    may = may_take_over(user, meeting)
    out: dict[int, list[DecisionLink]] = {}
    for d in decisions:
        if d.pk in taken:
            # Everyone on the meeting page sees that it was taken over; the link only for those who may open it.
            url = f"/supervision/{taken[d.pk]}/" if taken[d.pk] in visible else ""
            out[d.pk] = [DecisionLink("已转督办，查看事项" if url else "已转督办", url)]
        elif may:
            out[d.pk] = [DecisionLink("转为督办事项", f"/supervision/from-decision/{meeting.pk}/{d.pk}/", post=True)]
    return out


@login_required
@require_POST
def from_decision(request: HttpRequest, meeting_id: int, decision_id: int) -> HttpResponse:
    from django.contrib import messages

    meeting = access_meeting_by_id(request.user, meeting_id)
    try:
        item, created = check_create_from_decision(request.user, meeting, decision_id, ip=client_ip(request))
    except Refusal as exc:
        messages.error(request, exc.message)
        response = redirect("meetings:detail", meeting.pk)
        response["Location"] += "#decisions"
        return response
    if item.pk in set(items_visible_to(request.user).filter(pk=item.pk).values_list("pk", flat=True)):
        if not created:
            messages.info(request, f"该议定事项已转为督办事项 {item.number}。")
        return redirect("supervision:detail", item.pk)
    messages.success(request, f"已转为督办事项 {item.number}，待领导审核。")
    response = redirect("meetings:detail", meeting.pk)
    response["Location"] += "#decisions"
    return response
