# ruff: noqa: F811  (tests take the imported fixtures `layer` and `people` as arguments)
"""/ws/events/ delivery bookkeeping and broadcasts (issue 14): cumulative acknowledgements written in batches,
bogus acknowledgements refused without marking anything, replay exactness whatever was acknowledged or lost,
one group message per agency or district for broadcast notices. Both channel layers (fixtures of test_ws.py).
"""

from __future__ import annotations

import random

import pytest
from channels.db import database_sync_to_async
from django.db import transaction

from oa.actions import notifications as notification_actions
from oa.actions.announcements import do_publish_announcement, do_withdraw_announcement
from oa.models import Agency, Appointment, Notification, NotificationDelivery, Person
from oa.realtime import consumers

# The fixtures `layer` (every test on the in-memory and on the Redis channel layer) and `people` are test_ws's.
from tests.test_ws import TIMEOUT, hello, layer, people, send_to, token_socket  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


@database_sync_to_async
def web_states(ids: list[int]) -> dict[int, str]:
    return dict(
        NotificationDelivery.objects.filter(notification_id__in=ids, channel="web").values_list(
            "notification_id", "state"
        )
    )


@pytest.fixture
def flushes(monkeypatch) -> list[list[int]]:
    """Every batch the consumers write (one UPDATE each), in order."""
    batches: list[list[int]] = []
    real = notification_actions.do_mark_delivered

    def recording(person, ids):
        batches.append(list(ids))
        return real(person, ids)

    monkeypatch.setattr(consumers, "do_mark_delivered", recording)
    return batches


async def receive_events(comm, n: int) -> list[int]:
    ids = []
    for _ in range(n):
        message = await comm.receive_json_from(timeout=TIMEOUT)
        assert message["type"] == "event", message
        ids.append(message["id"])
    return ids


async def test_acknowledgements_are_cumulative_and_written_in_one_batch(layer, people, flushes, monkeypatch):
    monkeypatch.setattr(consumers, "FLUSH_SECONDS", 600)  # only the close writes here
    lina = people["lina"]
    comm = await token_socket(lina)
    await hello(comm, None)
    ids = await send_to(lina, 5)
    assert await receive_events(comm, 5) == ids
    assert await web_states(ids) == dict.fromkeys(ids, "pending")  # sent is not delivered
    for upto in (ids[1], ids[3], ids[3]):  # acks that cover several events; a repeat is harmless
        await comm.send_json_to({"type": "ack", "last_event_id": upto})
    assert await comm.receive_nothing(timeout=0.3)  # no reply, no error
    await comm.disconnect()  # the pending batch is written when the socket closes
    assert flushes == [ids[:4]]
    assert await web_states(ids) == {**dict.fromkeys(ids[:4], "delivered"), ids[4]: "pending"}


async def test_a_full_batch_is_written_at_once(layer, people, flushes, monkeypatch):
    monkeypatch.setattr(consumers, "FLUSH_BATCH", 3)
    monkeypatch.setattr(consumers, "FLUSH_SECONDS", 600)
    lina = people["lina"]
    comm = await token_socket(lina)
    await hello(comm, None)
    ids = await send_to(lina, 4)
    await receive_events(comm, 4)
    await comm.send_json_to({"type": "ack", "last_event_id": ids[2]})
    await comm.send_json_to({"type": "ack", "last_event_id": ids[3]})
    await comm.send_json_to({"type": "hello", "last_event_id": ids[3]})  # a round trip: both acks handled
    await hello_reply(comm)
    assert flushes == [ids[:3]]  # the batch of three went at once; the fourth waits for the timer or close
    await comm.disconnect()
    assert flushes == [ids[:3], ids[3:]]


async def hello_reply(comm) -> dict:
    message = await comm.receive_json_from(timeout=TIMEOUT)
    assert message["type"] == "synced", message
    return message


async def test_bogus_acknowledgements_are_refused_and_mark_nothing(layer, people, flushes):
    lina, zhangwei = people["lina"], people["zhangwei"]
    (before_hello,) = await send_to(lina)  # lina's, but never sent on the socket below (hello from now)
    comm = await token_socket(lina)
    await hello(comm, None)
    (first,) = await send_to(lina)
    (not_hers,) = await send_to(zhangwei)  # an id between two that this socket sent
    (second,) = await send_to(lina)
    ids = [first, second]
    assert await receive_events(comm, 2) == ids

    async def refused(value) -> str:
        await comm.send_json_to({"type": "ack", "last_event_id": value})
        message = await comm.receive_json_from(timeout=TIMEOUT)
        assert message["type"] == "error", message
        return message["code"]

    assert await refused(ids[-1] + 1000) == "ack_unknown"  # the future
    assert await refused(not_hers) == "ack_unknown"  # someone else's event
    assert await refused(before_hello) == "ack_unknown"  # hers, but this socket never sent it
    for malformed in ("12", True, -1, None, 1.5):
        assert await refused(malformed) == "bad_ack"
    await comm.send_json_to({"type": "ack", "last_event_id": ids[0]})  # a genuine one still works
    await comm.disconnect()
    assert flushes == [[ids[0]]]
    assert await web_states([before_hello, not_hers, *ids]) == {
        before_hello: "pending", not_hers: "pending", ids[0]: "delivered", ids[1]: "pending"
    }


