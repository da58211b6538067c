"""RView: a flow.View whose next step and owner can be steered at run time (STACK.md §12).

task.data layout: business keys at the top level (a countersign's "dept_id"), routing metadata under "routing":
- "owner_id"        pin the owner (退回 to the person who did the step, 取回, 加签 signer); else `.Assign()` applies
- "no_delegation"   skip 委托 for this task (取回: the sender takes back his own work)
- "on_behalf_of", "delegation_id"   written by calc_owner() when 委托 applied (B 代 A)
- "route"           set by an operation on the task being completed: {"op", "next": [spec, ...], ...}
                    spec = {"node", "token", "data"}; create_next() creates exactly these tasks
- "jump_back"       stack of specs (top = last) the returned-to task jumps back to instead of walking `.Next()`
- "then"            加签 before: the spec to create when the signer is done (the original step again)
- "continue_after"  加签 after: {"node"}: continue as that node would have
- "group"           并加签: {"id", "node"}; the last open member continues as "node" would have
- "returned", "withdrawn", "vetoed"   where the task came from, for the trace
Routing is flow-agnostic: a flow sets `delegation_kind` ("issuance", "receipt" …), `return_jump_back` (default for
退回), `start_redraft_node` (the node standing in for Start, default "redraft"), `addsign_node` (default "addsign").
"""

from __future__ import annotations

from typing import Any

from viewflow.workflow import flow
from viewflow.workflow.activation import Activation
from viewflow.workflow.nodes.view import ViewActivation
from viewflow.workflow.status import STATUS
from viewflow.workflow.token import Token

from oa.models import Person
from oa.selectors.delegation import resolve_assignee

OPEN = (STATUS.NEW, STATUS.ASSIGNED, STATUS.STARTED)


def business_data(task) -> dict[str, Any]:
    """The task's own data without routing metadata or per-completion keys: what a re-created task carries."""
    return {k: v for k, v in (task.data or {}).items() if k not in ("routing", "opinion", "outcome")}


def routing_of(task) -> dict[str, Any]:
    return dict((task.data or {}).get("routing") or {})


def principal_id(task) -> int | None:
    """Whose step it is: the principal when done "B 代 A", else the owner."""
    value = routing_of(task).get("on_behalf_of")
    return int(value) if value else task.owner_id


def node_by_name(flow_class, name: str):
    node = flow_class.instance.node(name, no_obsolete=True)
    if node is None:
        raise LookupError(f"{flow_class.__name__} has no node {name!r}")
    return node


def delegation_kind(flow_class) -> str:
    return getattr(flow_class, "delegation_kind", "") or f"{flow_class.__module__}.{flow_class.__name__}"


def spec(node_name: str, token, owner_id: int | None, data: dict | None = None, **routing: Any) -> dict[str, Any]:
    """A task to create: node, token, data with the owner pinned and extra routing keys."""
    body = dict(data or {})
    pinned = {**routing}
    if owner_id:
        pinned["owner_id"] = int(owner_id)
    body["routing"] = pinned
    return {"node": node_name, "token": str(token), "data": body}


def _assigned(task) -> None:
    # The flow's on_assign for the new holder (workflows.actions.assignment; imported late: actions import us).
    from workflows.actions.assignment import do_on_assign

    do_on_assign(task)


