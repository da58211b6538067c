"""Reads for routing: where a task may be sent back to, whether 取回 is possible, and a process's history (流转记录)
for the flow trace. Pure reads; the actions in workflows/actions/routing.py call the same functions under the lock."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from viewflow.workflow.models import Process, Task
from viewflow.workflow.nodes.boundary import BoundaryEventMixin
from viewflow.workflow.status import STATUS

from oa.models import Person
from oa.selectors.delegation import on_behalf_label
from workflows.models import TaskEvent, TaskOpened
from workflows.nodes import is_people_step, node_label
from workflows.routing import routing_of

HUMAN_TYPES = ("HUMAN", "HUMAN_START", "START")
GATEWAY_TYPES = ("PARALLEL_GATEWAY", "EXCLUSIVE_GATEWAY", "SWITCH")


def start_redraft_node_name(flow_class) -> str:
    return getattr(flow_class, "start_redraft_node", "redraft")


def addsign_node_name(flow_class) -> str:
    return getattr(flow_class, "addsign_node", "addsign")


def _related_token(current: str, other: str) -> bool:
    """Same path of execution: equal, an ancestor (before a split) or a descendant (a branch after its Join's
    successor returns into it) — never a sibling branch."""
    return current == other or current.startswith(other + "/") or other.startswith(current + "/")


def returnable_tasks(task: Task) -> list[Task]:
    """Earlier DONE human steps of the process this task may be sent back to, latest per step (node + business
    data), newest first. 加签 tasks and the task's own step are excluded."""
    flow_class = task.process.flow_class
    addsign = addsign_node_name(flow_class)
    candidates = (
        Task.objects.filter(process_id=task.process_id, status=STATUS.DONE, flow_task_type__in=HUMAN_TYPES,
                            created__lte=task.created)
        .exclude(pk=task.pk)
        .select_related("owner")
        .order_by("-created", "-pk")
    )
    seen: set[tuple[str, str]] = set()
    result = []
    for candidate in candidates:
        name = candidate.flow_task.name
        if name in (addsign, task.flow_task.name) or not _related_token(str(task.token), str(candidate.token)):
            continue
        key = (name, repr(sorted((k, str(v)) for k, v in (candidate.data or {}).items()
                                 if k not in ("routing", "opinion", "outcome"))))
        if key in seen:
            continue
        seen.add(key)
        result.append(candidate)
    return result


# --- 取回 -------------------------------------------------------------------------------------------------------


@dataclass
class WithdrawPlan:
    cancel: list[Task] = field(default_factory=list)
    refusal: tuple[str, str, int] | None = None  # (code, Chinese message, status)


def _refuse(code: str, message: str, status: int = 409) -> WithdrawPlan:
    return WithdrawPlan(refusal=(code, message, status))


def handler_id(task: Task) -> int | None:
    """Who did the step: its owner. A flow's start (StartHandle, run in code for the drafter's 送审) has no owner,
    so it is the process's initiator — the person who may 取回 the 送审."""
    if task.owner_id:
        return task.owner_id
    if task.flow_task_type in ("START", "HUMAN_START"):
        initiator = (task.process.data or {}).get("initiator_id")
        return int(initiator) if str(initiator or "").isdigit() else None
    return None


