"""oa.events: notifications persisted in the caller's transaction, channels enqueued there, messages after commit.

Websocket-level behaviour (delivery after commit, resync, dedupe) is in test_ws.py.
"""

from __future__ import annotations

import json
import threading
import time

import pytest
from django.db import connection, transaction
from django.utils import timezone

from oa import events
from oa.actions.notifications import do_mark_delivered, do_mark_read
from oa.events import (
    Event,
    make_work_assigned,
    make_work_retired,
    make_work_urged,
    retire_notifications,
    send_event_on_commit,
    user_group,
)
from oa.models import Notification, NotificationDelivery, OutboxMessage, WorkItem
from oa.selectors.notifications import badge_counts, notifications_for, unread_count

WEB = NotificationDelivery.Channel.WEB
State = NotificationDelivery.State


def work_item(owner, **extra) -> WorkItem:
    fields = {
        "kind": "flow_task",
        "ref": f"test:{time.monotonic_ns()}",
        "box": WorkItem.Box.TODO,
        "owner": owner,
        "title": "关于报送2026年度预算执行情况的通知",
        "doc_number": "揭东府办〔2026〕12号",
        "step": "核稿",
        "urgency": WorkItem.Urgency.VERY_URGENT,
        "link": "/flow/1/",
    }
    fields.update(extra)
    return WorkItem.objects.create(**fields)


class RecordingChannel:
    """A second delivery channel, as the mobile platform registers one: writes outbox rows in the transaction."""

    name = "test-platform"

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.retired: list[int] = []

    def enqueue(self, notifications, event) -> None:
        if self.fail:
            raise RuntimeError("platform enqueue failed")
        for n in notifications:
            OutboxMessage.objects.create(
                channel=self.name,
                kind="textcard",
                idempotency_key=f"{self.name}:{n.pk}",
                payload={"title": event.title, "description": n.summary},
                notification=n,
                next_attempt_at=timezone.now(),
            )

    def retire(self, notifications) -> None:
        self.retired.extend(n.pk for n in notifications)


@pytest.fixture
def platform():
    channel = RecordingChannel()
    events.register_channel(channel)
    yield channel
    events.unregister_channel(channel.name)


@pytest.fixture
def hints(monkeypatch):
    """What would go to the channel layer after commit (the layer itself is exercised in test_ws.py)."""
    sent: list[tuple[int, dict]] = []
    monkeypatch.setattr(events, "_group_send_all", lambda batch: sent.extend(batch))
    return sent


pytestmark = pytest.mark.django_db


def counts_pushed(hints) -> list[tuple[str, dict]]:
    """The counts messages among the hints, their frames decoded."""
    return [(group, json.loads(m["frame"])) for group, m in hints if m["type"] == "oa.counts"]


def test_send_persists_one_notification_and_web_delivery_per_recipient(
    cast, hints, django_capture_on_commit_callbacks
):
    lina, zhangwei = cast.lina, cast.zhangwei
    item = work_item(lina, on_behalf_of=cast.wangfang)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        sent = send_event_on_commit(make_work_assigned(item), [lina.pk, zhangwei.pk, lina.pk], work_item=item)
    assert [n.recipient_id for n in sent] == [lina.pk, zhangwei.pk]  # duplicates dropped, order kept
    assert sent[0].pk < sent[1].pk
    n = Notification.objects.get(pk=sent[0].pk)
    assert n.event_type == "work.assigned"
    assert n.title == "待办：关于报送2026年度预算执行情况的通知"
    assert n.summary == "核稿 · 特急 · 揭东府办〔2026〕12号 · 代王芳办理"
    assert n.link == f"/work/{item.pk}/"
    assert n.work_item_id == item.pk and n.read_at is None
    assert n.payload == {
        "work_item_id": item.pk,
        "kind": "flow_task",
        "box": "todo",
        "urgency": 2,
        "deadline": None,
        "doc_number": "揭东府办〔2026〕12号",
        "step": "核稿",
        "on_behalf_of": cast.wangfang.pk,
        "on_behalf_of_name": "王芳",
    }
    assert list(
        NotificationDelivery.objects.filter(notification__in=sent).values_list("channel", "state")
    ) == [
        (WEB, State.PENDING),
        (WEB, State.PENDING),
    ]
    # Nothing reaches the channel layer before commit; one hint per recipient after.
    assert hints == [] and len(callbacks) == 1
    callbacks[0]()
    # The whole client frame travels, with the recipient's badges as the transaction saw them (this event
    # and its work item included) and the id of their previous event.
    assert [(group, m["type"], m["id"], m["prev_id"]) for group, m in hints] == [
        (user_group(lina.pk), "oa.event", sent[0].pk, 0),
        (user_group(zhangwei.pk), "oa.event", sent[1].pk, 0),
    ]
    frame = json.loads(hints[0][1]["frame"])
    assert frame == {
        "type": "event", "id": sent[0].pk, "event_type": "work.assigned", "title": n.title, "summary": n.summary,
        "link": n.link, "payload": n.payload, "created_at": timezone.localtime(n.created_at).isoformat(),
        "read": False, **badge_counts(lina),
    }
    assert frame["unread"] == 1
    assert {k: v for k, v in json.loads(hints[1][1]["frame"]).items() if k in ("unread", "counts")} == badge_counts(
        zhangwei
    )
    # The next event of lina names this one as its predecessor.
    hints.clear()
    with django_capture_on_commit_callbacks(execute=True):
        send_event_on_commit(make_work_urged(item, count=1, by=zhangwei), [lina.pk], work_item=item)
    assert hints[0][1]["prev_id"] == sent[0].pk and json.loads(hints[0][1]["frame"])["unread"] == 2


