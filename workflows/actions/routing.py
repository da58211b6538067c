"""Routing operations on viewflow tasks: 退回 (+ jump-back), 取回, 转办, 加签, 催办, countersign outcome, and the
"opened" marker. STACK.md §12 is the recipe; workflows/routing.py is the node side.

Every operation takes plain arguments (views and the API call them), runs under the process lock in one transaction,
refuses with a Chinese Refusal (or PermissionDenied for someone else's task) before changing anything, and is
audited (do_record_audit) and logged (TaskEvent) inside the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from viewflow.workflow.exceptions import FlowLockFailed
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from oa.actions.audit import do_record_audit
from oa.actions.work import do_see_work
from oa.events import make_work_returned, make_work_urged, send_event_on_commit
from oa.models import Person, WorkItem
from oa.refusals import Refusal
from workflows.actions.opinions import refuse_control_chars_in
from workflows.models import TaskEvent, TaskOpened
from workflows.nodes import node_label, task_repr
from workflows.routing import OPEN, business_data, node_by_name, principal_id, routing_of, spec
from workflows.selectors.routing import (
    WithdrawPlan,
    addsign_node_name,
    plan_withdraw,
    returnable_tasks,
    start_redraft_node_name,
)

REASON_MAX = 500
ADD_MODES = ("before", "after", "parallel")
ROUTING_CARRIED = ("then", "continue_after", "group", "jump_back")  # what a re-created task must keep (STACK §12)


# --- shared guards -------------------------------------------------------------------------------------------


def _reason(reason: str, *, required: bool, what: str) -> str:
    reason = (reason or "").strip()
    if required and not reason:
        raise Refusal("reason_required", f"{what}必须填写理由。", status=400)
    if len(reason) > REASON_MAX:
        raise Refusal("reason_too_long", f"{what}理由不能超过 {REASON_MAX} 字。", status=400)
    refuse_control_chars_in(reason, f"{what}理由")
    return reason


@contextmanager
def _locked(task: Task) -> Iterator[Any]:
    """task.activation(): process lock + transaction + refresh_from_db; a lock timeout becomes a Refusal."""
    try:
        with task.activation() as activation:
            yield activation
    except FlowLockFailed as exc:
        raise Refusal("busy", "该事项正在由他人处理，请稍后再试。", status=409) from exc


def _require_open_own(user: Person, activation) -> Task:
    task = activation.task
    if not hasattr(activation.flow_task, "can_execute"):  # a Join, gateway or timer: nobody's step
        raise Refusal("not_a_step", "这不是需要人办理的环节。", status=400)
    if task.status not in (STATUS.ASSIGNED, STATUS.STARTED):
        raise Refusal("work_closed", "该事项已办结或已撤销，不能再操作。", status=409)
    if task.owner_id == user.pk and isinstance(user, Person) and not Task.owner.is_cached(task):
        # task.activation() refreshed the task, dropping its cached owner: the owner is the person at hand, so
        # can_execute (and the inbox receiver after it) need not read the same row again.
        task.owner = user
    if not activation.flow_task.can_execute(user, task):
        raise PermissionDenied("您不是该事项的办理人。")
    return task


def _principal(task: Task) -> Person | None:
    pid = routing_of(task).get("on_behalf_of")
    return Person.objects.filter(pk=pid).first() if pid else None


def _flow_name(task: Task) -> str:
    return task.process.flow_class.__name__ if task.process.flow_class else ""


def _audit(user: Person, action: str, task: Task, ip: str | None, **changes: Any) -> None:
    do_record_audit(
        actor=user, action=action, obj=task, object_repr=task_repr(task), ip=ip, on_behalf_of=_principal(task),
        changes={"flow": _flow_name(task), "process": task.process_id, "node": task.flow_task.name, **changes},
    )


def _complete_with_route(activation, route: dict) -> list[Task]:
    """Finish the current task with `route` in its routing data; create_next() creates exactly route["next"]."""
    task = activation.task
    if task.status == STATUS.ASSIGNED:
        activation.start(None)
    routing = routing_of(task)
    routing["route"] = route
    task.data = {**(task.data or {}), "routing": routing}
    # The step's own deadline timer (OnTimeout) also has it as previous and existed before: not a next task.
    before = set(Task.objects.filter(previous=task).values_list("pk", flat=True))
    activation.execute()
    return list(Task.objects.filter(previous=task).exclude(pk__in=before).order_by("pk"))


def _cancel(task: Task) -> None:
    task.flow_task.activation_class(task).cancel()


def _node_title(node) -> str:
    return node_label(node)


def _todo_item(task: Task) -> WorkItem | None:
    return WorkItem.objects.filter(ref=f"viewflow.task:{task.pk}", box=WorkItem.Box.TODO, owner_id=task.owner_id).first()


# --- 退回 (send back), with jump-back ----------------------------------------------------------------------


def check_return_task(
    user: Person, task: Task, target_task_id: int, reason: str, jump_back: bool | None = None, *, ip: str | None = None
) -> Task:
    """退回 to an earlier DONE step (its node, business data and principal). With jump-back the returned-to task,
    once done, goes straight back to the returner's step; otherwise the chain is walked again."""
    reason = _reason(reason, required=True, what="退回")
    with _locked(task) as activation:
        task = _require_open_own(user, activation)
        flow_class = activation.flow_class
        target = next((t for t in returnable_tasks(task) if t.pk == int(target_task_id)), None)
        if target is None:
            raise Refusal("return_target_invalid", "只能退回到本流程中已办理过的前序环节。", status=400)
        if jump_back is None:
            jump_back = bool(getattr(flow_class, "return_jump_back", True))

        target_node = target.flow_task
        if target_node.task_type in ("START", "HUMAN_START"):
            target_node = node_by_name(flow_class, start_redraft_node_name(flow_class))
        token = task.token
        in_branch = task.token.is_split_token() and not str(target.token).startswith(str(task.token))
        if in_branch and not jump_back:
            # Walk again from outside the 会签: reset the parallel section so the next pass makes a new split.
            prefix = str(task.token).rsplit("_", 1)[0] + "_"
            for sibling in Task.objects.filter(process=task.process, token__startswith=prefix, status__in=OPEN).exclude(
                pk=task.pk
            ):
                _cancel(sibling)
            base = task.token.get_base_split_token()
            for join in Task.objects.filter(
                process=task.process, flow_task_type="JOIN", status__in=(STATUS.NEW, STATUS.STARTED), token=base
            ):
                _cancel(join)
            token = base
        # (With jump-back the returned-to task keeps the branch token, so the Join keeps waiting for it.)
        group = routing_of(task).get("group")
        if group:  # 并加签: the other open members are moot once the step is sent back
            for member in Task.objects.filter(
                process=task.process, data__routing__group__id=group["id"], status__in=OPEN
            ).exclude(pk=task.pk):
                _cancel(member)

        mine = routing_of(task)
        stack = list(mine.get("jump_back") or [])
        if jump_back:
            carried = {k: mine[k] for k in ("then", "continue_after") if k in mine}
            stack.append(spec(task.flow_task.name, task.token, principal_id(task), business_data(task), **carried))
        owner_id = principal_id(target) if target.owner_id else None
        returned = {"from_task": task.pk, "from_node": task.flow_task.name, "by": user.pk, "reason": reason}
        extra: dict[str, Any] = {"returned": returned}
        if stack:
            extra["jump_back"] = stack
        nxt = spec(target_node.name, token, owner_id, business_data(target), **extra)
        route = {"op": "return", "target_task": target.pk, "reason": reason, "jump_back": bool(jump_back), "next": [nxt]}
        new_tasks = _complete_with_route(activation, route)
        new = new_tasks[0]
        TaskEvent.objects.create(
            process=task.process, task=task, new_task=new, op=TaskEvent.Op.RETURN, actor=user,
            on_behalf_of=_principal(task), from_node=task.flow_task.name, to_node=target_node.name,
            from_person=user, to_person=new.owner, reason=reason,
            data={"target_task": target.pk, "jump_back": bool(jump_back)},
        )
        _audit(user, "flow.task_return", task, ip, target_task=target.pk, to_node=target_node.name,
               new_task=new.pk, reason=reason, jump_back=bool(jump_back))
        item = _todo_item(new)
        if item is not None:
            send_event_on_commit(make_work_returned(item, by=user, reason=reason), [new.owner_id],
                                  work_item=item)
    return new


