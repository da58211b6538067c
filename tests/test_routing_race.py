"""Races on PostgreSQL (select_for_update_lock): two 会签 heads completing at the same instant give exactly one Join
and one 签发; the two members of a 并加签 finishing at once give exactly one continuation."""

from __future__ import annotations

import pytest
from django.db import connection  # noqa: F401 - read by the skipif string
from viewflow.workflow.models import Task
from viewflow.workflow.status import PROCESS, STATUS

from oa.models import Person
from tests.flowapp.flows import RoutingFlow
from tests.races import run_at_once
from workflows.actions import check_complete_task
from workflows.actions.routing import check_add_signer

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="SQLite ignores select_for_update"),
]

OPEN = (STATUS.NEW, STATUS.ASSIGNED, STATUS.STARTED)


def person(username: str) -> Person:
    return Person.objects.get(username=username)


def start(countersign=("finance01", "finance02")):
    return RoutingFlow.start.run(
        title="并发会签测试",
        initiator_id=person("zhangwei").pk,
        reviewer_id=person("lina").pk,
        office_id=person("liuyang").pk,
        signer_id=person("huangjianhua").pk,
        countersign=[{"dept_id": n + 1, "signer_id": person(u).pk} for n, u in enumerate(countersign)],
        policy={"policy": "all"},
        roles={},
    )


def complete_at_once(pairs: list[tuple[Person, int]]) -> list[str]:
    """Each (person, task id) completes "同意。" at the same instant."""
    return run_at_once([lambda u=user, t=task_id: check_complete_task(u, Task.objects.get(pk=t), "同意。")
                        for user, task_id in pairs])


def test_two_heads_completing_countersign_at_once_give_one_join(demo_tx):
    process = start()
    check_complete_task(person("lina"), Task.objects.get(process=process, flow_task=RoutingFlow.review))
    check_complete_task(person("liuyang"), Task.objects.get(process=process, flow_task=RoutingFlow.office))
    heads = Task.objects.filter(process=process, flow_task=RoutingFlow.countersign).order_by("pk")
    assert heads.count() == 2

    outcomes = complete_at_once([(t.owner, t.pk) for t in heads])

    assert outcomes == ["ok", "ok"]
    joins = Task.objects.filter(process=process, flow_task=RoutingFlow.join)
    assert [j.status for j in joins] == [STATUS.DONE]
    signoffs = Task.objects.filter(process=process, flow_task=RoutingFlow.signoff)
    assert [(s.status, s.owner.username) for s in signoffs] == [(STATUS.ASSIGNED, "huangjianhua")]
    process.refresh_from_db()
    assert process.status == PROCESS.NEW


def test_parallel_add_signer_race_continues_exactly_once(demo_tx):
    process = start(countersign=())
    lina, zhoumin = person("lina"), person("zhoumin")
    review = Task.objects.get(process=process, flow_task=RoutingFlow.review)
    added = check_add_signer(lina, review, zhoumin, "parallel", "请周敏同时审核。")

    outcomes = complete_at_once([(lina, review.pk), (zhoumin, added.pk)])

    assert outcomes == ["ok", "ok"]
    offices = Task.objects.filter(process=process, flow_task=RoutingFlow.office)
    assert [(o.status, o.owner.username) for o in offices] == [(STATUS.ASSIGNED, "liuyang")]
    assert set(offices[0].previous.values_list("pk", flat=True)) == {review.pk, added.pk}
    assert not Task.objects.filter(process=process, flow_task=RoutingFlow.review, status__in=OPEN).exists()
