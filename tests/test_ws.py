"""/ws/events/ against the real ASGI app (oa.asgi.application), on the in-memory and the Redis channel layer.

Every test runs twice: `memory` (embedded default) and `redis` (skipped only when OA_REDIS_URL is unset).
"""

from __future__ import annotations

import asyncio
import gc
import os
import threading
import uuid

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.db import connections, transaction
from django.test import Client

from oa.actions.tokens import do_issue_token
from oa.asgi import application
from oa.events import make_work_assigned, push_counts_on_commit, send_event_on_commit, user_group
from oa.middleware import SESSION_LAST_SEEN
from oa.models import ApiToken, Notification, NotificationDelivery, Person, WorkItem

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = (b"origin", b"http://testserver")
TIMEOUT = 5


@pytest.fixture(params=["memory", "redis"])
async def layer(request, settings):
    if request.param == "redis":
        url = os.environ.get("OA_REDIS_URL")
        if not url:
            pytest.skip("OA_REDIS_URL 未设置：跳过 Redis 通道层")
        # As configured for production, with a prefix of its own: nothing of another run can leak in.
        config = {
            **django_settings.CHANNEL_LAYERS["default"]["CONFIG"],
            "prefix": f"asgi-test-{uuid.uuid4().hex[:10]}",
        }
        settings.CHANNEL_LAYERS = {
            "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": config}
        }
    else:
        settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    channel_layer = get_channel_layer()
    yield channel_layer
    await channel_layer.flush()
    if hasattr(channel_layer, "close_pools"):
        await channel_layer.close_pools()
    # Close the connections the consumers opened (Channels' database thread, and on PostgreSQL the pool
    # threads: joined here, their thread-local connections are then freed) so the test database can be dropped.
    await database_sync_to_async(connections.close_all)()
    await asyncio.get_running_loop().shutdown_default_executor()
    gc.collect()


@pytest.fixture
def people(demo_tx):
    return {p.username: p for p in Person.objects.filter(username__in=["zhangwei", "lina", "wangfang"])}


# --- helpers -----------------------------------------------------------------------------------------------


def _new_item(owner: Person, title: str = "关于开展安全生产检查的通知") -> WorkItem:
    return WorkItem.objects.create(
        kind="flow_task",
        ref=f"test:{uuid.uuid4().hex}",
        box=WorkItem.Box.TODO,
        owner=owner,
        title=title,
        link="/flow/1/",
    )


@database_sync_to_async
def send_to(person: Person, n: int = 1, title: str = "关于开展安全生产检查的通知") -> list[int]:
    """n events, each committed in its own transaction like n separate actions."""
    ids = []
    for i in range(n):
        with transaction.atomic():
            item = _new_item(person, f"{title}（{i + 1}）")
            ids.append(send_event_on_commit(make_work_assigned(item), [person.pk], work_item=item)[0].pk)
    return ids


@database_sync_to_async
def unread_of(person: Person) -> int:
    return Notification.objects.filter(recipient=person, read_at__isnull=True).count()


@database_sync_to_async
def session_cookie(person: Person) -> bytes:
    client = Client()
    client.force_login(person)
    return f"{django_settings.SESSION_COOKIE_NAME}={client.cookies[django_settings.SESSION_COOKIE_NAME].value}".encode()


@database_sync_to_async
def issue_token(person: Person) -> tuple[str, ApiToken]:
    return do_issue_token(person, name="测试手机")


async def open_socket(query: str = "", headers: list[tuple[bytes, bytes]] | None = None):
    comm = WebsocketCommunicator(application, f"/ws/events/{query}", headers=headers or [])
    connected, _ = await comm.connect(timeout=TIMEOUT)
    return comm, connected


async def session_socket(person: Person, origin: tuple[bytes, bytes] = ORIGIN):
    comm, connected = await open_socket(headers=[(b"cookie", await session_cookie(person)), origin])
    assert connected
    return comm


@database_sync_to_async
def ws_ticket(raw_token: str) -> str:
    """What a mobile client does before connecting: trade its bearer token for a single-use ticket."""
    response = Client().post("/api/ws-ticket", HTTP_AUTHORIZATION=f"Bearer {raw_token}")
    assert response.status_code == 201, response.content
    return response.json()["ticket"]


async def token_socket(person: Person):
    """A mobile/webview connection: bearer token → ticket → `?ticket=`, no Origin, no cookie."""
    raw, _ = await issue_token(person)
    comm, connected = await open_socket(f"?ticket={await ws_ticket(raw)}")
    assert connected
    return comm