# --- 取回 (withdraw) -------------------------------------------------------------------------------------------


def check_withdraw_task(user: Person, done_task: Task, *, ip: str | None = None) -> Task:
    """取回: the sender takes a DONE step back while the next handler has not opened (or done) theirs."""
    flow_class = done_task.process.flow_class
    try:
        with flow_class.lock(done_task.process_id), transaction.atomic():
            task = Task.objects.select_related("process").get(pk=done_task.pk)
            plan: WithdrawPlan = plan_withdraw(user, task)
            if plan.refusal:
                code, message, status = plan.refusal
                if status == 403:
                    raise PermissionDenied(message)
                raise Refusal(code, message, status)
            for nxt in plan.cancel:
                _cancel(nxt)
            node = task.flow_task
            if node.task_type in ("START", "HUMAN_START"):
                node = node_by_name(flow_class, start_redraft_node_name(flow_class))
            mine = routing_of(task)
            carried = {k: mine[k] for k in ROUTING_CARRIED if k in mine}
            withdrawn = {"from_tasks": [t.pk for t in plan.cancel], "at": timezone.now().isoformat()}
            entry = spec(node.name, task.token, user.pk, business_data(task), no_delegation=True,
                         withdrawn=withdrawn, **carried)
            sender = task.flow_task.activation_class(task)
            new_activation = node._create(sender, task.token, data=entry["data"])
            sender._activate_next({new_activation})
            new = new_activation.task
            if plan.cancel:
                new.previous.add(*plan.cancel)
            TaskEvent.objects.create(
                process=task.process, task=task, new_task=new, op=TaskEvent.Op.WITHDRAW, actor=user,
                from_node=",".join(sorted({t.flow_task.name for t in plan.cancel})), to_node=node.name,
                from_person=plan.cancel[0].owner if plan.cancel else None, to_person=user,
                data={"cancelled": [t.pk for t in plan.cancel]},
            )
            _audit(user, "flow.task_withdraw", task, ip, cancelled=[t.pk for t in plan.cancel], new_task=new.pk)
    except FlowLockFailed as exc:
        raise Refusal("busy", "该事项正在由他人处理，请稍后再试。", status=409) from exc
    return new


