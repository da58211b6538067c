"""Gateway nodes viewflow 2.4 open source lacks: a multi-instance split (会签 over a run-time list) and a Join with
a completion policy (all / N-of-M / any-veto). STACK.md §2, §12."""

from __future__ import annotations

from typing import Any

from viewflow import this
from viewflow.workflow import flow
from viewflow.workflow.activation import Activation
from viewflow.workflow.nodes.join import JoinActivation
from viewflow.workflow.nodes.split import SplitActivation
from viewflow.workflow.status import STATUS

VETO = "veto"
APPROVE = "agree"


class DataSplitActivation(SplitActivation):
    @Activation.status.super()
    def activate(self):
        for node, case, data_source in self.flow_task._branches:
            if case and not case(self):
                continue
            if data_source is None:
                self.next_tasks.append((node, None))
                continue
            for item in data_source(self):
                # Each branch gets its own copy: task.data is mutated later (routing, outcome).
                self.next_tasks.append((node, dict(item)))
        if not self.next_tasks and self.flow_task._empty_next is not None:
            # An empty run-time list (会签 nobody) is not an error: go straight on.
            self.next_tasks.append((self.flow_task._empty_next, None))
        # With neither, SplitActivation's FlowRuntimeError applies: an empty split must be designed, not silent.
        if not self.next_tasks:
            super().activate.original()


class DataSplit(flow.Split):
    """`Next(node, case=None, data_source=None)`: one `node` task per item of `data_source(activation)`, each item
    as that task's `task.data`. `Empty(node)`: where to go when every branch is skipped or the list is empty."""

    activation_class = DataSplitActivation

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._empty_next = None

    def Next(self, node, case=None, data_source=None):
        self._activate_next.append((node, case, data_source))
        return self

    def Empty(self, node):
        self._empty_next = node
        return self

    def _resolve(self, instance):
        super()._resolve(instance)
        self._empty_next = this.resolve(instance, self._empty_next)
        for node, _case, data_source in self._activate_next:
            if data_source is not None:
                node._multi_instance = True  # BPMN multiInstanceLoopCharacteristics (STACK.md §12)

    def _outgoing(self):
        yield from super()._outgoing()
        if self._empty_next is not None:
            from viewflow.workflow.base import Edge

            yield Edge(src=self, dst=self._empty_next, edge_class="default")


# --- Join with a completion policy --------------------------------------------------------------------------


def _outcome(task) -> str:
    return str((task.data or {}).get("outcome") or APPROVE)


class PolicyJoinActivation(JoinActivation):
    def arrived(self) -> list:
        """Branch tasks that reached this Join (a returned or 加签'd task does not arrive; its successor does)."""
        return list(self.task.previous.filter(status=STATUS.DONE).order_by("finished", "pk"))

    def vetoed_by(self):
        """The arrived countersign task that vetoed, if any."""
        return next((t for t in self.arrived() if _outcome(t) == VETO), None)

    @Activation.status.super()
    def create_next(self):
        veto = self.vetoed_by() if self.flow_task.policy_for(self)[0] == "veto" else None
        on_veto = self.flow_task._on_veto
        if veto is not None and on_veto is not None:
            data = {"routing": {"vetoed": {"task": veto.pk, "by": veto.owner_id,
                                           "reason": (veto.data or {}).get("opinion", "")}}}
            yield on_veto._create(self, self.task.token, data=data)
            return
        yield from super().create_next.original()


