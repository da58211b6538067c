"""Reads behind the routing pages and the flow trace (流程跟踪): who may see a process or task, whom a task may be
passed to (转办) or added (加签), the diagram of a process, and the 处理笺 of a 发文.

Access rule (tasks and processes alike): the process is visible to its initiator, to anyone who owns or owned a task
of it (including the principal A of a task done "B 代 A"), to anyone a routing event named (转办 from/to, 退回 by …),
and to whoever may see its 公文 (process.data["document_id"], documents.selectors.documents). Everyone else gets
Http404 — the same answer as for a missing id, so ids leak nothing.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone
from viewflow.workflow.models import Process, Task
from viewflow.workflow.nodes.boundary import BoundaryEventMixin
from viewflow.workflow.status import STATUS

from documents.rendering.slip import (
    KIND_CHECK,
    KIND_COUNTERSIGN,
    KIND_DEPT_REVIEW,
    KIND_OTHER,
    KIND_SIGN,
    ProcessingSlip,
    SlipOpinion,
)
from documents.selectors.documents import access_document_by_id
from documents.selectors.incoming import access_incoming_by_id
from oa.models import Appointment, Person
from workflows.diagram import DiagramStep, render_flow_svg
from workflows.models import Opinion, TaskEvent
from workflows.nodes import is_people_step, node_label
from workflows.routing import OPEN, routing_of
from workflows.selectors.opinions import opinions_for_process
from workflows.selectors.routing import HUMAN_TYPES, addsign_node_name, plan_withdraw

# --- access ----------------------------------------------------------------------------------------------------


def may_see_process(user: Person, process: Process) -> bool:
    if not getattr(user, "is_authenticated", False) or not user.is_active or process.flow_class is None:
        return False
    data = process.data or {}
    if str(data.get("initiator_id") or "") == str(user.pk):
        return True
    tasks = Task.objects.filter(process=process)
    if tasks.filter(Q(owner=user) | Q(data__routing__on_behalf_of=user.pk)).exists():
        return True
    if TaskEvent.objects.filter(process=process).filter(
        Q(actor=user) | Q(from_person=user) | Q(to_person=user) | Q(on_behalf_of=user)
    ).exists():
        return True
    document_id = data.get("document_id")
    if document_id:
        try:
            access_document_by_id(user, int(document_id))
        except (Http404, TypeError, ValueError):
            return False
        return True
    incoming_id = data.get("incoming_id")
    if incoming_id:  # 收文: whoever may see the 收文 (its office, its leaders, those it reached) may follow it
        try:
            access_incoming_by_id(user, int(incoming_id))
        except (Http404, TypeError, ValueError):
            return False
        return True
    return False


def access_process_by_id(user: Person, process_id: int) -> Process:
    """The process, or Http404 whether it is missing or merely not the user's business."""
    process = Process.objects.filter(pk=process_id).first()
    if process is None or not may_see_process(user, process):
        raise Http404("流程不存在或无权查看")
    return process


def access_task_by_id(user: Person, task_id: int) -> Task:
    """The task, or Http404 unless the user may see its process (see the module docstring). Whether the user may
    *act* on it is the action's business (PermissionDenied → 403 for a participant who is not the handler)."""
    task = Task.objects.select_related("process", "owner").filter(pk=task_id).first()
    if task is None or task.flow_task is None or not may_see_process(user, task.process):
        raise Http404("事项不存在或无权查看")
    return task


# --- who may act ---------------------------------------------------------------------------------------------------


def step_label(node) -> str:
    """The Chinese name of a node: its Annotation title, or a generic word when it only has viewflow's default."""
    return node_label(node)


def is_open_owner(user: Person, task: Task) -> bool:
    """The user may act on this open human task now (gateways and joins have no handler and no can_execute)."""
    can_execute = getattr(task.flow_task, "can_execute", None)
    return (task.flow_task_type in HUMAN_TYPES and task.status in (STATUS.ASSIGNED, STATUS.STARTED)
            and can_execute is not None and bool(can_execute(user, task)))


def can_urge(user: Person, task: Task) -> bool:
    """Mirrors the action's rule (initiator or an earlier handler, not the owner) to decide whether to offer 催办."""
    if task.status not in (STATUS.ASSIGNED, STATUS.STARTED) or not task.owner_id or task.owner_id == user.pk:
        return False
    if user.is_superuser or str((task.process.data or {}).get("initiator_id")) == str(user.pk):
        return True
    return Task.objects.filter(process_id=task.process_id, owner=user, status=STATUS.DONE).exists()