# --- 转办 (reassign within the role) ---------------------------------------------------------------------------


def _same_role(task: Task, person: Person) -> bool:
    flow = task.process.flow_class.instance
    hook: Callable[[Task, Person], bool] | None = getattr(flow, "same_role", None)
    if hook is not None:
        return bool(hook(task, person))
    return bool(task.owner_permission) and person.has_perm(task.owner_permission)


def check_reassign_task(user: Person, task: Task, new_owner: Person, reason: str = "", *, ip: str | None = None) -> Task:
    """转办: the owner hands the open task to a colleague in the same role; the history keeps both names."""
    reason = _reason(reason, required=False, what="转办")
    with _locked(task) as activation:
        task = _require_open_own(user, activation)
        if task.status != STATUS.ASSIGNED:
            raise Refusal("work_started", "该事项已开始办理，不能转办。", status=409)
        if not new_owner.is_active:
            raise Refusal("reassign_inactive", f"{new_owner.get_full_name()} 的账号已停用，不能接收转办。", status=400)
        if new_owner.pk == task.owner_id:
            raise Refusal("reassign_same", "不能转办给自己。", status=400)
        if not _same_role(task, new_owner):
            raise Refusal(
                "reassign_not_same_role",
                f"{new_owner.get_full_name()} 不具备「{_node_title(task.flow_task)}」环节的办理岗位，不能转办。",
                status=400,
            )
        previous_owner = task.owner
        routing = routing_of(task)
        for key in ("on_behalf_of", "delegation_id"):
            routing.pop(key, None)  # the new holder acts in their own name
        routing.update(owner_id=new_owner.pk, reassigned_from=previous_owner.pk)
        task.data = {**(task.data or {}), "routing": routing}
        activation.reassign(user=new_owner)  # saves; the inbox moves the 待办 (workflows/inbox.py)
        TaskEvent.objects.create(
            process=task.process, task=task, op=TaskEvent.Op.REASSIGN, actor=user, from_node=task.flow_task.name,
            to_node=task.flow_task.name, from_person=previous_owner, to_person=new_owner, reason=reason,
        )
        _audit(user, "flow.task_reassign", task, ip, from_person=previous_owner.pk, to_person=new_owner.pk,
               reason=reason)
    return task