def plan_withdraw(user: Person, task: Task) -> WithdrawPlan:
    """What 取回 of `task` would cancel, or why it is refused (STACK.md §12: walk through gateways to the next human
    tasks; refuse once any of them is done or opened, or a Function/End already ran)."""
    if task.flow_task_type not in HUMAN_TYPES:
        return _refuse("withdraw_invalid", "只能取回人工办理的环节。", 400)
    if handler_id(task) != user.pk:
        return _refuse("not_owner", "只有该环节的办理人可以取回。", 403)
    if task.status != STATUS.DONE:
        return _refuse("withdraw_not_done", "该环节尚未办结，无需取回。")
    if task.process.status != "NEW":
        return _refuse("process_closed", "流程已结束，不能取回。")
    nxt: list[Task] = []
    frontier = list(task.leading.all())
    if not frontier:
        return _refuse("withdraw_nothing", "该环节之后没有可取回的事项。")
    while frontier:
        current = frontier.pop()
        if isinstance(current.flow_task, BoundaryEventMixin) or current.status == STATUS.CANCELED:
            continue  # the step's own deadline timer (cancelled when it finished), or a path already cancelled
        if current.flow_task_type in GATEWAY_TYPES:
            frontier.extend(current.leading.all())
        elif current.flow_task_type == "JOIN":
            if current.status == STATUS.DONE:
                return _refuse("withdraw_too_late", "会签已全部完成，流程已继续流转，不能取回。")
            # A waiting Join stays: the re-created branch keeps its token, so the Join waits for it.
        elif current.flow_task_type == "HUMAN":
            nxt.append(current)
        else:
            return _refuse("withdraw_too_late", "流程已继续流转（已自动处理），不能取回。")
    for t in nxt:
        if t.status not in (STATUS.NEW, STATUS.ASSIGNED):
            return _refuse("withdraw_too_late", "下一环节已办理，不能取回。")
    opened = TaskOpened.objects.filter(task__in=nxt).select_related("person").first()
    if opened is not None:
        return _refuse("withdraw_opened", f"{opened.person.get_full_name()} 已打开该事项，不能取回。")
    return WithdrawPlan(cancel=sorted(nxt, key=lambda t: t.pk))


def can_withdraw(user: Person, task: Task) -> bool:
    """For showing the 取回 button; re-reads the task (the caller's copy may predate its completion)."""
    return plan_withdraw(user, Task.objects.select_related("process").get(pk=task.pk)).refusal is None


# --- why a task is here (退回 / 取回) ----------------------------------------------------------------------------


def _person_name(pk: Any) -> str:
    person = Person.objects.filter(pk=int(pk)).first() if str(pk or "").isdigit() else None
    return person.get_full_name() if person else ""


def arrival_note(task: Task) -> str:
    """What the holder of an open task should read first: "被 李娜 退回：理由" for a 退回, a line for a 取回, else ""."""
    routing = routing_of(task)
    returned = routing.get("returned")
    if returned:
        who = _person_name(returned.get("by"))
        reason = str(returned.get("reason") or "").strip()
        return f"被 {who} 退回：{reason}" if who else f"被退回：{reason}"
    if routing.get("withdrawn"):
        return "您已取回本环节，修改后可重新提交。"
    return ""


def return_note(task: Task) -> str:
    """For a step finished by 退回: "退回到“修改稿件”：理由" (the returner's 已办 row); else ""."""
    route = routing_of(task).get("route") or {}
    if route.get("op") != "return":
        return ""
    nxt = (route.get("next") or [{}])[0]
    node = task.process.flow_class.instance.node(nxt.get("node") or "", no_obsolete=True) if nxt.get("node") else None
    target = _step(node) if node is not None else ""
    reason = str(route.get("reason") or "").strip()
    return f"退回到“{target}”：{reason}" if target else f"已退回：{reason}"


# --- history (流转记录) -----------------------------------------------------------------------------------------

OP_LABELS = {
    "complete": "办理",
    "return": "退回",
    "addsign_before": "加签（前）",
    "addsign_after": "加签（后）",
    **{op.value: op.label for op in TaskEvent.Op},
}


def _step(node) -> str:
    return node_label(node)


def _next_steps(task: Task) -> list[Any]:
    """The steps people know that `task` led to, through the engine's tasks in between (判断, 汇合, 分送); its
    deadline timer and the automatic 催办 are not among them."""
    out: list[Any] = []
    queue = list(task.leading.all())
    seen: set[int] = set()
    while queue:
        nxt = queue.pop(0)
        node = nxt.flow_task
        if nxt.pk in seen or node is None or isinstance(node, BoundaryEventMixin):
            continue
        seen.add(nxt.pk)
        if is_people_step(node):
            out.append(node)
        elif node.task_type != "FUNCTION":  # the 超期催办 a timer runs is no step of the document
            queue.extend(nxt.leading.all())
    return out