@database_sync_to_async
def event_without_message(person: Person) -> int:
    """An event whose channel-layer message is lost (a full Redis channel drops it silently)."""
    with transaction.atomic():
        notification = Notification.objects.create(
            recipient=person, event_type="work.retired", title="已办结：旧事项",
            payload={"work_item_id": 1, "state": "done"},
        )
        NotificationDelivery.objects.create(notification=notification, channel="web", state="pending")
        return notification.pk


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_replay_is_exact_whatever_was_acknowledged_or_lost(layer, people, flushes, seed):
    """A random walk of sends, lost messages, acknowledgements at random received ids and abrupt reconnects:
    the client sees every event exactly once in id order, and exactly the acknowledged ones are delivered."""
    rng = random.Random(seed)
    lina = people["lina"]
    comm = await token_socket(lina)
    _, synced = await hello(comm, None)
    last_seen = synced["last_event_id"]
    sent: list[int] = []  # every event committed for lina during the walk
    seen: list[int] = []  # what the client received, in order
    on_socket: list[int] = []  # received on the current socket
    acked: set[int] = set()
    for _ in range(14):
        step = rng.choice(["send", "send", "lose", "ack", "reconnect"])
        if step == "send":
            new = await send_to(lina, rng.randint(1, 3))
            sent += new
            if comm is not None:
                got = []
                while not got or got[-1] < new[-1]:  # a lost one comes first, reread from the database
                    got += await receive_events(comm, 1)
                seen += got
                on_socket += got
        elif step == "lose":
            sent.append(await event_without_message(lina))
        elif step == "ack" and on_socket and on_socket[-1] not in acked:
            upto = rng.choice([i for i in on_socket if i not in acked])  # acks only go forward
            await comm.send_json_to({"type": "ack", "last_event_id": upto})
            acked.update(i for i in on_socket if i <= upto)
        elif step == "reconnect":
            await comm.disconnect()
            comm, on_socket = await token_socket(lina), []
            last = seen[-1] if seen else last_seen
            backlog, _ = await hello(comm, last)
            seen += [m["id"] for m in backlog]
            on_socket += [m["id"] for m in backlog]
    await comm.disconnect()
    comm = await token_socket(lina)  # a final reconnect picks up anything lost at the end
    backlog, _ = await hello(comm, seen[-1] if seen else last_seen)
    seen += [m["id"] for m in backlog]
    await comm.disconnect()
    assert seen == sent  # each exactly once, in order (ids only go up)
    states = await web_states(sent)
    assert {i for i, s in states.items() if s == "delivered"} == acked
    assert all(i in acked for batch in flushes for i in batch)


# --- broadcasts --------------------------------------------------------------------------------------------


@database_sync_to_async
def agency_cast() -> tuple[Agency, Person, Person, Person]:
    """An agency with two people in it, and someone serving elsewhere only."""
    office = Agency.objects.filter(kind=Agency.Kind.OFFICE).first()
    members = list(
        Person.objects.filter(appointments__department__agency=office, is_active=True).distinct().order_by("id")[:2]
    )
    outsider = (
        Person.objects.filter(is_active=True, appointments__isnull=False)
        .exclude(pk__in=Appointment.objects.filter(department__agency=office).values("person_id"))
        .order_by("id")
        .first()
    )
    assert len(members) == 2 and outsider is not None
    return office, members[0], members[1], outsider


@database_sync_to_async
def publish(agency: Agency, by: Person, *, district_wide: bool):
    return do_publish_announcement(by, agency=agency, title="关于国庆节放假安排的通知", body="正文不随推送发出",
                                   district_wide=district_wide)


@database_sync_to_async
def withdraw(announcement, by: Person):
    return do_withdraw_announcement(by, announcement)


async def test_an_agency_notice_is_one_group_message_to_its_people_only(layer, people, monkeypatch):
    office, first, second, outsider = await agency_cast()
    sockets = {p.pk: await token_socket(p) for p in (first, second, outsider)}
    for comm in sockets.values():
        await hello(comm, None)
    sends: list[str] = []
    real_group_send = layer.group_send

    async def counting(group, message):
        sends.append(group)
        return await real_group_send(group, message)

    monkeypatch.setattr(layer, "group_send", counting)
    announcement = await publish(office, first, district_wide=False)
    assert sends == [f"agency.{office.pk}"]  # one message, not one per head
    for person in (first, second):
        message = await sockets[person.pk].receive_json_from(timeout=TIMEOUT)
        assert message == {
            "type": "broadcast", "event_type": "announcement.published",
            "title": "通知公告：关于国庆节放假安排的通知", "summary": office.name,
            "link": f"/announcements/{announcement.pk}/",
            "payload": {"announcement_id": announcement.pk, "agency": office.name, "district_wide": False,
                        "pinned": False},
        }
        assert "正文" not in str(message)  # metadata only
    assert await sockets[outsider.pk].receive_nothing(timeout=0.3)
    assert not await database_sync_to_async(Notification.objects.filter(event_type__startswith="announce").exists)()

    await withdraw(announcement, first)
    assert sends[-1] == f"agency.{office.pk}"
    for person in (first, second):
        message = await sockets[person.pk].receive_json_from(timeout=TIMEOUT)
        assert message["event_type"] == "announcement.withdrawn"

    await publish(office, first, district_wide=True)  # district-wide: everybody, through one group
    assert sends[-1] == "district"
    for comm in sockets.values():
        message = await comm.receive_json_from(timeout=TIMEOUT)
        assert message["type"] == "broadcast" and message["payload"]["district_wide"] is True
    for comm in sockets.values():
        assert await comm.receive_nothing(timeout=0.2)
        await comm.disconnect()
