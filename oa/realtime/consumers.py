"""/ws/events/: resync from last_event_id, then live events, each exactly once and in id order.

The channel-layer message is only a hint ({"type": "oa.event", "id": n}); the consumer always reads the
events from the database, everything newer than the last id it sent. So a hint dropped by a full Redis
channel costs nothing as long as a later hint or a reconnect follows, an event committed while the backlog
is being sent is sent once, and hints for ids already sent are ignored. Protocol: docs/events.md.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from redis.exceptions import TimeoutError as RedisTimeoutError

from oa import jsonsafe
from oa.actions.notifications import do_mark_delivered, do_mark_read
from oa.events import user_group
from oa.models import Person
from oa.selectors.notifications import badge_counts, events_after, last_event_id

CLOSE_UNAUTHENTICATED = 4401  # no/invalid session or token: log in again (do not retry blindly)
CLOSE_FORBIDDEN = 4403  # signed in, but must first change the password or pass 2FA
BATCH = 200  # events per database read while catching up
MAX_READ_IDS = 1000
MAX_FRAME_BYTES = 64 * 1024  # a read of 1000 ids is under 10 KiB

# One event reaches many sockets at once. On PostgreSQL their reads run in the thread pool, each thread on
# its own connection, instead of queueing on Channels' single database thread. SQLite (embedded, one
# process) keeps that single thread: parallel readers would only contend for the file lock.
db = partial(
    database_sync_to_async,
    thread_sensitive=settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3",
)


@db
def _load_person(pk: int) -> Person | None:
    return Person.objects.filter(pk=pk, is_active=True).first()


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
        person = await _load_person(user.pk) if user is not None and user.is_authenticated else None
        # Accept first, then close: a close before accept reaches the browser as HTTP 403 with no code.
        await self.accept()
        if person is None:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        if self.scope.get("auth_gate"):
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.person = person
        self.group = user_group(person.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)

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
            await self.channel_layer.group_discard(self.group, self.channel_name)

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

    # --- channel layer → server → client ---------------------------------------------------------------

    async def oa_event(self, message: dict[str, Any]) -> None:
        # Before hello the client has not said where it is; its hello reads the database anyway.
        if self.synced and int(message.get("id", 0)) > self.last_sent:
            await self._send_newer()

    async def oa_counts(self, message: dict[str, Any]) -> None:
        if self.synced:
            await self._send_counts()

    # --- helpers -----------------------------------------------------------------------------------------

    async def _send_newer(self) -> dict[str, Any] | None:
        """Send every event newer than last_sent, oldest first; returns the badges sent with them."""
        badges = None
        while True:
            events, more, badges = await _events_after(self.person, self.last_sent)
            for event in events:
                await self.send_json({"type": "event", **event, **badges})
                self.last_sent = event["id"]
            if events:
                await db(do_mark_delivered)(self.person, [e["id"] for e in events])
            if not more:
                return badges

    async def _send_counts(self) -> None:
        badges = await db(badge_counts)(self.person)
        await self.send_json({"type": "counts", **badges})

    async def _error(self, code: str, message: str) -> None:
        await self.send_json({"type": "error", "code": code, "message": message})
