"""One relay channel per server process for messages addressed to many sockets at once.

An event for 1,000 people used to be 1,000 `group_send`s to personal groups, and each server process then took
its share one Redis round trip at a time. A wide send (docs/events.md "中继") is instead one `group_send` to
RELAY_GROUP, whose members are the relays: one channel per server process (per event loop and channel layer).
The relay hands each (group, message) pair to the sockets of that group living in its own process, as if the
channel layer had delivered it to them. Personal groups stay joined, so narrow sends (one person's event, a
counts push to a few) take the ordinary path; no message travels both ways, and a consumer drops an id it has
already sent, so a socket never writes an event twice.

The relay starts with the first socket of its process and stops with the last (tests open and close event
loops; an idle process keeps nothing). A message lost on the way (a full channel, a relay restarting) costs only
latency: the next event's `prev_id` shows the gap and the consumer reads the database (oa.realtime.consumers).
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections import defaultdict
from typing import Any, Protocol

from oa.events import RELAY_GROUP

logger = logging.getLogger(__name__)

# channels-redis forgets a group's members after group_expiry (a day by default): rejoin well before that.
REJOIN_SECONDS = 3600.0


class Relayed(Protocol):
    async def relayed(self, message: dict[str, Any]) -> None: ...


class Relay:
    def __init__(self, layer) -> None:
        self.layer = layer
        self.members: dict[str, set[Relayed]] = defaultdict(set)
        self.channel: str | None = None
        self.task: asyncio.Task | None = None
        self.lock = asyncio.Lock()
        self.joined_at = 0.0
        self.pending: set[asyncio.Task] = set()  # the event loop keeps only weak references to tasks

    async def join(self, consumer: Relayed, groups: list[str]) -> None:
        async with self.lock:
            for group in groups:
                self.members[group].add(consumer)
            if self.task is None:
                # The default "specific" prefix: the relay shares its process's one Redis list and receive loop
                # with the consumers (another prefix would be a second list that the single loop starves).
                self.channel = await self.layer.new_channel()
                await self._join_group()
                self.task = asyncio.ensure_future(self._run(self.channel))

    async def leave(self, consumer: Relayed, groups: list[str]) -> None:
        async with self.lock:
            for group in groups:
                members = self.members.get(group)
                if members is not None:
                    members.discard(consumer)
                    if not members:
                        del self.members[group]
            if self.members or self.task is None:
                return
            task, channel, self.task, self.channel = self.task, self.channel, None, None
            task.cancel()
            try:
                await self.layer.group_discard(RELAY_GROUP, channel)
            except Exception:  # the membership expires by itself (group_expiry); messages to it expire unread
                logger.warning("中继通道退出通道组失败", exc_info=True)

    async def _join_group(self) -> None:
        await self.layer.group_add(RELAY_GROUP, self.channel)
        self.joined_at = time.monotonic()

    async def _run(self, channel: str) -> None:
        while True:
            try:
                message = await self.layer.receive(channel)
                if time.monotonic() - self.joined_at > REJOIN_SECONDS:
                    await self._join_group()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("中继通道读取失败，1 秒后重试", exc_info=True)
                await asyncio.sleep(1.0)
                continue
            self.deliver(message)

    def deliver(self, message: dict[str, Any]) -> None:
        """Each addressed socket of this process handles its message in a task of its own, so one slow client
        does not hold up the others; a consumer serialises its own writes (EventsConsumer.sending)."""
        for group, item in message.get("messages", ()):
            for consumer in tuple(self.members.get(group, ())):
                task = asyncio.ensure_future(consumer.relayed(item))
                self.pending.add(task)
                task.add_done_callback(self.pending.discard)


# One relay per (event loop, channel layer): uvicorn runs one loop per process; tests make a loop per test and
# a layer per fixture.
_relays: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def relay_for(layer) -> Relay:
    loop = asyncio.get_running_loop()
    per_loop = _relays.setdefault(loop, {})
    relay = per_loop.get(id(layer))
    if relay is None or relay.layer is not layer:
        relay = per_loop[id(layer)] = Relay(layer)
    return relay