class PolicyJoin(flow.Join):
    """会签 completion policy.

    - ``"all"``: every branch done (viewflow's own Join).
    - ``"n_of_m"`` with ``required=N``: continue once N branches arrived agreeing; the open ones are cancelled.
    - ``"veto"``: the first branch arriving with ``data["outcome"] == "veto"`` cancels the open siblings and
      continues to ``on_veto`` (e.g. this.redraft), or along ``.Next()`` when ``on_veto`` is None.

    ``policy`` is a string or a callable ``(activation) -> {"policy": ..., "required": N}``, so a flow can take the
    policy chosen when 会签 was configured (process.data) — ``PolicyJoin(policy=this.countersign_policy)``.
    """

    activation_class = PolicyJoinActivation

    def __init__(self, policy: Any = "all", required: int | None = None, on_veto=None, **kwargs):
        if isinstance(policy, str):
            _check_policy(policy, required)
        self._policy, self._required = policy, required
        super().__init__(continue_on_condition=self._policy_met, **kwargs)
        self._on_veto = on_veto

    def _resolve(self, instance):
        super()._resolve(instance)
        self._on_veto = this.resolve(instance, self._on_veto)
        self._policy = this.resolve(instance, self._policy)

    def _outgoing(self):
        yield from super()._outgoing()
        if self._on_veto is not None:
            from viewflow.workflow.base import Edge

            yield Edge(src=self, dst=self._on_veto, edge_class="cond_false")

    def policy_for(self, activation) -> tuple[str, int | None]:
        if not callable(self._policy):
            return self._policy, self._required
        chosen = self._policy(activation) or {}
        policy, required = chosen.get("policy") or "all", chosen.get("required")
        _check_policy(policy, required)
        return policy, required

    @staticmethod
    def _policy_met(activation, active_tasks) -> bool:
        policy, required = activation.flow_task.policy_for(activation)
        arrived = activation.arrived()
        if policy == "veto":
            return any(_outcome(t) == VETO for t in arrived)
        if policy == "n_of_m":
            return len({str(t.token) for t in arrived if _outcome(t) != VETO}) >= required
        return False  # "all": viewflow's own rule (no active branch left)


def _check_policy(policy: str, required: int | None) -> None:
    if policy not in ("all", "n_of_m", "veto"):
        raise ValueError(f"unknown join policy {policy!r}")
    if policy == "n_of_m" and (not isinstance(required, int) or required < 1):
        raise ValueError("n_of_m needs required >= 1")


# --- what people call a node ---------------------------------------------------------------------------------

# Engine nodes without a title of their own get a word, never viewflow's default (the name in Title Case).
ENGINE_WORDS = {
    "START": "发起", "HUMAN_START": "发起", "END": "结束", "JOIN": "汇合", "FUNCTION": "自动处理",
    "PARALLEL_GATEWAY": "分送", "EXCLUSIVE_GATEWAY": "判断", "SWITCH": "判断", "EVENT": "定时处理",
}


def has_own_title(node) -> bool:
    """The node was given a title (``.Annotation(title=…)``), not viewflow's default from its name."""
    title = str(getattr(node, "task_title", "") or "")
    return bool(title) and title != node.name.replace("_", " ").title()


def node_label(node) -> str:
    """The Chinese name of a node for any page: its Annotation title, else a word for what the engine does there
    (汇合, 判断 …). Never the English default ("Cs Mode", "Seal Join", "Dept Review Timeout")."""
    if node is None:
        return ""
    if has_own_title(node):
        return str(node.task_title)
    from viewflow.workflow.nodes.boundary import BoundaryEventMixin

    if isinstance(node, BoundaryEventMixin):
        return "到期提醒"
    return ENGINE_WORDS.get(getattr(node, "task_type", ""), "流程处理")


def is_people_step(node) -> bool:
    """A step people know: a human task or a start (拟稿送审, 来文到达), or an engine node given a title of its own
    (an End such as 退回来文单位). Gateways, joins, timers and untitled ends are the engine's business."""
    from viewflow.workflow.nodes.boundary import BoundaryEventMixin

    if isinstance(node, BoundaryEventMixin):
        return False
    if getattr(node, "task_type", "") in ("HUMAN", "HUMAN_START", "START"):
        return True
    return has_own_title(node) and getattr(node, "task_type", "") != "FUNCTION"


def task_repr(task) -> str:
    """A flow task as the audit log and lists name it: "发文·部门负责人审核（事项 12）", not viewflow's repr."""
    node = task.flow_task if not isinstance(task.flow_task, str) else None
    flow_title = node.flow_class.process_title if node is not None else "流程"
    return f"{flow_title}·{node_label(node) or '事项'}（事项 {task.pk}）"