# --- 加签 (add a signer) ---------------------------------------------------------------------------------------


def check_add_signer(
    user: Person, task: Task, signer: Person, mode: str = "before", reason: str = "", *, ip: str | None = None
) -> Task:
    """加签: before (the signer first, then back to me), after (the signer instead of my successor's arrival, then
    on), or parallel (both of us; the last to finish continues). Returns the signer's new task."""
    reason = _reason(reason, required=False, what="加签")
    if mode not in ADD_MODES:
        raise Refusal("addsign_mode", "加签方式只能是前加签、后加签或并加签。", status=400)
    with _locked(task) as activation:
        task = _require_open_own(user, activation)
        flow_class = activation.flow_class
        try:
            addsign = node_by_name(flow_class, addsign_node_name(flow_class))
        except LookupError:
            raise Refusal("addsign_unsupported", "该流程不支持加签。", status=400) from None
        if not signer.is_active:
            raise Refusal("addsign_inactive", f"{signer.get_full_name()} 的账号已停用，不能加签。", status=400)
        if signer.pk == user.pk or signer.pk == task.owner_id:
            raise Refusal("addsign_self", "不能给自己加签。", status=400)
        node_name = task.flow_task.name
        if mode == "parallel":
            if routing_of(task).get("group") is None:
                routing = routing_of(task)
                routing["group"] = {"id": uuid.uuid4().hex, "node": node_name}
                task.data = {**(task.data or {}), "routing": routing}
                task.save(update_fields=["data"])
            group = routing_of(task)["group"]
            entry = spec(addsign.name, task.token, signer.pk, {}, group=group, added_by=user.pk)
            new_activation = addsign._create(activation, task.token, data=entry["data"])
            activation._activate_next({new_activation})
            new = new_activation.task
        else:
            mine = routing_of(task)
            if mode == "before":
                then = spec(node_name, task.token, principal_id(task), business_data(task),
                            **{k: mine[k] for k in ("jump_back", "continue_after") if k in mine})
                entry = spec(addsign.name, task.token, signer.pk, {}, then=then, added_by=user.pk)
            else:
                entry = spec(addsign.name, task.token, signer.pk, {}, continue_after={"node": node_name},
                             added_by=user.pk)
            route = {"op": f"addsign_{mode}", "signer": signer.pk, "reason": reason, "next": [entry]}
            new = _complete_with_route(activation, route)[0]
        TaskEvent.objects.create(
            process=task.process, task=task, new_task=new, op=TaskEvent.Op.ADD_SIGNER, actor=user,
            on_behalf_of=_principal(task), from_node=node_name, to_node=addsign.name, from_person=user,
            to_person=new.owner, reason=reason, data={"mode": mode},
        )
        _audit(user, "flow.task_add_signer", task, ip, mode=mode, signer=signer.pk, new_task=new.pk, reason=reason)
    return new


# --- 会签 outcome --------------------------------------------------------------------------------------------


