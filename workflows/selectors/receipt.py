"""Reads behind the 收文 pages: the office's list, one 收文's detail (its flow, opinions, where it is now) and what a
收文 step page offers (leaders, departments, readers, the 协办 opinions a 主办 sees). Objects come through
documents.selectors.incoming (access_incoming_by_id / incoming_visible_to) and workflows.selectors.trace."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.db.models.fields.files import FieldFile
from django.http import Http404
from viewflow.workflow.models import Process, Task
from viewflow.workflow.status import STATUS

from documents.models import IncomingDocument
from documents.selectors.incoming import incoming_visible_to
from oa.models import Agency, Appointment, Department, Person, Role, RoleAssignment
from oa.selectors.directory import people_with_role, principals, with_department_head
from workflows.models import Opinion
from workflows.receipt.flows import ReceiptFlow
from workflows.routing import OPEN
from workflows.selectors.opinions import opinions_for_process
from workflows.selectors.trace import may_see_process, open_tasks, step_label

PAGE_SIZE = 50
# 状态 filter of the list: a tab per group people think in.
STATUS_FILTERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "open": ("办理中", (IncomingDocument.Status.PENDING, IncomingDocument.Status.SIGNED,
                     IncomingDocument.Status.REGISTERED, IncomingDocument.Status.IN_PROGRESS)),
    "pending": ("待签收", (IncomingDocument.Status.PENDING,)),
    "closed": ("已办结", (IncomingDocument.Status.CLOSED, IncomingDocument.Status.ARCHIVED)),
    "returned": ("已退回/取回", (IncomingDocument.Status.RETURNED, IncomingDocument.Status.WITHDRAWN)),
    "all": ("全部", ()),
}


@dataclass
class IncomingList:
    rows: list[IncomingDocument]
    status: str
    agency: Agency | None
    agencies: list[Agency]
    total: int
    counts: dict[str, int]


def office_agencies(person: Person) -> list[Agency]:
    """Agencies whose 收文 the person sees whole (文书, 核稿人, leaders): the list's agency filter."""
    from documents.selectors.incoming import INCOMING_WIDE_ROLES

    ids = RoleAssignment.objects.filter(person=person, role__in=INCOMING_WIDE_ROLES).values("agency_id")
    return list(Agency.objects.filter(pk__in=ids).order_by("sort_order", "pk"))


def incoming_list(user: Person, *, status: str = "open", agency_id: int | None = None, q: str = "") -> IncomingList:
    status = status if status in STATUS_FILTERS else "open"
    agencies = office_agencies(user)
    base = incoming_visible_to(user).select_related("agency")
    agency = next((a for a in agencies if a.pk == agency_id), None) if agency_id else None
    if agency is not None:
        base = base.filter(agency=agency)
    q = (q or "").strip()[:100]
    if q:
        from django.db.models import Q

        base = base.filter(Q(title__icontains=q) | Q(doc_number__icontains=q) | Q(receipt_number__icontains=q)
                           | Q(sender_name__icontains=q))
    counts = {}
    for key, (_, statuses) in STATUS_FILTERS.items():
        counts[key] = base.filter(status__in=statuses).count() if statuses else base.count()
    _, statuses = STATUS_FILTERS[status]
    rows = base.filter(status__in=statuses) if statuses else base
    rows = rows.order_by("-received_at", "-pk")
    return IncomingList(rows=list(rows[:PAGE_SIZE]), status=status, agency=agency, agencies=agencies,
                        total=counts[status], counts=counts)


def receipt_process_of(incoming: IncomingDocument) -> Process | None:
    return Process.objects.filter(flow_class=ReceiptFlow, data__incoming_id=incoming.pk).order_by("-pk").first()


def incoming_file(incoming: IncomingDocument, key: str) -> FieldFile:
    """A stored file of the 收文 (an attachment by its storage key) as a FieldFile for download_response."""
    return FieldFile(incoming, IncomingDocument._meta.get_field("pdf"), key)


def incoming_attachment(incoming: IncomingDocument, index: int) -> dict[str, Any]:
    """The index-th attachment (1-based, as listed) or Http404."""
    items = list(incoming.attachments or [])
    if not 1 <= index <= len(items) or not isinstance(items[index - 1], dict) or not items[index - 1].get("key"):
        raise Http404("附件不存在")
    return items[index - 1]


