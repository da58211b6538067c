"""Reads for 信息报送: duties, what a person may see (no existence leaks), the diff of the desk's edit."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.http import Http404
from viewflow.workflow.models import Task

from oa.models import Agency, Person, RoleAssignment
from workflows.information.flows import InformationFlow
from workflows.information.models import UNIT_DUTIES, Duty, InformationDuty, ScoringRule, Submission

# The flow class itself: viewflow stores it as "information/flows.InformationFlow" (app label, not module path).
FLOW_CLASS = InformationFlow
# Who sees every unit's figures (and the records behind them) besides the 信息科 is data: the people given the
# 统计查看 duty (Duty.STATISTICS) by the 信息科负责人 on /information/duties/. Until anyone has been named, the default
# applies: leaders and 督查 staff of the 区政府 and the 区府办 (the 考核评价 readers) — DEFAULT_STATISTICS_ROLES.
DEFAULT_STATISTICS_ROLES = ("principal", "deputy_leader", "supervisor")
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
    open_counts: dict[int, int] = {}
    for owner_id in Task.objects.filter(process__flow_class=FLOW_CLASS, flow_task=InformationFlow.desk_review,
                                        status__in=("NEW", "ASSIGNED", "STARTED"),
                                        owner__in=people).values_list("owner_id", flat=True):
        open_counts[owner_id] = open_counts.get(owner_id, 0) + 1
    return min(people, key=lambda p: (open_counts.get(p.pk, 0), p.pk))


def statistics_default_applies() -> bool:
    """True while nobody holds 统计查看: then the default roles read the statistics."""
    return not InformationDuty.objects.filter(duty=Duty.STATISTICS).exists()


def may_see_statistics(person: Person) -> bool:
    """The 信息科 (editors and head), the 统计查看 holders — or, while none is named, the default roles."""
    duties = set(InformationDuty.objects.filter(person=person, duty__in=(Duty.DESK, Duty.DESK_HEAD, Duty.STATISTICS))
                 .values_list("duty", flat=True))
    if duties:
        return True
    return statistics_default_applies() and RoleAssignment.objects.filter(
        person=person, role__in=DEFAULT_STATISTICS_ROLES, agency__kind__in=STATISTICS_AGENCY_KINDS).exists()


def statistics_agency_scope(person: Person) -> set[int] | None:
    """None: every unit; else the units whose figures the person may see (their own 信息 units)."""
    if may_see_statistics(person):
        return None
    return unit_agency_ids(person)


# --- who manages the duty roster (/information/duties/) ---------------------------------------------------------


@dataclass(frozen=True)
class RosterSlot:
    """One duty at one agency that a person may manage: who holds it and whom the picker offers."""

    agency: Agency
    duty: str
    label: str
    holders: list[InformationDuty]
    candidates: list[Person]

    @property
    def key(self) -> str:
        return f"{self.agency.pk}-{self.duty}"


def clerk_agency_ids(person: Person) -> set[int]:
    """The units whose 办公室/文书 the person is (the role held for the agency or one of its departments)."""
    return set(RoleAssignment.objects.filter(person=person, role="clerk").values_list("agency_id", flat=True))


def is_desk_head(person: Person) -> bool:
    return InformationDuty.objects.filter(person=person, duty=Duty.DESK_HEAD).exists()


def managed_duty_pairs(person: Person) -> set[tuple[int, str]]:
    """(agency id, duty) the person may assign and remove: a unit's 办公室/文书 its own 信息员 and 信息审核人 (the
    区府办's also the 信息科负责人); the 信息科负责人 the 信息科编辑 and 统计查看 (区政府 and 区府办)."""
    pairs: set[tuple[int, str]] = set()
    clerk_of = clerk_agency_ids(person)
    for agency in Agency.objects.filter(pk__in=clerk_of):
        pairs.update((agency.pk, d) for d in UNIT_DUTIES)
        if agency.kind == Agency.Kind.OFFICE:
            pairs.add((agency.pk, Duty.DESK_HEAD))
    if is_desk_head(person):
        for agency in Agency.objects.filter(kind__in=STATISTICS_AGENCY_KINDS):
            pairs.add((agency.pk, Duty.STATISTICS))
            if agency.kind == Agency.Kind.OFFICE:
                pairs.add((agency.pk, Duty.DESK))
    return pairs


def may_manage_duties(person: Person) -> bool:
    return bool(clerk_agency_ids(person)) or is_desk_head(person)


def unit_people(agency: Agency) -> QuerySet[Person]:
    """Active people with a post in the agency: whom the picker offers for a duty there."""
    return (Person.objects.filter(appointments__department__agency=agency, is_active=True).distinct()
            .order_by("name", "pk"))


def roster_for(person: Person) -> list[RosterSlot]:
    pairs = managed_duty_pairs(person)
    if not pairs:
        return []
    agencies = {a.pk: a for a in Agency.objects.filter(pk__in={a for a, _ in pairs})}
    holders: dict[tuple[int, str], list[InformationDuty]] = {}
    for row in (InformationDuty.objects.filter(agency_id__in=agencies).select_related("person", "agency")
                .order_by("person__name", "pk")):
        holders.setdefault((row.agency_id, row.duty), []).append(row)
    people = {pk: list(unit_people(agency)) for pk, agency in agencies.items()}
    order = list(Duty.values)
    slots = []
    for agency_id, duty in sorted(pairs, key=lambda p: (agencies[p[0]].sort_order, p[0], order.index(p[1]))):
        held = holders.get((agency_id, duty), [])
        held_ids = {row.person_id for row in held}
        slots.append(RosterSlot(agencies[agency_id], duty, Duty(duty).label, held,
                                [p for p in people[agency_id] if p.pk not in held_ids]))
    return slots


def access_managed_duty_by_id(person: Person, duty_id: int) -> InformationDuty:
    """A duty row the person may remove; 404 for one outside their roster, as for a missing one."""
    row = InformationDuty.objects.select_related("person", "agency").filter(pk=duty_id).first()
    if row is None or (row.agency_id, row.duty) not in managed_duty_pairs(person):
        raise Http404("职责不存在或无权管理")
    return row


def open_steps_held(person: Person, agency: Agency, duty: str) -> int:
    """Open steps of the duty the person holds for the agency's pieces (desk: any piece)."""
    node = {Duty.REVIEWER: "unit_review", Duty.DESK: "desk_review", Duty.REPORTER: "revise"}.get(duty)
    if node is None:
        return 0
    tasks = Task.objects.filter(process__flow_class=FLOW_CLASS, owner=person, flow_task=getattr(InformationFlow, node),
                                status__in=("NEW", "ASSIGNED", "STARTED"))
    if duty != Duty.DESK:
        tasks = tasks.filter(process_id__in=Submission.objects.filter(agency=agency, process_id__isnull=False)
                             .values("process_id"))
    return tasks.count()


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