def check_countersign_task(
    user: Person, task: Task, outcome: str, opinion: str = "", *, ip: str | None = None
) -> Task:
    """Complete a 会签 task agreeing ("agree") or vetoing ("veto", opinion required); the Join's policy decides."""
    from workflows.nodes import APPROVE, VETO

    if outcome not in (APPROVE, VETO):
        raise Refusal("outcome_invalid", "会签结果只能是同意或不同意。", status=400)
    opinion = _reason(opinion, required=outcome == VETO, what="不同意会签")
    with _locked(task) as activation:
        task = _require_open_own(user, activation)
        if task.status == STATUS.ASSIGNED:
            activation.start(None)
        task.data = {**(task.data or {}), "outcome": outcome, **({"opinion": opinion} if opinion else {})}
        activation.execute()
        if outcome == VETO:
            TaskEvent.objects.create(
                process=task.process, task=task, op=TaskEvent.Op.VETO, actor=user, on_behalf_of=_principal(task),
                from_node=task.flow_task.name, from_person=user, reason=opinion,
            )
        _audit(user, "flow.task_complete", task, ip, outcome=outcome, opinion=opinion)
    return task


# --- 催办 (urge) -------------------------------------------------------------------------------------------------


def _may_urge(user: Person, task: Task) -> bool:
    process = task.process
    if user.is_superuser or str((process.data or {}).get("initiator_id")) == str(user.pk):
        return True
    # Anyone who already handled a step of this process (the sender, earlier handlers) may urge the current one.
    return Task.objects.filter(process=process, owner=user, status=STATUS.DONE).exists()


def check_urge_task(user: Person, task: Task, message: str = "", *, ip: str | None = None) -> int:
    """催办: notify the owner of an open task; the count and time are kept on the task. Returns the new count."""
    message = _reason(message, required=False, what="催办")
    with _locked(task) as activation:
        task = activation.task
        if task.status not in (STATUS.ASSIGNED, STATUS.STARTED) or task.owner_id is None:
            raise Refusal("work_closed", "该事项已办结或已撤销，无需催办。", status=409)
        if task.owner_id == user.pk:
            raise Refusal("urge_self", "不能催办自己的事项。", status=400)
        if not _may_urge(user, task):
            raise PermissionDenied("只有发起人或前序办理人可以催办。")
        return do_urge_task(task, by=user, message=message, ip=ip)


def do_urge_task(task: Task, *, by: Person | None, message: str = "", ip: str | None = None) -> int:
    """Count, log, audit and notify one 催办 (by a person, or by the system when a step is overdue: ``by=None``).
    The caller holds the process lock and has checked that the task is open."""
    routing = routing_of(task)
    count = int((routing.get("urged") or {}).get("count") or 0) + 1
    routing["urged"] = {"count": count, "last_at": timezone.now().isoformat(), "last_by": by.pk if by else None}
    task.data = {**(task.data or {}), "routing": routing}
    task.save(update_fields=["data"])
    TaskEvent.objects.create(
        process=task.process, task=task, op=TaskEvent.Op.URGE, actor=by, from_node=task.flow_task.name,
        to_node=task.flow_task.name, from_person=by, to_person=task.owner, reason=message,
        data={"count": count, "automatic": by is None},
    )
    if by is None:
        do_record_audit(actor=None, actor_name="系统（超期催办）", action="flow.task_urge", obj=task, object_repr=task_repr(task), changes={
            "flow": _flow_name(task), "process": task.process_id, "node": task.flow_task.name, "count": count,
            "owner": task.owner_id, "message": message, "automatic": True})
    else:
        _audit(by, "flow.task_urge", task, ip, count=count, owner=task.owner_id, message=message)
    item = _todo_item(task)
    if item is not None:
        send_event_on_commit(make_work_urged(item, count=count, by=by), [task.owner_id], work_item=item)
    return count


# --- opened marker -----------------------------------------------------------------------------------------------


def do_mark_task_opened(task: Task, person: Person) -> bool:
    """The owner opened the task (execute page GET): 取回 is refused from now on. True the first time only."""
    if task.owner_id != person.pk or task.status not in (STATUS.ASSIGNED, STATUS.STARTED):
        return False
    _, created = TaskOpened.objects.get_or_create(task=task, person=person)
    do_see_work(person, f"viewflow.task:{task.pk}")  # its 待办 is opened and its notifications read
    return created


# Shared with the flows' own step actions (workflows.actions.issuance …): the same lock, the same refusals.
locked_task = _locked
require_open_own = _require_open_own
principal_of = _principal