def incoming_detail(user: Person, incoming: IncomingDocument) -> dict[str, Any]:
    """What the 收文 detail page shows besides the record itself."""
    process = receipt_process_of(incoming)
    opinions: list[Opinion] = list(opinions_for_process(process)) if process else []
    current = [{"task": t, "step": step_label(t.flow_task), "dept": (t.data or {}).get("dept", "")}
               for t in open_tasks(process)] if process else []
    mine = next((c["task"] for c in current if c["task"].owner_id == user.pk), None)
    reply = incoming.reply_document
    return {
        "process": process,
        "may_trace": process is not None and may_see_process(user, process),
        "opinions": opinions,
        "current": current,
        "my_task": mine,
        "attachments": [{"index": i, **a} for i, a in enumerate(incoming.attachments or [], start=1)
                        if isinstance(a, dict)],
        "reply": reply,
        "may_open_reply": reply is not None and _may_see_document(user, reply.pk),
        "handlers": (process.data or {}).get("handlers", []) if process else [],
    }


def _may_see_document(user: Person, document_id: int) -> bool:
    from documents.selectors.documents import access_document_by_id

    try:
        access_document_by_id(user, document_id)
    except Http404:
        return False
    return True


# --- who handles an agency's 收文 ----------------------------------------------------------------------------------


def receiving_office(agency: Agency) -> Agency:
    """The agency whose 办公室 signs and registers ``agency``'s 收文: the agency itself when it has a 文书; a 人民政府
    without one is served by its 政府办公室 (区政府的来文由区府办签收、登记、办理)."""
    if RoleAssignment.objects.filter(agency=agency, role=Role.CLERK, person__is_active=True).exists():
        return agency
    office = (Agency.objects.filter(parent=agency, kind=Agency.Kind.OFFICE, is_active=True,
                                    role_assignments__role=Role.CLERK).order_by("sort_order", "pk").first())
    return office or agency


@dataclass(frozen=True)
class ReceivingOffice:
    """Who takes a 收文 for an agency: the office agency (receiving_office) and its first 文书 and 核稿人 (as
    workflows.actions.receipt._office_people picks them); clerk is None when the office has no 文书."""

    office: Agency
    clerk: Person | None
    reviewer: Person | None


def receiving_offices(agencies: list[Agency]) -> dict[int, ReceivingOffice]:
    """receiving_office + the office's 文书/核稿人 for many agencies in four queries (分发 to 30 agencies), with the
    same answers as the one-agency functions: first active holder by pk, a 人民政府 without a 文书 served by its
    政府办公室 (an OFFICE child holding a 文书 role, first by sort order)."""
    ids = [a.pk for a in agencies]
    with_clerk = set(RoleAssignment.objects.filter(agency_id__in=ids, role=Role.CLERK, person__is_active=True)
                     .values_list("agency_id", flat=True))
    offices: dict[int, Agency] = {}
    for child in (Agency.objects.filter(parent_id__in=[pk for pk in ids if pk not in with_clerk],
                                        kind=Agency.Kind.OFFICE, is_active=True, role_assignments__role=Role.CLERK)
                  .order_by("sort_order", "pk")):
        offices.setdefault(child.parent_id, child)
    office_of = {a.pk: a if a.pk in with_clerk else offices.get(a.pk, a) for a in agencies}
    first: dict[tuple[int, str], int] = {}
    for agency_id, role, person_id in (RoleAssignment.objects
                                       .filter(agency_id__in={o.pk for o in office_of.values()},
                                               role__in=[Role.CLERK, Role.REVIEWER], person__is_active=True)
                                       .values_list("agency_id", "role", "person_id")):
        key = (agency_id, role)
        first[key] = min(first.get(key, person_id), person_id)
    people = Person.objects.in_bulk(set(first.values()))
    result = {}
    for agency_id, office in office_of.items():
        clerk, reviewer = (people.get(first.get((office.pk, role), 0)) for role in (Role.CLERK, Role.REVIEWER))
        result[agency_id] = ReceivingOffice(office, clerk, reviewer)
    return result


def receivable_agencies(agencies: QuerySet[Agency]) -> QuerySet[Agency]:
    """Of ``agencies``, those a 公文 can be sent to: an agency of another deployment (交换), or one whose receiving
    office (receiving_office) has an active 文书 to sign it. The others are not offered at 分发."""
    clerks = set(RoleAssignment.objects.filter(role=Role.CLERK, person__is_active=True)
                 .values_list("agency_id", flat=True))
    offices = {a.parent_id for a in Agency.objects.filter(kind=Agency.Kind.OFFICE, is_active=True, pk__in=clerks)}
    return agencies.filter(Q(pk__in=clerks) | Q(pk__in=offices) | ~Q(exchange_node=""))