def withdrawable_tasks(user: Person, process: Process) -> list[Task]:
    """The user's own DONE steps of the process that 取回 would accept now."""
    mine = Task.objects.filter(process=process, status=STATUS.DONE, flow_task_type__in=HUMAN_TYPES)
    if str((process.data or {}).get("initiator_id") or "") == str(user.pk):  # the 送审 (start) has no owner
        mine = mine.filter(Q(owner=user) | Q(owner__isnull=True, flow_task_type__in=("START", "HUMAN_START")))
    else:
        mine = mine.filter(owner=user)
    return [t for t in mine.select_related("process").order_by("-finished", "-pk") if plan_withdraw(user, t).refusal
            is None]


def _agency_colleagues(person: Person) -> QuerySet[Person]:
    agencies = Appointment.objects.filter(person=person).values("department__agency_id")
    return Person.objects.filter(is_active=True, appointments__department__agency_id__in=agencies).distinct()


def reassign_candidates(task: Task) -> list[Person]:
    """Whom 转办 may go to: the flow's own `reassign_candidates(task)` if it has one; else, with a `same_role` hook,
    the owner's agency colleagues the hook accepts; else the holders of the step's owner_permission."""
    flow = task.process.flow_class.instance
    owner = task.owner
    custom = getattr(flow, "reassign_candidates", None)
    if custom is not None:
        people = list(custom(task))
    elif getattr(flow, "same_role", None) is not None:
        pool = _agency_colleagues(owner) if owner else Person.objects.none()
        people = [p for p in pool if flow.same_role(task, p)]
    elif task.owner_permission:
        people = list(Person.objects.with_perm(task.owner_permission, include_superusers=False).filter(is_active=True))
    else:
        people = []
    return sorted((p for p in people if p.is_active and p.pk != task.owner_id), key=_sort_key)


def addsign_candidates(user: Person, task: Task) -> list[Person]:
    """Whom 加签 may add from the page: the flow's `addsign_candidates(task)` if defined, else the user's agency
    colleagues (the API accepts any active person; the action refuses oneself)."""
    flow = task.process.flow_class.instance
    custom = getattr(flow, "addsign_candidates", None)
    people = list(custom(task)) if custom is not None else list(_agency_colleagues(user))
    return sorted((p for p in people if p.is_active and p.pk not in (user.pk, task.owner_id)), key=_sort_key)


def supports_addsign(task: Task) -> bool:
    flow_class = task.process.flow_class
    return flow_class.instance.node(addsign_node_name(flow_class), no_obsolete=True) is not None


def _sort_key(person: Person) -> tuple[str, int]:
    return (person.get_full_name(), person.pk)


def person_choices(people: list[Person]) -> list[tuple[int, str]]:
    """(id, "王芳（区府办·秘书科）") for a select; one query for the departments."""
    departments = {
        a.person_id: a.department.name
        for a in Appointment.objects.filter(person__in=people, is_primary=True).select_related("department")
    }
    return [(p.pk, f"{p.get_full_name()}（{departments[p.pk]}）" if p.pk in departments else p.get_full_name())
            for p in people]


# --- diagram -----------------------------------------------------------------------------------------------------

_KIND = {"START": "start", "HUMAN_START": "start", "END": "end"}


def flow_graph(flow_class) -> tuple[list[Any], list[tuple[str, str]]]:
    """The steps people know (is_people_step) in walking order (breadth first from the starts) and the edges between
    them, from viewflow's own graph with the engine's nodes contracted: 判断, 分送, 汇合 and untitled ends vanish and
    their edges join the steps on either side (办公室核稿 → 会签, 办公室核稿 → 签发 when nobody countersigns).
    A step's deadline timer (boundary event) and what it triggers (自动催办) are not steps of the document."""
    nodes = {n.name: n for n in flow_class.instance.nodes()}
    timer_paths = {edge.dst.name for n in nodes.values() if isinstance(n, BoundaryEventMixin) for edge in n._outgoing()}
    hidden = {name for name, n in nodes.items() if isinstance(n, BoundaryEventMixin)} | timer_paths

    def step_successors(node) -> list[Any]:
        """The next steps people know after `node`, walking through engine nodes (cycles among them guarded)."""
        out: list[Any] = []
        seen_engine: set[str] = set()
        stack = [edge.dst for edge in node._outgoing()]
        while stack:
            dst = stack.pop(0)
            if dst.name in hidden:
                continue
            if is_people_step(dst):
                if dst not in out:
                    out.append(dst)
            elif dst.name not in seen_engine:
                seen_engine.add(dst.name)
                stack.extend(edge.dst for edge in dst._outgoing())
        return out

    starts = [n for n in nodes.values() if n.task_type in ("START", "HUMAN_START")]
    order: list[Any] = []
    edges: list[tuple[str, str]] = []
    seen: set[str] = set()
    queue = deque(sorted(starts, key=lambda n: n.name))
    for n in queue:
        seen.add(n.name)
    while queue:
        node = queue.popleft()
        order.append(node)
        for dst in step_successors(node):
            edges.append((node.name, dst.name))
            if dst.name not in seen:
                seen.add(dst.name)
                queue.append(dst)
    # Steps no edge reaches (加签) come last, in name order; the caller keeps them only when used.
    order += [nodes[name] for name in sorted(nodes)
              if name not in seen and name not in hidden and is_people_step(nodes[name])]
    return order, edges


