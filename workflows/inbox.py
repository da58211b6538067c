"""viewflow → inbox: every flow's human tasks and processes mirrored into WorkItem rows, for every flow.

Receivers on viewflow's Task and Process post_save run in the transaction of the flow change (viewflow saves
under its process lock), so a WorkItem never exists without its task nor outlives it. The receivers only
translate; the writes and events are oa.actions.work's.

What a flow puts in process.data feeds the inbox: "title", "urgency" (0/1/2), "doc_number" (文号),
"initiator_id", "agency_id", "deadline" (ISO 8601; task.data["deadline"] wins for one step).
委托 comes from task.data["routing"]["on_behalf_of"] (set by calc_owner, STACK.md §12).
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db.models.signals import post_save
from django.utils.dateparse import parse_datetime
from viewflow.workflow.fields import import_task_by_ref
from viewflow.workflow.models import Process, Task
from viewflow.workflow.status import PROCESS, STATUS

from oa.actions.work import do_assign_work, do_close_work
from oa.models import Agency, Person, WorkItem
from oa.work import WorkAction, WorkKind, register_work_kind
from workflows.actions import check_complete_task, on_behalf_of_id
from workflows.nodes import node_label
from workflows.selectors.routing import arrival_note, return_note

logger = logging.getLogger(__name__)

KIND = "flow_task"
OPEN_TASK = (STATUS.ASSIGNED, STATUS.STARTED)
COMPLETE = WorkAction(key="complete", label="办理完成", style="primary", needs_opinion=False)


def task_ref(task_id: int) -> str:
    return f"viewflow.task:{task_id}"


def process_ref(process_id: int) -> str:
    return f"viewflow.process:{process_id}"


def task_id_from_ref(ref: str) -> int | None:
    prefix, _, pk = ref.partition(":")
    return int(pk) if prefix == "viewflow.task" and pk.isdigit() else None


# --- reading what the flow wrote ---------------------------------------------------------------------------


def _node(task: Task):
    node = task.flow_task
    if isinstance(node, str):  # an unsaved instance keeps the dotted string
        try:
            node = import_task_by_ref(node)
        except (ImportError, AttributeError, ValueError):
            return None
    return node


def _step(task: Task) -> str:
    node = _node(task)
    return node_label(node)


def _person(pk) -> Person | None:
    try:
        return Person.objects.filter(pk=int(pk)).first() if pk else None
    except (TypeError, ValueError):
        return None


def _deadline(*sources: dict) -> dt.datetime | None:
    for data in sources:
        raw = data.get("deadline")
        if raw:
            parsed = parse_datetime(str(raw))
            if parsed is not None:
                return parsed
    return None


def _urgency(data: dict) -> int:
    try:
        value = int(data.get("urgency") or 0)
    except (TypeError, ValueError):
        return 0
    return value if value in WorkItem.Urgency.values else 0


def _title(process: Process) -> str:
    data = process.data or {}
    flow_class = process.flow_class
    return str(data.get("title") or getattr(flow_class, "process_title", "") or "流程待办")


def _common(process: Process) -> dict:
    data = process.data or {}
    agency_id, initiator_id = data.get("agency_id"), data.get("initiator_id")
    # The initiator and agency of a process never change: one lookup per process object, not per task saved.
    memo = getattr(process, "_inbox_people", None)
    if memo is None or memo[0] != (agency_id, initiator_id):
        memo = ((agency_id, initiator_id), _person(initiator_id),
                Agency.objects.filter(pk=agency_id).first() if agency_id else None)
        process._inbox_people = memo
    return {
        "kind": KIND,
        "title": _title(process),
        "initiator": memo[1],
        "agency": memo[2],
        "doc_number": str(data.get("doc_number") or ""),
        "urgency": _urgency(data),
    }


# --- receivers -----------------------------------------------------------------------------------------------


def sync_task(task: Task, *, created: bool = False) -> None:
    if task.flow_task_type != "HUMAN" or task.pk is None:
        return
    ref = task_ref(task.pk)
    if task.status in OPEN_TASK and task.owner_id:
        if not created:
            # Reassigned (转办, handover by viewflow): the previous holder's item is withdrawn. A task just
            # inserted has no item yet, so nothing to withdraw (saves a locked SELECT on every new step).
            do_close_work(ref=ref, box=WorkItem.Box.TODO, exclude_owner_id=task.owner_id,
                          state=WorkItem.State.CANCELLED)
        process = task.process
        step = _step(task)
        node = _node(task)
        do_assign_work(
            ref=ref,
            box=WorkItem.Box.TODO,
            owner=task.owner,
            on_behalf_of=_person(on_behalf_of_id(task)),
            step=step,
            # Steps with a page of their own (发文 …) open there; the rest on the workbench's item page.
            link=node.step_url(task) if hasattr(node, "step_url") else "",
            deadline=_deadline(task.data or {}, process.data or {}),
            note=arrival_note(task),  # 被 李娜 退回：理由
            thread=process_ref(process.pk),  # 已办: one row per process, the last step done
            new_ref=created,  # a task just inserted has no item yet (its id is new): no locked lookup
            **_common(process),
        )
        # 我发起 shows where the work is now (a flow nobody initiated, e.g. a 收文 that arrived, has no such item).
        if (process.data or {}).get("initiator_id"):
            WorkItem.objects.filter(ref=process_ref(process.pk), box=WorkItem.Box.INITIATED).exclude(
                step=step).update(step=step[:100])
    elif task.status == STATUS.DONE:
        returned = return_note(task)  # a 退回 did not pass the step: 已办 says 已退回, not 办结
        do_close_work(ref=ref, box=WorkItem.Box.TODO, state=WorkItem.State.DONE, by=task.owner,
                      outcome="returned" if returned else "", note=returned)
    elif task.status in (STATUS.CANCELED, STATUS.REVIVED, STATUS.NEW):
        # NEW again means unassigned: back in a queue, no longer anybody's 待办.
        do_close_work(ref=ref, box=WorkItem.Box.TODO, state=WorkItem.State.CANCELLED)


def sync_process(process: Process) -> None:
    ref = process_ref(process.pk)
    if process.status == PROCESS.NEW:
        initiator = _person((process.data or {}).get("initiator_id"))
        if initiator is None:
            return
        common = _common(process)
        common.pop("initiator")
        do_assign_work(
            ref=ref,
            box=WorkItem.Box.INITIATED,
            owner=initiator,
            initiator=initiator,
            deadline=_deadline(process.data or {}),
            notify=False,
            **common,
        )
    else:
        state = WorkItem.State.DONE if process.status == PROCESS.DONE else WorkItem.State.CANCELLED
        do_close_work(ref=ref, box=WorkItem.Box.INITIATED, state=state)


def _on_task_saved(sender, instance: Task, created: bool = False, **kwargs) -> None:
    sync_task(instance, created=created)


def _on_process_saved(sender, instance: Process, **kwargs) -> None:
    sync_process(instance)


# --- the flow_task work kind ---------------------------------------------------------------------------------


def _task_for(item: WorkItem) -> Task | None:
    pk = task_id_from_ref(item.ref)
    if pk is None:
        return None
    return Task.objects.select_related("owner", "process").filter(pk=pk).first()


def flow_task_actions(item: WorkItem, user: Person) -> list[WorkAction]:
    if item.box != WorkItem.Box.TODO:
        return []
    task = _task_for(item)
    node = _node(task) if task else None
    if task is None or node is None or task.status not in OPEN_TASK:
        return []
    if hasattr(node, "inbox_actions"):
        return node.inbox_actions(task, user)  # a node with its own decisions (会议室审批: 同意/不同意)
    if hasattr(node, "step_url"):
        return []  # done on its own step page (opinions, 2FA, the step's act): never a bare "办理完成"
    return [COMPLETE] if node.can_execute(user, task) else []


def perform_flow_task(user: Person, item: WorkItem, action_key: str, data: dict) -> None:
    task = _task_for(item)
    node = _node(task) if task else None
    if node is not None and hasattr(node, "inbox_perform"):
        node.inbox_perform(user, task, action_key, data)
        return
    if task is None or action_key != COMPLETE.key:
        raise ValueError(f"flow_task cannot {action_key!r} {item.ref}")
    check_complete_task(user, task, data.get("opinion", ""), ip=data.get("ip"))


def connect() -> None:
    """Called from WorkflowsConfig.ready()."""
    post_save.connect(_on_task_saved, sender=Task, dispatch_uid="workflows.inbox.task")
    post_save.connect(_on_process_saved, sender=Process, dispatch_uid="workflows.inbox.process")
    register_work_kind(
        WorkKind(key=KIND, label="流程待办", icon="flow", actions=flow_task_actions, perform=perform_flow_task)
    )
