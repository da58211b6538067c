"""Reads for 信息报送: duties, what a person may see (no existence leaks), the diff of the desk's edit."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.http import Http404
from viewflow.workflow.models import Task

from oa.models import Agency, Person, RoleAssignment
from workflows.information.models import Duty, InformationDuty, ScoringRule, Submission

FLOW_CLASS = "workflows.information.flows.InformationFlow"
# Who sees every unit's figures (and the records behind them) besides the 信息科: leaders and 督查 staff of the
# 区政府 and the 区府办 (the 考核评价 readers).
STATISTICS_ROLES = ("principal", "deputy_leader", "supervisor")
STATISTICS_AGENCY_KINDS = (Agency.Kind.GOVERNMENT, Agency.Kind.OFFICE)


# --- duties ----------------------------------------------------------------------------------------------------


def duty_agencies(person: Person, duty: str) -> list[Agency]:
    return list(Agency.objects.filter(pk__in=InformationDuty.objects.filter(person=person, duty=duty)
                                      .values("agency_id")).order_by("sort_order"))


def unit_agency_ids(person: Person) -> set[int]:
    """The units the person reports or reviews 信息 for."""
    return set(InformationDuty.objects.filter(person=person, duty__in=(Duty.REPORTER, Duty.REVIEWER))
               .values_list("agency_id", flat=True))


def is_desk(person: Person) -> bool:
    return InformationDuty.objects.filter(person=person, duty=Duty.DESK).exists()


def desk_people() -> QuerySet[Person]:
    return Person.objects.filter(information_duties__duty=Duty.DESK, is_active=True).distinct().order_by("pk")


def reviewers_of(agency: Agency) -> QuerySet[Person]:
    return Person.objects.filter(information_duties__duty=Duty.REVIEWER, information_duties__agency=agency,
                                 is_active=True).distinct().order_by("pk")


def least_busy_desk() -> Person | None:
    """The 信息科 editor with the fewest open 信息科审核 steps (then the earliest account)."""
    people = list(desk_people())
    if not people:
        return None
    open_counts = {}
    for task in Task.objects.filter(process__flow_class=FLOW_CLASS, status__in=("NEW", "ASSIGNED", "STARTED"),
                                    owner__in=people).values("owner_id", "flow_task"):
        if str(task["flow_task"]).endswith(".desk_review"):
            open_counts[task["owner_id"]] = open_counts.get(task["owner_id"], 0) + 1
    return min(people, key=lambda p: (open_counts.get(p.pk, 0), p.pk))


def may_see_statistics(person: Person) -> bool:
    return is_desk(person) or RoleAssignment.objects.filter(
        person=person, role__in=STATISTICS_ROLES, agency__kind__in=STATISTICS_AGENCY_KINDS).exists()


def statistics_agency_scope(person: Person) -> set[int] | None:
    """None: every unit; else the units whose figures the person may see (their own 信息 units)."""
    if may_see_statistics(person):
        return None
    return unit_agency_ids(person)


def may_hold_step(task: Task, person: Person) -> bool:
    submission = Submission.objects.get(pk=task.process.data["submission_id"])
    name = task.flow_task.name
    if name == "unit_review":
        return InformationDuty.objects.filter(person=person, agency=submission.agency, duty=Duty.REVIEWER).exists()
    if name == "desk_review":
        return is_desk(person)
    if name == "revise":
        return InformationDuty.objects.filter(person=person, agency=submission.agency, duty=Duty.REPORTER).exists()
    return False


# --- pieces ----------------------------------------------------------------------------------------------------


def _handled_process_ids(person: Person) -> QuerySet:
    return Task.objects.filter(owner=person, process__flow_class=FLOW_CLASS).values("process_id")


def submissions_visible_to(person: Person) -> QuerySet[Submission]:
    """Mine; my 信息 units' pieces (drafts included); any piece whose step I hold or held; once a piece has
    reached the 信息科: the desk and the statistics readers. Another unit's drafts: never."""
    rule = (Q(author=person) | Q(agency_id__in=unit_agency_ids(person))
            | Q(process_id__in=_handled_process_ids(person)))
    if is_desk(person) or may_see_statistics(person):
        rule |= Q(submitted_at__isnull=False)
    return Submission.objects.filter(rule).select_related("agency", "author").distinct()


def access_submission_by_id(person: Person, submission_id: int) -> Submission:
    submission = submissions_visible_to(person).filter(pk=submission_id).first()
    if submission is None:
        raise Http404("信息不存在或无权查看")
    return submission


def my_unit_submissions(person: Person) -> QuerySet[Submission]:
    return (Submission.objects.filter(Q(author=person) | Q(agency_id__in=unit_agency_ids(person)))
            .select_related("agency", "author"))


def desk_submissions() -> QuerySet[Submission]:
    return Submission.objects.filter(submitted_at__isnull=False).select_related("agency", "author")


def submission_of_task(task: Task) -> Submission:
    return Submission.objects.select_related("agency", "author").get(pk=task.process.data["submission_id"])


def open_task_of(submission: Submission) -> Task | None:
    if not submission.process_id:
        return None
    return (Task.objects.filter(process_id=submission.process_id, flow_task_type="HUMAN",
                                status__in=("ASSIGNED", "STARTED")).select_related("owner").first())


# --- scoring rules ---------------------------------------------------------------------------------------------


def rule_on(day) -> ScoringRule | None:
    return ScoringRule.objects.filter(effective_from__lte=day).order_by("-effective_from").first()


def current_rule() -> ScoringRule | None:
    from django.utils import timezone

    return rule_on(timezone.localdate())


# --- the desk's edit -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DiffPart:
    op: str  # "same", "del", "ins"
    text: str


def text_diff(original: str, edited: str) -> list[DiffPart]:
    """Character-level diff (Chinese has no spaces to split on), merged into runs for <del>/<ins> in the page;
    the template escapes each run."""
    parts: list[DiffPart] = []
    matcher = difflib.SequenceMatcher(None, original, edited, autojunk=False)
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op == "equal":
            parts.append(DiffPart("same", original[a1:a2]))
            continue
        if a2 > a1:
            parts.append(DiffPart("del", original[a1:a2]))
        if b2 > b1:
            parts.append(DiffPart("ins", edited[b1:b2]))
    return parts