def test_rollback_persists_nothing_and_sends_nothing(
    cast, hints, platform, django_capture_on_commit_callbacks
):
    before = Notification.objects.count()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            send_event_on_commit(make_work_assigned(work_item(cast.lina)), [cast.lina.pk])
            raise RuntimeError("the caller's action failed")
    assert callbacks == [] and hints == []
    assert Notification.objects.count() == before
    assert not OutboxMessage.objects.filter(channel=platform.name).exists()


def test_registered_channel_enqueues_in_the_same_transaction(
    cast, hints, platform, django_capture_on_commit_callbacks
):
    item = work_item(cast.lina)
    with django_capture_on_commit_callbacks(execute=True):
        (n,) = send_event_on_commit(make_work_assigned(item), [cast.lina.pk], work_item=item)
    outbox = OutboxMessage.objects.get(notification=n)
    assert outbox.payload == {"title": n.title, "description": n.summary}
    assert len(hints) == 1


def test_a_failing_channel_rolls_the_event_back(cast, hints, django_capture_on_commit_callbacks):
    broken = RecordingChannel(fail=True)
    broken.name = "broken"
    events.register_channel(broken)
    try:
        before = Notification.objects.count()
        with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
            send_event_on_commit(make_work_assigned(work_item(cast.lina)), [cast.lina.pk])
        assert Notification.objects.count() == before and hints == []
    finally:
        events.unregister_channel("broken")


def test_summary_and_title_are_clipped_to_200_characters(cast, hints):
    event = Event("work.retired", "题" * 250, "摘要" * 150, "/work/1/", {"work_item_id": 1, "state": "done"})
    (n,) = send_event_on_commit(event, [cast.lina.pk])
    n.refresh_from_db()
    assert len(n.summary) == 200 and n.summary.endswith("…")
    assert len(n.title) == 200


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (Event("work.unknown", "x"), "未登记的事件类型"),
        (Event("work.retired", "x", payload={"work_item_id": 1}), "缺少 state$"),
        (
            Event("work.retired", "x", payload={"work_item_id": 1, "state": "done", "body": "正文"}),
            "多余 body$",
        ),
        (
            Event(
                "work.retired",
                "x",
                link="https://evil.example/",
                payload={"work_item_id": 1, "state": "done"},
            ),
            "绝对路径",
        ),
        (
            Event("work.retired", "x", link="//evil.example/", payload={"work_item_id": 1, "state": "done"}),
            "绝对路径",
        ),
    ],
)
def test_events_are_typed_and_links_stay_on_site(cast, hints, event, message):
    with pytest.raises(ValueError, match=message):
        send_event_on_commit(event, [cast.lina.pk])
    assert hints == []


def test_no_recipients_is_a_no_op(hints):
    assert send_event_on_commit(make_work_retired(WorkItem(pk=1, state="done", title="x")), []) == []