async def hello(comm, last_event_id):
    """Send hello; return (backlog events, synced message)."""
    await comm.send_json_to({"type": "hello", "last_event_id": last_event_id})
    backlog = []
    while True:
        message = await comm.receive_json_from(timeout=TIMEOUT)
        if message["type"] == "synced":
            return backlog, message
        assert message["type"] == "event", message
        backlog.append(message)


async def eventually(read, expected, timeout: float = TIMEOUT) -> bool:
    """Poll an async read until it returns `expected` (state written just after a message was sent)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while (value := await read()) != expected:
        if asyncio.get_running_loop().time() > deadline:
            assert value == expected
        await asyncio.sleep(0.02)
    return True


async def closed_with(comm) -> int:
    message = await comm.receive_output(timeout=TIMEOUT)
    assert message["type"] == "websocket.close", message
    return message["code"]


# --- authentication ----------------------------------------------------------------------------------------


async def test_session_cookie_connection_receives_its_own_events(layer, people):
    lina, zhangwei = people["lina"], people["zhangwei"]
    comm = await session_socket(lina)
    backlog, synced = await hello(comm, None)
    assert backlog == [] and set(synced["counts"]) == {"todo", "toread", "initiated"}
    await send_to(zhangwei)  # someone else's event never reaches lina's socket
    (event_id,) = await send_to(lina, title="请核稿：区政府办公文")
    message = await comm.receive_json_from(timeout=TIMEOUT)
    assert message["type"] == "event" and message["id"] == event_id
    assert message["event_type"] == "work.assigned"
    assert message["title"] == "待办：请核稿：区政府办公文（1）"
    assert message["link"].startswith("/work/") and message["payload"]["box"] == "todo"
    assert message["unread"] == synced["unread"] + 1
    assert message["counts"]["todo"] == synced["counts"]["todo"] + 1
    assert await comm.receive_nothing(timeout=0.3)
    await comm.disconnect()


async def test_ticket_connection_needs_no_origin(layer, people):
    comm = await token_socket(people["lina"])  # no Origin header at all
    _, synced = await hello(comm, None)
    (event_id,) = await send_to(people["lina"])
    assert (await comm.receive_json_from(timeout=TIMEOUT))["id"] == event_id
    assert synced["type"] == "synced"
    await comm.disconnect()


async def test_a_ticket_outranks_any_cookie_that_rides_along(layer, people):
    cookie = await session_cookie(people["zhangwei"])
    comm, connected = await open_socket("?ticket=wst_not-a-ticket", headers=[(b"cookie", cookie), ORIGIN])
    assert connected and await closed_with(comm) == 4401


async def test_a_bearer_token_in_the_url_is_refused_even_when_valid(layer, people):
    # The URL lands in access logs: a 30-day token there would be readable by anyone who reads the logs.
    raw, _ = await issue_token(people["lina"])
    cookie = await session_cookie(people["lina"])
    for headers in ([], [(b"cookie", cookie), ORIGIN]):  # a valid session riding along changes nothing
        comm, connected = await open_socket(f"?token={raw}", headers=headers)
        assert connected and await closed_with(comm) == 4401
    comm, connected = await open_socket(f"?token={raw}&ticket={await ws_ticket(raw)}")
    assert connected and await closed_with(comm) == 4401


async def test_no_credentials_is_closed_with_4401(layer, people):
    comm, connected = await open_socket(headers=[ORIGIN])
    assert connected and await closed_with(comm) == 4401


async def test_cookie_connection_from_a_foreign_origin_is_refused(layer, people):
    cookie = await session_cookie(people["lina"])
    for origin in ([(b"origin", b"https://evil.example")], []):  # a wrong Origin, and none at all
        _, connected = await open_socket(headers=[(b"cookie", cookie), *origin])
        assert not connected  # refused at the handshake (HTTP 403), before any event could flow


async def test_session_that_still_owes_2fa_is_closed_with_4403(layer, people):
    comm = await session_socket(people["wangfang"])  # 分管领导: signs off, so 2FA is required
    assert await closed_with(comm) == 4403


async def test_idle_session_is_treated_as_logged_out(layer, people):
    lina = people["lina"]
    cookie = await session_cookie(lina)

    @database_sync_to_async
    def age_session():
        from django.contrib.sessions.backends.db import SessionStore

        store = SessionStore(session_key=cookie.decode().split("=", 1)[1])
        store[SESSION_LAST_SEEN] = 0.0
        store.save()

    await age_session()
    comm, connected = await open_socket(headers=[(b"cookie", cookie), ORIGIN])
    assert connected and await closed_with(comm) == 4401


# --- ordering, resync, exactly once -----------------------------------------------------------------------


async def test_reconnect_with_last_event_id_gets_every_missed_event_once_in_order(layer, people):
    lina = people["lina"]
    comm = await token_socket(lina)
    await hello(comm, None)
    (seen,) = await send_to(lina)
    assert (await comm.receive_json_from(timeout=TIMEOUT))["id"] == seen
    await comm.disconnect()  # offline from here

    missed = await send_to(lina, 7)
    comm = await token_socket(lina)
    unread_before = await unread_of(lina)
    backlog, synced = await hello(comm, seen)
    assert [m["id"] for m in backlog] == missed
    assert [m["title"][-3:] for m in backlog] == [f"（{i}）" for i in range(1, 8)]
    assert synced["last_event_id"] == missed[-1] and synced["unread"] == unread_before
    assert [m["unread"] for m in backlog] == [unread_before] * 7  # current badges ride on every event
    # then live ones, still exactly once
    live = await send_to(lina, 2)
    assert [(await comm.receive_json_from(timeout=TIMEOUT))["id"] for _ in live] == live
    assert await comm.receive_nothing(timeout=0.3)
    await comm.disconnect()


async def test_null_last_event_id_starts_from_now(layer, people):
    lina = people["lina"]
    old = await send_to(lina, 3)
    comm = await token_socket(lina)
    backlog, synced = await hello(comm, None)
    assert backlog == [] and synced["last_event_id"] == old[-1] and synced["unread"] == await unread_of(lina)
    await comm.disconnect()


async def test_events_committed_during_the_backlog_are_sent_once(layer, people):
    """A large backlog is read in batches; events committed meanwhile (their hints queue behind the hello)
    must appear exactly once, in id order, whether they land in the backlog or come as live events."""
    lina = people["lina"]
    start = (await send_to(lina))[0]
    backlog_ids = await send_to(lina, 450)  # more than two batches of 200
    comm = await token_socket(lina)

    async def burst():
        ids = []
        for _ in range(15):
            ids += await send_to(lina)
            await asyncio.sleep(0)
        return ids

    await comm.send_json_to({"type": "hello", "last_event_id": start})
    burst_task = asyncio.create_task(burst())
    received, synced = [], None
    expected_total = len(backlog_ids) + 15
    while len(received) < expected_total:
        message = await comm.receive_json_from(timeout=TIMEOUT)
        if message["type"] == "synced":
            assert synced is None
            synced = message
            continue
        assert message["type"] == "event"
        received.append(message["id"])
    burst_ids = await burst_task
    assert synced is not None
    assert received == sorted(set(received))  # strictly increasing: nothing twice, nothing out of order
    assert received == backlog_ids + burst_ids
    assert await comm.receive_nothing(timeout=0.5)
    await comm.disconnect()


async def test_hints_for_events_already_sent_are_ignored(layer, people):
    lina = people["lina"]
    comm = await token_socket(lina)
    await hello(comm, None)
    ids = await send_to(lina, 2)
    assert [(await comm.receive_json_from(timeout=TIMEOUT))["id"] for _ in ids] == ids
    for event_id in ids:  # late or repeated hints (e.g. a retry) must not re-send
        await layer.group_send(user_group(lina.pk), {"type": "oa.event", "id": event_id})
    assert await comm.receive_nothing(timeout=0.5)
    await comm.disconnect()


async def test_a_lost_hint_is_recovered_by_the_next_one(layer, people):
    """channels-redis drops messages silently when a channel is full: the next hint reads everything newer."""
    lina = people["lina"]
    comm = await token_socket(lina)
    await hello(comm, None)

    @database_sync_to_async
    def event_without_hint():
        return Notification.objects.create(
            recipient=lina,
            event_type="work.retired",
            title="已办结：旧事项",
            payload={"work_item_id": 1, "state": "done"},
        ).pk

    lost = await event_without_hint()
    assert await comm.receive_nothing(timeout=0.3)
    (next_id,) = await send_to(lina)
    assert [(await comm.receive_json_from(timeout=TIMEOUT))["id"] for _ in range(2)] == [lost, next_id]
    await comm.disconnect()


async def test_delivered_after_commit_not_before_and_never_on_rollback(layer, people):
    lina = people["lina"]
    comm = await token_socket(lina)
    await hello(comm, None)
    before = await unread_of(lina)
    inserted, release = threading.Event(), threading.Event()

    @database_sync_to_async
    def action(fail: bool):
        try:
            with transaction.atomic():
                item = _new_item(lina)
                send_event_on_commit(make_work_assigned(item), [lina.pk], work_item=item)
                inserted.set()
                release.wait(TIMEOUT)
                if fail:
                    raise RuntimeError("action failed after the event was written")
        except RuntimeError:
            return "rolled back"
        return "committed"

    # rollback: nothing persisted, nothing delivered
    inserted.clear(), release.clear()
    task = asyncio.create_task(action(True))
    while not inserted.is_set():
        await asyncio.sleep(0.01)
    release.set()
    assert await task == "rolled back"
    assert await comm.receive_nothing(timeout=0.5)
    assert await unread_of(lina) == before

    # commit: nothing while the transaction is open, the event right after commit
    inserted.clear(), release.clear()
    task = asyncio.create_task(action(False))
    while not inserted.is_set():
        await asyncio.sleep(0.01)
    assert await comm.receive_nothing(timeout=0.5)
    release.set()
    assert await task == "committed"
    message = await comm.receive_json_from(timeout=TIMEOUT)
    assert message["type"] == "event" and message["unread"] == before + 1
    await comm.disconnect()


# --- counts and read marks ---------------------------------------------------------------------------------


async def test_read_marks_lower_the_unread_count_and_record_web_delivery(layer, people, monkeypatch):
    from oa.realtime import consumers

    monkeypatch.setattr(consumers, "FLUSH_SECONDS", 0.05)
    lina = people["lina"]
    comm = await session_socket(lina)
    _, synced = await hello(comm, None)
    ids = await send_to(lina, 3)
    unread = [(await comm.receive_json_from(timeout=TIMEOUT))["unread"] for _ in ids]
    base = synced["unread"]
    # Badges are read when the events are: hints that queue up are served by one read, with current counts.
    assert unread == sorted(unread) and unread[-1] == base + 3

    @database_sync_to_async
    def web_states():
        return dict(
            NotificationDelivery.objects.filter(notification_id__in=ids, channel="web").values_list(
                "notification_id", "state"
            )
        )

    # Sent is not delivered: the client acknowledges (cumulatively, the last id) and the mark follows in a batch.
    assert await web_states() == dict.fromkeys(ids, "pending")
    await comm.send_json_to({"type": "ack", "last_event_id": ids[-1]})
    assert await eventually(lambda: web_states(), dict.fromkeys(ids, "delivered"))

    async def read(message) -> int:
        await comm.send_json_to(message)
        reply = await comm.receive_json_from(timeout=TIMEOUT)
        assert reply["type"] == "counts"
        # The action also pushes counts to the person's other sockets; this one gets that copy too.
        extra = await comm.receive_json_from(timeout=TIMEOUT)
        assert extra == reply
        return reply["unread"]

    assert await read({"type": "read", "ids": [ids[0]]}) == base + 2
    assert (await web_states())[ids[0]] == "read"
    assert await read({"type": "read", "all": True}) == 0
    assert await web_states() == dict.fromkeys(ids, "read")
    await comm.disconnect()


async def test_counts_are_pushed_when_work_closes_elsewhere(layer, people):
    lina = people["lina"]
    comm = await token_socket(lina)
    await send_to(lina, 2)
    _, synced = await hello(comm, None)

    @database_sync_to_async
    def close_one():
        with transaction.atomic():
            item = WorkItem.objects.filter(owner=lina, state=WorkItem.State.OPEN).first()
            item.state = WorkItem.State.DONE
            item.save(update_fields=["state"])
            push_counts_on_commit([lina.pk])

    await close_one()
    message = await comm.receive_json_from(timeout=TIMEOUT)
    assert message == {
        "type": "counts",
        "unread": synced["unread"],
        "counts": {**synced["counts"], "todo": synced["counts"]["todo"] - 1},
    }
    await comm.disconnect()


async def test_protocol_errors_keep_the_socket_open(layer, people):
    comm = await token_socket(people["lina"])
    await comm.send_to(text_data="not json")
    assert (await comm.receive_json_from(timeout=TIMEOUT))["code"] == "bad_frame"
    await comm.send_json_to({"type": "hello", "last_event_id": "12"})
    assert (await comm.receive_json_from(timeout=TIMEOUT))["code"] == "bad_last_event_id"
    await comm.send_json_to({"type": "read", "ids": ["1"]})
    assert (await comm.receive_json_from(timeout=TIMEOUT))["code"] == "bad_read"
    await comm.send_json_to({"type": "subscribe"})
    assert (await comm.receive_json_from(timeout=TIMEOUT))["code"] == "unknown_type"
    _, synced = await hello(comm, None)
    assert synced["type"] == "synced"
    await comm.disconnect()
