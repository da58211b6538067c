"""The routing engine (workflows/routing.py, nodes.py, actions/routing.py) on a 发文-shaped test flow
(tests/flowapp/flows.py RoutingFlow): 退回 + jump-back / walk, 会签 branches and Join policies, 取回, 转办, 加签,
委托, 催办 — through the actions, on PostgreSQL, checking tasks, TaskEvents, audit entries and notifications."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from viewflow.workflow.models import Task
from viewflow.workflow.status import PROCESS, STATUS

from oa.models import AuditEntry, Notification, WorkItem
from oa.refusals import Refusal
from tests.flowapp.flows import RoutingFlow
from workflows.actions import check_complete_task
from workflows.actions.routing import (
    check_add_signer,
    check_countersign_task,
    check_reassign_task,
    check_return_task,
    check_urge_task,
    check_withdraw_task,
    do_mark_task_opened,
)
from workflows.models import TaskEvent
from workflows.selectors.routing import can_withdraw, process_history, returnable_tasks

pytestmark = pytest.mark.django_db

OPEN = (STATUS.NEW, STATUS.ASSIGNED, STATUS.STARTED)


def start(cast, *, countersign=("finance01", "finance02"), policy=None, roles=None, reviewer="lina"):
    people = [getattr(cast, name) for name in countersign]
    return RoutingFlow.start.run(
        title="关于做好2026年防汛工作的通知",
        initiator_id=cast.zhangwei.pk,
        reviewer_id=getattr(cast, reviewer).pk,
        office_id=cast.liuyang.pk,
        signer_id=cast.huangjianhua.pk,
        countersign=[{"dept_id": n + 1, "signer_id": p.pk} for n, p in enumerate(people)],
        policy=policy or {"policy": "all"},
        roles=roles or {},
    )


def open_tasks(process, node=None):
    qs = Task.objects.filter(process=process, status__in=OPEN, flow_task_type="HUMAN")
    if node is not None:
        qs = qs.filter(flow_task=node)
    return list(qs.order_by("pk"))


def one(process, node) -> Task:
    tasks = open_tasks(process, node)
    assert len(tasks) == 1, tasks
    return tasks[0]


def done(person, task, opinion="同意。") -> None:
    check_complete_task(person, Task.objects.get(pk=task.pk), opinion)


def to_countersign(cast, process):
    done(cast.lina, one(process, RoutingFlow.review))
    done(cast.liuyang, one(process, RoutingFlow.office))
    return open_tasks(process, RoutingFlow.countersign)


def to_signoff(cast, process) -> Task:
    for task in to_countersign(cast, process):
        done(task.owner, task)
    return one(process, RoutingFlow.signoff)


def state(process) -> list[tuple[str, str, int | None]]:
    """Every task row of the process: node, status, owner (to prove a refusal changed nothing)."""
    return [(t.flow_task.name, t.status, t.owner_id) for t in Task.objects.filter(process=process).order_by("pk")]


def audits(action):
    return AuditEntry.objects.filter(action=action)


# --- the plain chain ----------------------------------------------------------------------------------------------


def test_whole_chain_with_countersign_reaches_register_and_end(cast):
    process = start(cast)
    countersigns = to_countersign(cast, process)
    assert sorted(t.data["dept_id"] for t in countersigns) == [1, 2]
    assert {t.owner.username for t in countersigns} == {"finance01", "finance02"}
    assert len({str(t.token) for t in countersigns}) == 2
    done(cast.finance01, countersigns[0])
    assert open_tasks(process, RoutingFlow.signoff) == []  # the Join waits for the second department
    done(cast.finance02, countersigns[1])
    signoff = one(process, RoutingFlow.signoff)
    done(cast.huangjianhua, signoff)
    process.refresh_from_db()
    assert process.status == PROCESS.DONE and process.data["registered"] is True
    assert Task.objects.filter(process=process, flow_task=RoutingFlow.join, status=STATUS.DONE).count() == 1


def test_empty_countersign_list_goes_straight_to_signoff(cast):
    process = start(cast, countersign=())
    done(cast.lina, one(process, RoutingFlow.review))
    done(cast.liuyang, one(process, RoutingFlow.office))
    assert open_tasks(process, RoutingFlow.countersign) == []
    assert one(process, RoutingFlow.signoff).owner == cast.huangjianhua


# --- 退回 -----------------------------------------------------------------------------------------------------------


def test_return_to_draft_then_jump_back_skips_the_steps_in_between(cast):
    process = start(cast)
    signoff = to_signoff(cast, process)
    targets = {t.flow_task.name for t in returnable_tasks(signoff)}
    assert {"start", "review", "office", "countersign"} <= targets and "signoff" not in targets
    start_task = Task.objects.get(process=process, flow_task=RoutingFlow.start)

    redraft = check_return_task(cast.huangjianhua, signoff, start_task.pk, "标题与主送机关不一致，请修改。")

    signoff.refresh_from_db()
    assert signoff.status == STATUS.DONE and signoff.data["routing"]["route"]["op"] == "return"
    assert redraft.flow_task == RoutingFlow.redraft and redraft.owner == cast.zhangwei
    assert redraft.data["routing"]["returned"]["reason"] == "标题与主送机关不一致，请修改。"
    assert list(redraft.previous.all()) == [signoff]
    event = TaskEvent.objects.get(process=process, op="return")
    assert (event.actor, event.to_person, event.to_node) == (cast.huangjianhua, cast.zhangwei, "redraft")
    entry = audits("flow.task_return").get(object_id=str(signoff.pk))
    assert entry.actor == cast.huangjianhua and entry.changes["reason"] == "标题与主送机关不一致，请修改。"
    note = Notification.objects.get(recipient=cast.zhangwei, event_type="work.returned")
    assert "黄建华" in note.summary

    done(cast.zhangwei, redraft, "已修改。")
    # Jump-back: straight to 签发 again, no review/office/会签 in between.
    again = one(process, RoutingFlow.signoff)
    assert again.owner == cast.huangjianhua and again.pk != signoff.pk
    assert open_tasks(process, RoutingFlow.review) == []
    assert TaskEvent.objects.filter(process=process, op="jump_back", new_task=again).exists()
    done(cast.huangjianhua, again)
    process.refresh_from_db()
    assert process.status == PROCESS.DONE


def test_return_without_jump_back_walks_the_chain_again(cast):
    process = start(cast)
    signoff = to_signoff(cast, process)
    review_task = Task.objects.get(process=process, flow_task=RoutingFlow.review)
    again = check_return_task(cast.huangjianhua, signoff, review_task.pk, "请部门再审。", jump_back=False)
    assert again.flow_task == RoutingFlow.review and again.owner == cast.lina
    done(cast.lina, again)
    assert one(process, RoutingFlow.office).owner == cast.liuyang  # the chain is walked again
    second = to_countersign_after_office(cast, process)
    assert len(second) == 2  # a fresh 会签 pass


def to_countersign_after_office(cast, process):
    done(cast.liuyang, one(process, RoutingFlow.office))
    return open_tasks(process, RoutingFlow.countersign)


def test_return_refusals_change_nothing(cast):
    process = start(cast)
    review = one(process, RoutingFlow.review)
    start_task = Task.objects.get(process=process, flow_task=RoutingFlow.start)
    before = state(process)
    with pytest.raises(Refusal) as exc:
        check_return_task(cast.lina, review, start_task.pk, "   ")
    assert exc.value.code == "reason_required" and "理由" in exc.value.message
    with pytest.raises(PermissionDenied):
        check_return_task(cast.liuyang, review, start_task.pk, "不是我的事项")
    with pytest.raises(Refusal) as exc:
        check_return_task(cast.lina, review, review.pk, "退给自己")
    assert exc.value.code == "return_target_invalid"
    done(cast.lina, review)
    with pytest.raises(Refusal) as exc:
        check_return_task(cast.lina, review, start_task.pk, "已办结还想退回")
    assert exc.value.code == "work_closed"
    assert not TaskEvent.objects.filter(process=process).exists()
    assert not audits("flow.task_return").exists()
    assert state(process)[: len(before)] == [(n, STATUS.DONE if n == "review" else s, o) for n, s, o in before]


def test_return_from_countersign_branch_jump_back_keeps_join_waiting(cast):
    process = start(cast)
    first, second = to_countersign(cast, process)
    office = Task.objects.get(process=process, flow_task=RoutingFlow.office)
    back = check_return_task(cast.finance01, first, office.pk, "涉及财政资金的表述需调整。")
    assert back.flow_task == RoutingFlow.office and str(back.token) == str(first.token)  # keeps the branch token
    done(cast.finance02, second)
    # The other branch finished, but the returned branch is still active: no early 签发.
    assert open_tasks(process, RoutingFlow.signoff) == []
    done(cast.liuyang, back, "已调整。")
    resubmitted = one(process, RoutingFlow.countersign)
    assert resubmitted.owner == cast.finance01 and resubmitted.data["dept_id"] == 1
    done(cast.finance01, resubmitted)
    assert one(process, RoutingFlow.signoff)
    assert Task.objects.filter(process=process, flow_task=RoutingFlow.join, status=STATUS.DONE).count() == 1
    assert not Task.objects.filter(process=process, flow_task=RoutingFlow.join, status__in=OPEN).exists()


def test_return_from_countersign_branch_walk_resets_the_parallel_section(cast):
    process = start(cast, countersign=("finance01", "finance02", "finance03"))
    first, second, third = to_countersign(cast, process)
    done(cast.finance02, second)  # a Join task now waits
    office = Task.objects.get(process=process, flow_task=RoutingFlow.office)
    back = check_return_task(cast.finance01, first, office.pk, "请重新组织会签。", jump_back=False)
    third.refresh_from_db()
    assert third.status == STATUS.CANCELED
    assert Task.objects.get(process=process, flow_task=RoutingFlow.join).status == STATUS.CANCELED
    assert not back.token.is_split_token()
    done(cast.liuyang, back)
    fresh = open_tasks(process, RoutingFlow.countersign)
    assert len(fresh) == 3 and not {str(t.token) for t in fresh} & {str(first.token), str(third.token)}
    for task in fresh:
        done(task.owner, task)
    assert one(process, RoutingFlow.signoff)


def test_return_from_signoff_into_one_countersign_branch(cast):
    process = start(cast)
    signoff = to_signoff(cast, process)
    target = Task.objects.filter(process=process, flow_task=RoutingFlow.countersign, owner=cast.finance02).get()
    back = check_return_task(cast.huangjianhua, signoff, target.pk, "请财政局补充意见。", jump_back=False)
    assert back.owner == cast.finance02 and back.data["dept_id"] == 2
    done(cast.finance02, back)
    assert one(process, RoutingFlow.signoff).owner == cast.huangjianhua  # a fresh Join passes at once


# --- 会签 completion policies --------------------------------------------------------------------------------------


def test_veto_cancels_open_siblings_and_routes_to_redraft(cast):
    process = start(cast, countersign=("finance01", "finance02", "finance03"), policy={"policy": "veto"})
    first, second, third = to_countersign(cast, process)
    check_countersign_task(cast.finance01, first, "agree", "同意。")
    with pytest.raises(Refusal) as exc:
        check_countersign_task(cast.finance02, second, "veto", "")
    assert exc.value.code == "reason_required"
    check_countersign_task(cast.finance02, second, "veto", "资金来源不明确，不同意。")
    third.refresh_from_db()
    assert third.status == STATUS.CANCELED
    redraft = one(process, RoutingFlow.redraft)
    assert redraft.owner == cast.zhangwei and redraft.data["routing"]["vetoed"]["task"] == second.pk
    assert open_tasks(process, RoutingFlow.signoff) == []
    assert TaskEvent.objects.filter(process=process, op="veto", actor=cast.finance02).exists()


def test_n_of_m_continues_after_n_agreements(cast):
    process = start(cast, countersign=("finance01", "finance02", "finance03"), policy={"policy": "n_of_m", "required": 2})
    first, second, third = to_countersign(cast, process)
    check_countersign_task(cast.finance01, first, "agree")
    assert open_tasks(process, RoutingFlow.signoff) == []
    check_countersign_task(cast.finance02, second, "agree")
    third.refresh_from_db()
    assert third.status == STATUS.CANCELED
    assert one(process, RoutingFlow.signoff)


# --- 取回 -----------------------------------------------------------------------------------------------------------


def test_withdraw_before_the_next_handler_opens(cast):
    process = start(cast)
    review = one(process, RoutingFlow.review)
    done(cast.lina, review)
    office = one(process, RoutingFlow.office)
    assert can_withdraw(cast.lina, review) and not can_withdraw(cast.liuyang, review)
    with pytest.raises(PermissionDenied):
        check_withdraw_task(cast.liuyang, review)
    again = check_withdraw_task(cast.lina, review)
    office.refresh_from_db()
    assert office.status == STATUS.CANCELED
    assert again.flow_task == RoutingFlow.review and again.owner == cast.lina and again.status == STATUS.ASSIGNED
    assert set(again.previous.all()) == {review, office}
    assert WorkItem.objects.get(ref=f"viewflow.task:{office.pk}").state == WorkItem.State.CANCELLED
    assert TaskEvent.objects.filter(process=process, op="withdraw", actor=cast.lina, new_task=again).exists()
    assert audits("flow.task_withdraw").filter(object_id=str(review.pk), actor=cast.lina).exists()
    done(cast.lina, again)
    assert one(process, RoutingFlow.office).owner == cast.liuyang


def test_withdraw_refused_after_the_next_handler_opened(cast):
    process = start(cast)
    review = one(process, RoutingFlow.review)
    done(cast.lina, review)
    office = one(process, RoutingFlow.office)
    assert do_mark_task_opened(office, cast.lina) is False  # only the owner's open counts
    assert do_mark_task_opened(office, cast.liuyang) is True
    assert do_mark_task_opened(office, cast.liuyang) is False
    before = state(process)
    with pytest.raises(Refusal) as exc:
        check_withdraw_task(cast.lina, review)
    assert exc.value.code == "withdraw_opened" and "刘洋" in exc.value.message
    assert state(process) == before
    assert not TaskEvent.objects.filter(op="withdraw").exists()


def test_withdraw_through_the_split_cancels_every_countersign(cast):
    process = start(cast)
    countersigns = to_countersign(cast, process)
    office = Task.objects.get(process=process, flow_task=RoutingFlow.office)
    again = check_withdraw_task(cast.liuyang, office)
    assert all(Task.objects.get(pk=t.pk).status == STATUS.CANCELED for t in countersigns)
    assert again.flow_task == RoutingFlow.office
    done(cast.liuyang, again)
    assert len(open_tasks(process, RoutingFlow.countersign)) == 2


def test_withdraw_refused_once_the_next_step_is_done(cast):
    process = start(cast)
    review = one(process, RoutingFlow.review)
    done(cast.lina, review)
    done(cast.liuyang, one(process, RoutingFlow.office))
    with pytest.raises(Refusal) as exc:
        check_withdraw_task(cast.lina, review)
    assert exc.value.code == "withdraw_too_late"


# --- 转办 -----------------------------------------------------------------------------------------------------------


def test_reassign_within_the_role(cast):
    process = start(cast, roles={"review": [cast.lina.pk, cast.zhoumin.pk]})
    review = one(process, RoutingFlow.review)
    with pytest.raises(Refusal) as exc:
        check_reassign_task(cast.lina, review, cast.finance01, "出差")
    assert exc.value.code == "reassign_not_same_role" and "部门负责人审核" in exc.value.message
    with pytest.raises(PermissionDenied):
        check_reassign_task(cast.zhoumin, review, cast.zhoumin, "抢事项")
    assert Task.objects.get(pk=review.pk).owner == cast.lina
    check_reassign_task(cast.lina, review, cast.zhoumin, "本周出差")
    review.refresh_from_db()
    assert review.owner == cast.zhoumin and review.status == STATUS.ASSIGNED
    items = WorkItem.objects.filter(ref=f"viewflow.task:{review.pk}", box="todo")
    assert {(i.owner.username, i.state) for i in items} == {("lina", "cancelled"), ("zhoumin", "open")}
    event = TaskEvent.objects.get(op="reassign", task=review)
    assert (event.from_person, event.to_person, event.reason) == (cast.lina, cast.zhoumin, "本周出差")
    assert audits("flow.task_reassign").filter(object_id=str(review.pk)).exists()
    done(cast.zhoumin, review)
    assert one(process, RoutingFlow.office)


# --- 加签 -----------------------------------------------------------------------------------------------------------


def test_add_signer_before_comes_back_to_me(cast):
    process = start(cast)
    review = one(process, RoutingFlow.review)
    added = check_add_signer(cast.lina, review, cast.zhoumin, "before", "请周敏先看用印事项。")
    assert added.flow_task == RoutingFlow.addsign and added.owner == cast.zhoumin
    assert Task.objects.get(pk=review.pk).status == STATUS.DONE
    done(cast.zhoumin, added)
    back = one(process, RoutingFlow.review)
    assert back.owner == cast.lina and back.pk != review.pk
    done(cast.lina, back)
    assert one(process, RoutingFlow.office)
    assert TaskEvent.objects.filter(op="add_signer", data__mode="before").count() == 1


def test_add_signer_after_continues_as_my_step_would(cast):
    process = start(cast)
    review = one(process, RoutingFlow.review)
    added = check_add_signer(cast.lina, review, cast.zhoumin, "after")
    done(cast.zhoumin, added)
    assert one(process, RoutingFlow.office).owner == cast.liuyang
    assert open_tasks(process, RoutingFlow.review) == []


def test_add_signer_parallel_last_one_continues(cast):
    process = start(cast)
    review = one(process, RoutingFlow.review)
    added = check_add_signer(cast.lina, review, cast.zhoumin, "parallel")
    assert Task.objects.get(pk=review.pk).status == STATUS.ASSIGNED
    done(cast.lina, review)
    assert open_tasks(process, RoutingFlow.office) == []  # waits for 周敏
    done(cast.zhoumin, added)
    office = one(process, RoutingFlow.office)
    assert {review.pk, added.pk} <= set(office.previous.values_list("pk", flat=True))


def test_add_signer_refusals(cast):
    process = start(cast)
    review = one(process, RoutingFlow.review)
    with pytest.raises(Refusal) as exc:
        check_add_signer(cast.lina, review, cast.zhoumin, "sideways")
    assert exc.value.code == "addsign_mode"
    with pytest.raises(Refusal) as exc:
        check_add_signer(cast.lina, review, cast.lina, "before")
    assert exc.value.code == "addsign_self"
    with pytest.raises(PermissionDenied):
        check_add_signer(cast.zhoumin, review, cast.liuyang, "before")
    assert not TaskEvent.objects.filter(op="add_signer").exists()


# --- 委托 -----------------------------------------------------------------------------------------------------------


def test_delegation_is_honoured_at_assignment_and_on_return(cast):
    # Demo: 王芳 is away; 李娜 handles her 发文 ("issuance") work.
    process = start(cast, reviewer="wangfang")
    review = one(process, RoutingFlow.review)
    assert review.owner == cast.lina and review.data["routing"]["on_behalf_of"] == cast.wangfang.pk
    assert TaskEvent.objects.filter(task=review, op="delegate", on_behalf_of=cast.wangfang).exists()
    item = WorkItem.objects.get(ref=f"viewflow.task:{review.pk}", box="todo")
    assert item.owner == cast.lina and item.on_behalf_of == cast.wangfang
    done(cast.lina, review)
    office = one(process, RoutingFlow.office)
    # Returned to the step done "李娜 代 王芳": it is 王芳's step; the delegation applies again.
    back = check_return_task(cast.liuyang, office, review.pk, "请补充依据。")
    assert back.owner == cast.lina and back.data["routing"]["on_behalf_of"] == cast.wangfang.pk
    history = process_history(process)
    assert any(row["who_label"] == "李娜 代 王芳 办理" and row["step"] == "部门负责人审核" for row in history)


# --- 催办 -----------------------------------------------------------------------------------------------------------


def test_urge_notifies_the_owner_and_counts(cast):
    process = start(cast)
    review = one(process, RoutingFlow.review)
    assert check_urge_task(cast.zhangwei, review, "请尽快审核。") == 1
    assert check_urge_task(cast.zhangwei, review) == 2
    review.refresh_from_db()
    assert review.data["routing"]["urged"]["count"] == 2 and review.data["routing"]["urged"]["last_by"] == cast.zhangwei.pk
    notes = Notification.objects.filter(recipient=cast.lina, event_type="work.urged").order_by("pk")
    assert [n.payload["count"] for n in notes] == [1, 2]
    assert TaskEvent.objects.filter(task=review, op="urge").count() == 2
    assert audits("flow.task_urge").filter(object_id=str(review.pk)).count() == 2
    with pytest.raises(PermissionDenied):
        check_urge_task(cast.finance01, review)
    with pytest.raises(Refusal) as exc:
        check_urge_task(cast.lina, review)
    assert exc.value.code == "urge_self"
    done(cast.lina, review)
    with pytest.raises(Refusal) as exc:
        check_urge_task(cast.zhangwei, review)
    assert exc.value.code == "work_closed"


# --- history ------------------------------------------------------------------------------------------------------


def test_history_is_chronological_with_ops_and_reasons(cast):
    process = start(cast, roles={"review": [cast.lina.pk, cast.zhoumin.pk]})
    review = one(process, RoutingFlow.review)
    check_urge_task(cast.zhangwei, review, "请尽快。")
    check_reassign_task(cast.lina, review, cast.zhoumin, "出差")
    done(cast.zhoumin, review, "同意，请办公室核稿。")
    office = one(process, RoutingFlow.office)
    check_return_task(cast.liuyang, office, review.pk, "格式不规范。")
    rows = process_history(process)
    ops = [row["op"] for row in rows]
    assert ops == ["complete", "urge", "reassign", "complete", "return"]
    assert [r["when"] for r in rows] == sorted(r["when"] for r in rows)
    assert rows[2]["from"] == "李娜" and rows[2]["to"] == "周敏" and rows[2]["reason"] == "出差"
    assert rows[3]["who"] == "周敏" and rows[3]["opinion"] == "同意，请办公室核稿。" and rows[3]["to"] == "办公室核稿"
    assert rows[4]["op_label"] == "退回" and rows[4]["reason"] == "格式不规范。" and rows[4]["to"] == "部门负责人审核"
