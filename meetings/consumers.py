"""/ws/meetings/<id>/: the live roster and the current 议题 of one meeting (docs/meetings.md 实时名单).

Same authentication as /ws/events/ (oa.realtime.routing wraps every route): a session (origin-checked) or a
single-use ticket. Whoever may see the meeting (access_meeting_by_id) may watch it. On connect the socket gets
the whole roster (at a roster version, built once per version and cached: meetings.checkin.roster_json) and the
agenda state, then every change as one message sent once to the meeting's channel-layer group (``meeting.<id>``):
a roster change as a ``roster.delta`` (changed rows, counts, version), a 议题 change as the agenda state. A client
that sees a gap in the versions sends {"type": "hello"} and is sent both states again.
"""

from __future__ import annotations

import json
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.http import Http404

from meetings.checkin import agenda_state, meeting_group, roster_json
from meetings.selectors import access_meeting_by_id
from oa.models import Person
from oa.realtime.consumers import CLOSE_FORBIDDEN, CLOSE_UNAUTHENTICATED

CLOSE_NOT_FOUND = 4404  # no such meeting, or not one this person may see (the same, as for pages)


@database_sync_to_async
def _states(user_pk: int, meeting_id: int) -> list[str] | None:
    person = Person.objects.filter(pk=user_pk, is_active=True).first()
    if person is None:
        return None
    try:
        meeting = access_meeting_by_id(person, meeting_id)
    except Http404:
        return []
    return [roster_json(meeting), json.dumps(agenda_state(meeting), ensure_ascii=False)]


class MeetingConsumer(AsyncWebsocketConsumer):
    groups_joined: list[str] = []

    async def connect(self) -> None:
        user = self.scope.get("user")
        meeting_id = int(self.scope["url_route"]["kwargs"]["meeting_id"])
        await self.accept()  # then close with a code the browser can read
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        if self.scope.get("auth_gate"):
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.meeting_id, self.user_pk = meeting_id, user.pk
        # Join before reading: a change committed meanwhile arrives after the states (the consumer handles one
        # message at a time), so nothing falls between the read and the first frame.
        self.groups_joined = [meeting_group(meeting_id)]
        await self.channel_layer.group_add(self.groups_joined[0], self.channel_name)
        states = await _states(user.pk, meeting_id)
        if not states:
            await self._leave()
            await self.close(code=CLOSE_UNAUTHENTICATED if states is None else CLOSE_NOT_FOUND)
            return
        for frame in states:
            await self.send(text_data=frame)

    async def disconnect(self, code: int) -> None:
        await self._leave()

    async def _leave(self) -> None:
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)
        self.groups_joined = []

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs) -> None:
        try:
            message = json.loads(text_data or "")
        except ValueError:
            return
        if isinstance(message, dict) and message.get("type") == "hello" and self.groups_joined:
            for frame in await _states(self.user_pk, self.meeting_id) or []:
                await self.send(text_data=frame)

    async def meeting_frame(self, message: dict[str, Any]) -> None:
        await self.send(text_data=message["frame"])