def process_diagram(process: Process) -> dict[str, Any]:
    """Steps, edges and the three status sets for render_flow_svg, plus the SVG itself."""
    flow_class = process.flow_class
    nodes, edges = flow_graph(flow_class)
    shown = {n.name for n in nodes}
    tasks = [t for t in Task.objects.filter(process=process).only("flow_task", "status", "data").order_by("pk")
             if t.flow_task is not None and t.flow_task.name in shown]
    used = {t.flow_task.name for t in tasks}
    current = {t.flow_task.name for t in tasks if t.status in OPEN}
    # A step's last finished task decides ✓ or ↩: a 签发 that sent the draft back is not 已完成.
    last_done = {t.flow_task.name: t for t in tasks if t.status == STATUS.DONE}
    returned = {name for name, t in last_done.items() if (routing_of(t).get("route") or {}).get("op") == "return"}
    done = set(last_done) - returned
    reachable = {a for a, _ in edges} | {b for _, b in edges} | {
        n.name for n in nodes if n.task_type in ("START", "HUMAN_START")}
    steps = [DiagramStep(n.name, step_label(n), _KIND.get(n.task_type, "task")) for n in nodes
             if n.name in reachable or n.name in used]
    keys = {s.key for s in steps}
    svg = render_flow_svg(
        steps, edges, done=done & keys, current=current & keys, returned=returned & keys,
        title=f"{flow_class.process_title}流程图",
    )
    return {"steps": steps, "edges": edges, "done": done & keys, "current": current & keys,
            "returned": returned & keys, "svg": svg}


def open_tasks(process: Process) -> list[Task]:
    return list(Task.objects.filter(process=process, status__in=OPEN, flow_task_type__in=HUMAN_TYPES)
                .select_related("owner").order_by("created", "pk"))


def process_title(process: Process) -> str:
    return str((process.data or {}).get("title") or process.flow_class.process_title)


# --- 处理笺 --------------------------------------------------------------------------------------------------------

_STEP_KINDS = {"签发": KIND_SIGN, "核稿": KIND_CHECK, "办公室核稿": KIND_CHECK, "复核": KIND_CHECK,
               "部门负责人审核": KIND_DEPT_REVIEW}


def slip_kind(opinion: Opinion) -> str:
    """Which box of the 处理笺 an opinion goes in: 会签 by its kind, the others by the step's label."""
    if opinion.kind == Opinion.Kind.COUNTERSIGN:
        return KIND_COUNTERSIGN
    return _STEP_KINDS.get(opinion.step.strip(), KIND_OTHER)


def process_document_id(process: Process) -> int | None:
    value = (process.data or {}).get("document_id")
    try:
        return int(value) if value else None
    except (TypeError, ValueError):
        return None


def processing_slip(user: Person, process: Process) -> ProcessingSlip | None:
    """The 处理笺 of the process's 公文 with every opinion of the process; None when the process has no 公文.
    Http404 when the 公文 exists but the user may not see it (the process page may be visible through a task)."""
    document_id = process_document_id(process)
    if document_id is None:
        return None
    doc = access_document_by_id(user, document_id)
    opinions = [
        SlipOpinion(
            step=o.step, name=o.author.get_full_name(),
            on_behalf_of=o.on_behalf_of.get_full_name() if o.on_behalf_of_id else "",
            text=o.text, date=o.created_at, kind=slip_kind(o), circled=o.kind == Opinion.Kind.CIRCLE,
        )
        for o in opinions_for_process(process)
    ]
    department = doc.department
    return ProcessingSlip(
        title=doc.title,
        doc_type_label=doc.get_doc_type_display(),
        agency=doc.agency.name,
        doc_number=doc.doc_number,
        urgency=doc.get_urgency_display() if doc.urgency else "",
        secrecy=doc.get_secrecy_display() if doc.secrecy else "",
        copy_number=doc.copy_number,
        drafter=doc.created_by.get_full_name(),
        drafting_department=department.name if department else "",
        draft_date=timezone.localtime(doc.created_at).date() if doc.created_at else None,
        main_recipients=list(doc.main_recipients or []),
        cc=list(doc.cc or []),
        attachments=list(doc.attachment_note or []),
        printing_org=doc.printing_org,
        is_upward=doc.is_upward,
        signers=list(doc.signers or []),
        opinions=opinions,
    )