class RViewActivation(ViewActivation):
    """Every way a step gets a holder ends in the flow's ``on_assign``: created with an owner (assignment, 退回,
    jump-back, 取回, 加签, 委托), assign (claim) and reassign (转办). 工作交接 calls it from workflows.handover."""

    @classmethod
    def create(cls, flow_task, prev_activation, token, data=None, seed=None):
        activation = super().create(flow_task, prev_activation, token, data=data, seed=seed)
        routing = routing_of(activation.task)
        if routing.get("on_behalf_of") and activation.task.owner_id:
            from workflows.models import TaskEvent

            TaskEvent.objects.create(
                process=activation.process, task=activation.task, op=TaskEvent.Op.DELEGATE,
                actor=None, on_behalf_of_id=routing["on_behalf_of"], from_person_id=routing["on_behalf_of"],
                to_person=activation.task.owner, to_node=flow_task.name,
                data={"delegation_id": routing.get("delegation_id")},
            )
        if activation.task.owner_id:
            _assigned(activation.task)
        return activation

    @Activation.status.super()
    def assign(self, user):
        super().assign.original(user)
        _assigned(self.task)

    @Activation.status.super()
    def reassign(self, user=None):
        super().reassign.original(user=user)
        _assigned(self.task)

    def _create_spec(self, entry: dict, **extra_routing: Any):
        node = node_by_name(self.flow_class, entry["node"])
        data = dict(entry.get("data") or {})
        routing = {**(data.get("routing") or {}), **extra_routing}
        if entry.get("owner_id") and "owner_id" not in routing:
            routing["owner_id"] = entry["owner_id"]
        data["routing"] = routing
        return node._create(self, Token(entry.get("token") or str(self.task.token)), data=data)

    def _continue_as(self, node_name: str):
        """Continue as `node_name` would have after its own completion (加签 after, 并加签 end)."""
        node = node_by_name(self.flow_class, node_name)
        if node._next is None:
            return None
        data = node._task_data(self) if getattr(node, "_task_data", None) else {}
        return node._next._create(self, self.task.token, data=data or {})

    @Activation.status.super()
    def create_next(self):
        from workflows.models import TaskEvent

        routing = routing_of(self.task)
        route = routing.get("route")
        if route:
            for entry in route.get("next", []):
                yield self._create_spec(entry)
            return
        group = routing.get("group")
        if group:
            others = self.flow_class.task_class._default_manager.filter(
                process=self.process, data__routing__group__id=group["id"]
            ).exclude(pk=self.task.pk)
            if others.filter(status__in=OPEN).exists():
                return  # 并加签: the last member to finish continues (serialised by the process lock)
            nxt = self._continue_as(group["node"])
            if nxt is not None:
                nxt.task.previous.add(*others.filter(status=STATUS.DONE))
                yield nxt
            return
        stack = list(routing.get("jump_back") or [])
        if stack:
            entry = stack.pop()
            nxt = self._create_spec(entry, jump_back=stack) if stack else self._create_spec(entry)
            TaskEvent.objects.create(
                process=self.process, task=self.task, new_task=nxt.task, op=TaskEvent.Op.JUMP_BACK,
                actor=self.task.owner, on_behalf_of_id=routing.get("on_behalf_of"), from_node=self.flow_task.name,
                to_node=entry["node"], from_person=self.task.owner, to_person=nxt.task.owner,
            )
            yield nxt
            return
        if routing.get("then"):
            yield self._create_spec(routing["then"])
            return
        if routing.get("continue_after"):
            nxt = self._continue_as(routing["continue_after"]["node"])
            if nxt is not None:
                yield nxt
            return
        yield from super().create_next.original()


class RView(flow.View):
    """flow.View with run-time routing (退回, jump-back, 取回, 加签) and 委托 at assignment."""

    activation_class = RViewActivation

    def calc_owner(self, activation):
        task = activation.task
        routing = routing_of(task)
        pinned = routing.get("owner_id")
        owner = Person.objects.filter(pk=pinned, is_active=True).first() if pinned else super().calc_owner(activation)
        if owner is None or routing.get("no_delegation"):
            return owner
        assignment = resolve_assignee(owner, delegation_kind(self.flow_class))
        if assignment.delegated:
            # The task is not saved yet: this lands in its first save (inbox reads routing.on_behalf_of).
            routing.update(on_behalf_of=owner.pk, delegation_id=assignment.delegation.pk)
            task.data = {**(task.data or {}), "routing": routing}
            return assignment.assignee
        return owner