def test_mark_read_and_delivery_states(cast, hints, django_capture_on_commit_callbacks):
    lina, zhangwei = cast.lina, cast.zhangwei
    a, b, c = (send_event_on_commit(make_work_assigned(work_item(lina)), [lina.pk])[0] for _ in range(3))
    (other,) = send_event_on_commit(make_work_assigned(work_item(zhangwei)), [zhangwei.pk])
    assert unread_count(lina) == 3
    assert do_mark_delivered(lina, [a.pk, b.pk, other.pk]) == 2  # someone else's id is ignored
    with django_capture_on_commit_callbacks(execute=True):
        assert do_mark_read(lina, [a.pk, other.pk]) == 1
    assert unread_count(lina) == 2 and unread_count(zhangwei) == 1
    states = dict(
        NotificationDelivery.objects.filter(channel=WEB, notification__in=[a, b, c]).values_list(
            "notification_id", "state"
        )
    )
    assert states == {a.pk: State.READ, b.pk: State.DELIVERED, c.pk: State.PENDING}
    assert do_mark_read(lina) == 2 and unread_count(lina) == 0
    assert do_mark_read(lina) == 0
    assert [n.pk for n in notifications_for(lina, after_id=a.pk)] == [b.pk, c.pk]
    # Reading pushes fresh counts to the person's other sockets (after commit), read once and carried along.
    ((group, pushed),) = counts_pushed(hints)
    assert group == user_group(lina.pk) and pushed == {"type": "counts", "unread": 2, **badge_counts(lina)} | {
        "unread": 2
    }


def test_retire_closes_web_notifications_and_calls_every_channel(
    cast, hints, platform, django_capture_on_commit_callbacks
):
    lina = cast.lina
    item = work_item(lina)
    with django_capture_on_commit_callbacks(execute=True):
        (n,) = send_event_on_commit(make_work_assigned(item), [lina.pk], work_item=item)
        (urged,) = send_event_on_commit(
            make_work_urged(item, count=1, by=cast.zhangwei), [lina.pk], work_item=item
        )
    do_mark_read(lina, [urged.pk])
    assert badge_counts(lina)["unread"] == 1
    hints.clear()
    with django_capture_on_commit_callbacks(execute=True):
        item.state = WorkItem.State.DONE
        item.save()
        retire_notifications(item)
    assert unread_count(lina) == 0
    assert NotificationDelivery.objects.get(notification=n, channel=WEB).state == State.RETIRED
    assert (
        NotificationDelivery.objects.get(notification=urged, channel=WEB).state == State.READ
    )  # read stays read
    assert platform.retired == [n.pk, urged.pk]
    assert counts_pushed(hints) == [(user_group(lina.pk), {"type": "counts", **badge_counts(lina)})]
    assert len(hints) == 1


def test_work_payload_helpers_match_their_types(cast, hints):
    item = work_item(cast.lina, deadline=timezone.now())
    for event in (
        make_work_assigned(item),
        make_work_urged(item, count=2, by=cast.zhangwei),
        events.make_work_returned(item, by=cast.zhangwei),
        events.make_work_completed(item, by=cast.zhangwei),
        make_work_retired(item),
    ):
        events.validate_payload(event)
        assert "正文" not in event.summary
    assert make_work_assigned(item).payload["deadline"].endswith("+08:00")
    assert make_work_urged(item, count=2, by=cast.zhangwei).payload == {
        "work_item_id": item.pk,
        "count": 2,
        "by": "张伟",
    }


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite serialises writers by itself")
def test_events_of_one_recipient_commit_in_id_order(demo_tx, hints):
    """A second transaction cannot add an event for the same person until the first commits, so a client that
    resumes from the highest id it saw can never skip a lower id that committed later."""
    from oa.models import Person

    lina = Person.objects.get(username="lina")
    first_inserted, release, second_done = threading.Event(), threading.Event(), threading.Event()
    ids: dict[str, int] = {}

    def first():
        try:
            with transaction.atomic():
                ids["first"] = send_event_on_commit(
                    make_work_retired(WorkItem(pk=1, state="done", title="甲")), [lina.pk]
                )[0].pk
                first_inserted.set()
                release.wait(10)
        finally:
            connection.close()

    def second():
        try:
            first_inserted.wait(10)
            with transaction.atomic():
                ids["second"] = send_event_on_commit(
                    make_work_retired(WorkItem(pk=2, state="done", title="乙")), [lina.pk]
                )[0].pk
            second_done.set()
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    assert first_inserted.wait(10)
    assert not second_done.wait(0.5)  # blocked behind the first transaction
    release.set()
    for t in threads:
        t.join(10)
    assert second_done.is_set() and ids["first"] < ids["second"]