def _node_names(flow_class, names: str) -> str:
    """"dept_review,office_check" (a 取回 that cancelled two steps) as "部门负责人审核、办公室核稿"."""
    nodes = [flow_class.instance.node(n, no_obsolete=True) if flow_class else None for n in names.split(",") if n]
    return "、".join(dict.fromkeys(_step(n) for n in nodes if n is not None))


def _name(person: Person | None) -> str:
    return person.get_full_name() if person else ""


def process_history(process: Process) -> list[dict[str, Any]]:
    """Chronological 流转记录: each finished step (who, 代 X 办理, opinion, op, from → to) and every routing event
    that is not itself a completion (取回, 转办, 并加签, 催办, 跳回, 委托)."""
    flow_class = process.flow_class
    people: dict[int, Person] = {}

    def person(pk) -> Person | None:
        if not pk:
            return None
        pk = int(pk)
        if pk not in people:
            people[pk] = Person.objects.filter(pk=pk).first()
        return people[pk]

    rows: list[dict[str, Any]] = []
    tasks = (
        Task.objects.filter(process=process, status=STATUS.DONE, flow_task_type__in=HUMAN_TYPES)
        .select_related("owner")
        .prefetch_related("leading")
    )
    for task in tasks:
        routing = routing_of(task)
        route = routing.get("route") or {}
        principal = person(routing.get("on_behalf_of"))
        owner = task.owner or person((process.data or {}).get("initiator_id"))
        to_steps = [_step(node) for node in _next_steps(task)]
        op = route.get("op") or ("veto" if (task.data or {}).get("outcome") == "veto" else "complete")
        rows.append({
            "when": task.finished,
            "who": _name(owner),
            "who_label": on_behalf_label(owner, principal) if owner else "",
            "on_behalf_of": _name(principal),
            "step": _step(task.flow_task),
            "op": op,
            "op_label": OP_LABELS.get(op, op),
            "from": _step(task.flow_task),
            "to": "、".join(dict.fromkeys(to_steps)),
            "opinion": str((task.data or {}).get("opinion") or ""),
            "reason": str(route.get("reason") or ""),
            "task_id": task.pk,
        })
    completion_ops = (TaskEvent.Op.RETURN, TaskEvent.Op.VETO)
    events = TaskEvent.objects.filter(process=process).exclude(op__in=completion_ops).select_related(
        "actor", "on_behalf_of", "from_person", "to_person"
    )
    for event in events:
        if event.op == TaskEvent.Op.ADD_SIGNER and event.data.get("mode") != "parallel":
            continue  # 前/后加签 completed the task: already a row above
        node = flow_class.instance.node(event.from_node or event.to_node, no_obsolete=True) if flow_class else None
        to_node = flow_class.instance.node(event.to_node, no_obsolete=True) if flow_class and event.to_node else None
        actor = event.actor
        rows.append({
            "when": event.created_at,
            "who": _name(actor) if actor else "系统",
            "who_label": on_behalf_label(actor, event.on_behalf_of) if actor else "系统",
            "on_behalf_of": _name(event.on_behalf_of),
            "step": _step(node) if node else _node_names(flow_class, event.from_node),
            "op": event.op,
            "op_label": event.get_op_display(),
            "from": _name(event.from_person) or (_step(node) if node else ""),
            "to": _name(event.to_person) or (_step(to_node) if to_node else ""),
            "opinion": "",
            "reason": event.reason,
            "task_id": event.task_id,
        })
    rows.sort(key=lambda r: (r["when"], r["task_id"] or 0))
    return rows
