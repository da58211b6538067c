"""/ws/events/: resync from last_event_id, then live events, each exactly once and in id order.

A live event arrives as a channel-layer message carrying the client frame already encoded (event, badges) plus
its id and the id of the person's previous event (`prev_id`, exact: read under the per-recipient lock). When
`prev_id` is at most the last id this socket sent, nothing is missing and the frame goes straight to the socket —
no database. Otherwise (a message dropped by a full Redis channel, events committed before the hello, an old
id-only hint) the consumer reads everything newer than the last id it sent from the database. Ids at or below
that are ignored, so nothing is sent twice.

Delivery is recorded when the client acknowledges cumulatively ({"type": "ack", "last_event_id": n}) an id this
socket sent; acknowledged ids are written in batches (one UPDATE per flush), never one per event per socket.
Broadcast notices (an agency's or the district's group) are written through as they come. Protocol:
docs/events.md.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
from functools import partial
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from redis.exceptions import TimeoutError as RedisTimeoutError

from oa import jsonsafe
from oa.actions.notifications import do_mark_delivered, do_mark_read
from oa.events import DISTRICT_GROUP, agency_group, user_group
from oa.models import Person
from oa.selectors.notifications import agency_ids_of, badge_counts, events_after, last_event_id

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401  # no/invalid session or token: log in again (do not retry blindly)
CLOSE_FORBIDDEN = 4403  # signed in, but must first change the password or pass 2FA
BATCH = 200  # events per database read while catching up
MAX_READ_IDS = 1000
MAX_FRAME_BYTES = 64 * 1024  # a read of 1000 ids is under 10 KiB
FLUSH_SECONDS = 2.0  # acknowledged deliveries wait at most this long before their one UPDATE …
FLUSH_BATCH = 500  # … or until this many have gathered
MAX_UNACKED = 5000  # ids sent and not yet acknowledged that a socket remembers (older ones stay "pending")

# One event reaches many sockets at once. On PostgreSQL their reads run in the thread pool, each thread on
# its own connection, instead of queueing on Channels' single database thread. SQLite (embedded, one
# process) keeps that single thread: parallel readers would only contend for the file lock.
db = partial(
    database_sync_to_async,
    thread_sensitive=settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3",
)


@db
def _load_person(pk: int) -> tuple[Person | None, list[int]]:
    person = Person.objects.filter(pk=pk, is_active=True).first()
    return person, (agency_ids_of(person) if person is not None else [])


@db
def _events_after(person: Person, after_id: int) -> tuple[list[dict[str, Any]], bool, dict[str, Any]]:
    events, more = events_after(person, after_id, BATCH)
    return events, more, badge_counts(person)


@db
def _start_point(person: Person, requested: int | None) -> tuple[int, dict[str, Any]]:
    newest = last_event_id(person)
    # A client id beyond this person's newest event (e.g. after a database restore) would silence every
    # event up to it; resume from the newest instead.
    start = newest if requested is None else min(requested, newest)
    return start, badge_counts(person)


class EventsConsumer(AsyncJsonWebsocketConsumer):
    person: Person | None = None
    synced = False
    disconnected = False
    last_sent = 0

    async def connect(self) -> None:
        user = self.scope.get("user")
        person, agencies = (
            await _load_person(user.pk) if user is not None and user.is_authenticated else (None, [])
        )
        # Accept first, then close: a close before accept reaches the browser as HTTP 403 with no code.
        await self.accept()
        if person is None:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        if self.scope.get("auth_gate"):
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.person = person
        self.unacked: list[int] = []  # ids sent on this socket, ascending, not yet acknowledged
        self.acked_upto = 0
        self.to_flush: list[int] = []  # acknowledged, not yet written
        self.flush_task: asyncio.Task | None = None
        # Agencies are read once per connection: a new appointment takes effect at the next reconnect.
        self.groups_joined = [user_group(person.pk), DISTRICT_GROUP, *(agency_group(a) for a in agencies)]
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)

    async def __call__(self, scope, receive, send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except RedisTimeoutError:
            # channels-redis with redis-py 8: at disconnect, cancelling the blocked channel-layer read surfaces
            # as a TimeoutError from Channels' cleanup. The socket is gone already; nothing is lost.
            if not self.disconnected:
                raise

    async def disconnect(self, code: int) -> None:
        self.disconnected = True
        if self.person is not None:
            if self.flush_task is not None:
                self.flush_task.cancel()
            await self._flush()  # first: the acknowledgements are the part worth keeping
            for group in self.groups_joined:
                try:
                    await self.channel_layer.group_discard(group, self.channel_name)
                except Exception:
                    # e.g. the Redis pool is exhausted while a thousand sockets close at once: the membership
                    # expires by itself (group_expiry) and messages to a closed channel expire unread.
                    logger.warning("退出通道组 %s 失败", group, exc_info=True)

    # --- client → server -------------------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs) -> None:
        # Every frame we cannot use gets an error frame and the socket stays open; nothing a client sends may
        # raise here (an exception would kill the consumer and drop the connection).
        if text_data is None:
            await self._error("bad_frame", "消息须为文本帧（JSON），不接受二进制帧")
            return
        try:
            content = await self.decode_json(text_data)
        except jsonsafe.JsonRefused as refused:
            await self._error("bad_frame", f"消息无法解析：{refused.message}")
            return
        if not isinstance(content, dict):
            await self._error("bad_message", "消息格式错误：需要 JSON 对象")
            return
        await self.receive_json(content)

    @classmethod
    async def decode_json(cls, text_data: str) -> Any:
        return jsonsafe.loads(text_data, max_bytes=MAX_FRAME_BYTES)

    async def receive_json(self, content: dict[str, Any], **kwargs) -> None:
        if self.person is None:
            return
        kind = content.get("type")
        if kind == "hello":
            await self._hello(content.get("last_event_id"))
        elif kind == "read":
            await self._read(content)
        elif kind == "ack":
            await self._ack(content.get("last_event_id"))
        else:
            await self._error("unknown_type", "无法识别的消息类型")

    async def _hello(self, requested: Any) -> None:
        if requested is not None and (
            isinstance(requested, bool) or not isinstance(requested, int) or requested < 0
        ):
            await self._error("bad_last_event_id", "last_event_id 必须是非负整数或 null")
            return
        self.last_sent, badges = await _start_point(self.person, requested)
        self.synced = True  # hints queued meanwhile are handled after this handler returns
        if requested is not None:
            badges = await self._send_newer() or badges
        await self.send_json({"type": "synced", "last_event_id": self.last_sent, **badges})

    async def _read(self, content: dict[str, Any]) -> None:
        if content.get("all") is True:
            ids = None
        else:
            ids = content.get("ids")
            if (
                not isinstance(ids, list)
                or len(ids) > MAX_READ_IDS
                or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids)
            ):
                await self._error("bad_read", "ids 必须是整数列表（最多 1000 个），或使用 all: true")
                return
        await db(do_mark_read)(self.person, ids)
        await self._send_counts()

    async def _ack(self, value: Any) -> None:
        """Cumulative: the client has every event up to `value`. Only an id this socket sent is accepted;
        anything else (never sent here, in the future, not an integer) is refused and marks nothing."""
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            await self._error("bad_ack", "last_event_id 必须是非负整数")
            return
        if value == self.acked_upto and value:
            return  # the same acknowledgement again: nothing new
        position = bisect.bisect_right(self.unacked, value)
        if not position or self.unacked[position - 1] != value:
            detail = "尚未发送" if value > self.last_sent else "未经此连接发送"
            await self._error("ack_unknown", f"确认的事件 {value} {detail}，未作任何记录")
            return
        self.to_flush += self.unacked[:position]
        del self.unacked[:position]
        self.acked_upto = value
        if len(self.to_flush) >= FLUSH_BATCH:
            await self._flush()
        elif self.flush_task is None:
            self.flush_task = asyncio.ensure_future(self._flush_later())

    async def _flush_later(self) -> None:
        await asyncio.sleep(FLUSH_SECONDS)
        self.flush_task = None
        await self._flush()

    async def _flush(self) -> None:
        """One UPDATE for every acknowledgement gathered since the last flush."""
        ids, self.to_flush = self.to_flush, []
        if ids:
            await db(do_mark_delivered)(self.person, ids)

    # --- channel layer → server → client ---------------------------------------------------------------

    async def oa_event(self, message: dict[str, Any]) -> None:
        # Before hello the client has not said where it is; its hello reads the database anyway.
        event_id = int(message.get("id", 0))
        if not self.synced or event_id <= self.last_sent:
            return
        frame, prev_id = message.get("frame"), message.get("prev_id")
        if frame is None or prev_id is None or prev_id > self.last_sent:
            await self._send_newer()  # something between the last id sent and this one: read it
            return
        await self.send(text_data=frame)
        self._sent(event_id)

    async def oa_counts(self, message: dict[str, Any]) -> None:
        if self.synced:
            frame = message.get("frame")
            if frame is None:
                await self._send_counts()
            else:
                await self.send(text_data=frame)

    async def oa_broadcast(self, message: dict[str, Any]) -> None:
        if self.synced:
            await self.send(text_data=message["frame"])

    # --- helpers -----------------------------------------------------------------------------------------

    async def _send_newer(self) -> dict[str, Any] | None:
        """Send every event newer than last_sent, oldest first; returns the badges sent with them."""
        badges = None
        while True:
            events, more, badges = await _events_after(self.person, self.last_sent)
            for event in events:
                await self.send_json({"type": "event", **event, **badges})
                self._sent(event["id"])
            if not more:
                return badges

    def _sent(self, event_id: int) -> None:
        self.last_sent = event_id
        if self.unacked and self.unacked[-1] >= event_id:  # a second hello went back: resent ids replace
            del self.unacked[bisect.bisect_left(self.unacked, event_id) :]
        self.unacked.append(event_id)
        if len(self.unacked) > MAX_UNACKED:
            del self.unacked[: len(self.unacked) - MAX_UNACKED]

    async def _send_counts(self) -> None:
        badges = await db(badge_counts)(self.person)
        await self.send_json({"type": "counts", **badges})

    async def _error(self, code: str, message: str) -> None:
        await self.send_json({"type": "error", "code": code, "message": message})
