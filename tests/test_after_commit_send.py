"""After commit, one send per transaction level (oa.events._AfterCommit): a step's events and counts pushes in one
channel-layer call, the counts read once, a rollback dropping only what came with it; messages to one person in
order (docs/performance.md 流程办理)."""

from __future__ import annotations

import json

import pytest
from django.db import transaction

from oa import events
from oa.events import push_counts_on_commit
from oa.models import WorkItem
from oa.selectors.notifications import badge_counts

pytestmark = pytest.mark.django_db


@pytest.fixture
def pushed(monkeypatch):
    """The counts frames that would go to the channel layer after commit, decoded, in order."""
    sent: list[tuple[str, dict]] = []
    monkeypatch.setattr(events, "_group_send_all", lambda batch: sent.extend(
        (group, json.loads(m["frame"])) for group, m in batch if m["type"] == "oa.counts"))
    return sent


def test_counts_pushes_of_one_transaction_level_become_one(cast, pushed, django_capture_on_commit_callbacks):
    lina, zhangwei = cast.lina, cast.zhangwei
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        push_counts_on_commit([lina.pk])
        push_counts_on_commit([zhangwei.pk, lina.pk])
        push_counts_on_commit([])
    assert len(callbacks) == 1
    assert pushed == [(events.user_group(lina.pk), {"type": "counts", **badge_counts(lina)}),
                      (events.user_group(zhangwei.pk), {"type": "counts", **badge_counts(zhangwei)})]


def test_a_push_from_a_rolled_back_savepoint_is_dropped_alone(cast, pushed, django_capture_on_commit_callbacks):
    lina, zhangwei, wangfang = cast.lina, cast.zhangwei, cast.wangfang
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        push_counts_on_commit([lina.pk])
        with pytest.raises(RuntimeError), transaction.atomic():
            push_counts_on_commit([zhangwei.pk])  # another level: queued apart, dropped with its savepoint
            raise RuntimeError("rolled back")
        with transaction.atomic():
            push_counts_on_commit([wangfang.pk])  # released: kept
        push_counts_on_commit([lina.pk])  # joins the first
    assert len(callbacks) == 2
    assert [group for group, _ in pushed] == [events.user_group(lina.pk), events.user_group(wangfang.pk)]


def test_a_transaction_level_makes_one_channel_layer_call(cast, monkeypatch, django_capture_on_commit_callbacks):
    calls: list[list[tuple[str, dict]]] = []
    monkeypatch.setattr(events, "_group_send_all", lambda batch: calls.append(list(batch)))
    lina, zhangwei = cast.lina, cast.zhangwei
    item = WorkItem.objects.create(kind="flow_task", ref="test:batch", box=WorkItem.Box.TODO, owner=lina, title="甲")
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        push_counts_on_commit([lina.pk])
        (sent,) = events.send_event_on_commit(events.make_work_assigned(item), [lina.pk], work_item=item)
        push_counts_on_commit([zhangwei.pk])
    assert len(callbacks) == 1 and len(calls) == 1
    # The events first, in order, then the counts read after commit.
    assert [(group, m["type"]) for group, m in calls[0]] == [
        (events.user_group(lina.pk), "oa.event"),
        (events.user_group(lina.pk), "oa.counts"),
        (events.user_group(zhangwei.pk), "oa.counts"),
    ]
    assert calls[0][0][1]["id"] == sent.pk
    assert json.loads(calls[0][1][1]["frame"]) == {"type": "counts", **badge_counts(lina)}


def test_send_messages_keeps_each_groups_order_in_waves_of_distinct_groups(monkeypatch):
    from asgiref.sync import async_to_sync

    class Layer:
        def __init__(self) -> None:
            self.waves: list[list[tuple[str, int]]] = [[]]

        async def group_send(self, group: str, message: dict) -> None:
            self.waves[-1].append((group, message["n"]))

    layer = Layer()
    messages = [("a", {"n": 1}), ("b", {"n": 1}), ("a", {"n": 2})] + [(f"g{i}", {"n": 1}) for i in range(60)]
    messages.append(("a", {"n": 3}))

    original_gather = events.asyncio.gather

    async def gather(*coroutines):
        result = await original_gather(*coroutines)
        layer.waves.append([])
        return result

    monkeypatch.setattr(events.asyncio, "gather", gather)
    async_to_sync(events._send_messages)(layer, messages)
    monkeypatch.undo()
    waves = [w for w in layer.waves if w]
    assert all(len(w) <= 50 and len({g for g, _ in w}) == len(w) for w in waves)
    sent = [m for w in waves for m in w]
    assert sorted(sent) == sorted((g, m["n"]) for g, m in messages)
    assert [n for g, n in sent if g == "a"] == [1, 2, 3]