def handling_agencies(incoming: IncomingDocument) -> list[Agency]:
    """The receiving agency and, when another agency's office serves it, that office: whose departments handle it
    and whose people may read it."""
    office = receiving_office(incoming.agency)
    return [incoming.agency] if office.pk == incoming.agency_id else [incoming.agency, office]


# --- step page choices ------------------------------------------------------------------------------------------


def agency_departments(agencies: Agency | list[Agency]) -> QuerySet[Department]:
    agencies = agencies if isinstance(agencies, list) else [agencies]
    return (Department.objects.filter(agency__in=agencies, is_active=True).select_related("agency")
            .order_by("agency__sort_order", "agency_id", "sort_order", "pk"))


def choosable_departments(agencies: Agency | list[Agency]) -> QuerySet[Department]:
    """The departments 拟办/批办 may name as 主办 or 协办: active, of the agencies, with a 部门负责人 to hand it to."""
    return with_department_head(agency_departments(agencies))


def department_of_people(people: list[Person]) -> dict[int, Department]:
    """Each person's primary department (one query), for grouping people in a picker."""
    return {a.person_id: a.department for a in Appointment.objects.filter(
        person__in=people, is_primary=True).select_related("department")}


def agency_people(agencies: Agency | list[Agency]) -> list[Person]:
    """Active people appointed in the agencies (传阅 readers), by department order then name."""
    agencies = agencies if isinstance(agencies, list) else [agencies]
    rows = (Appointment.objects.filter(department__agency__in=agencies, person__is_active=True, is_primary=True)
            .select_related("person", "department")
            .order_by("department__agency__sort_order", "department__sort_order", "department_id", "person_id"))
    seen: set[int] = set()
    people: list[Person] = []
    for a in rows:
        if a.person_id not in seen:
            seen.add(a.person_id)
            people.append(a.person)
    extra = (Person.objects.filter(is_active=True, appointments__department__agency__in=agencies)
             .exclude(pk__in=seen).distinct().order_by("pk"))
    return people + list(extra)


def assist_opinions(process: Process) -> list[dict[str, Any]]:
    """协办 departments as the 主办 sees them: each with its state and, once given, its opinion."""
    tasks = (Task.objects.filter(process=process, flow_task=ReceiptFlow.handle, data__role="assist")
             .select_related("owner").order_by("pk"))
    opinions = {o.task_id: o for o in Opinion.objects.filter(process=process, node="handle")
                .select_related("author", "on_behalf_of")}
    latest: dict[Any, dict[str, Any]] = {}
    for t in tasks:
        dept = (t.data or {}).get("dept_id")
        latest[dept] = {"dept": (t.data or {}).get("dept", ""), "task": t, "opinion": opinions.get(t.pk),
                        "done": t.status == STATUS.DONE}
    return list(latest.values())


def leaders_of(agency: Agency) -> list[Person]:
    """Who may 批办 a 收文 of the agency: its 主要负责人 and 分管领导."""
    people = list(principals(agency))
    people += [p for p in people_with_role(Role.DEPUTY_LEADER, agency=agency) if p not in people]
    return people


def open_assist_tasks(process: Process) -> list[Task]:
    """协办 tasks still open: the 主办 waits for their opinions before finishing."""
    return list(Task.objects.filter(process=process, flow_task=ReceiptFlow.handle, status__in=OPEN,
                                    data__role="assist").order_by("pk"))


def may_register_paper(person: Person, agency: Agency) -> bool:
    """The 文书 of the agency's receiving office (区府办's 文书 for 区政府)."""
    return people_with_role(Role.CLERK, agency=receiving_office(agency)).filter(pk=person.pk).exists()


def paper_agencies(person: Person) -> list[Agency]:
    """Where the person may register a paper 来文: agencies they are 文书 of, and those their office serves."""
    own = list(Agency.objects.filter(is_active=True, pk__in=person.role_assignments.filter(
        role=Role.CLERK).values("agency_id")).order_by("sort_order", "pk"))
    served = [a.parent for a in own if a.kind == Agency.Kind.OFFICE and a.parent is not None
              and a.parent.is_active and receiving_office(a.parent).pk == a.pk]
    return served + own
