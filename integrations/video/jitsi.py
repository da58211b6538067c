"""Jitsi Meet adapter: a room name plus a per-participant HS256 JWT (Jitsi token authentication, prosody
`token_verification`; claims as in the Jitsi handbook "token-authentication": iss/aud/sub/room/exp/nbf and
context.user). Jitsi creates a room when the first person enters and drops it when the last one leaves, so
there is nothing to create or destroy on the server; the token's `exp` (the room's valid_until) closes it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

import jwt
import urllib3
from django.utils import timezone

from .base import Health, JoinInfo, Participant, RoomInfo, VideoProvider, VideoRefused, new_pin, new_secret

# Clock skew between the OA and prosody: the token becomes valid a little before it is issued.
NOT_BEFORE_SKEW = dt.timedelta(minutes=2)


@dataclass(frozen=True)
class JitsiSettings:
    url: str  # https://meet.example.gov.cn (no trailing slash)
    app_id: str  # prosody app_id  -> iss
    app_secret: str  # prosody app_secret (HS256 key)
    audience: str = "jitsi"  # -> aud
    subject: str = ""  # -> sub: the tenant or the domain; default the URL's host
    timeout: float = 5.0


def room_name(meeting_key: str) -> str:
    """Lower-case, URL-safe and not guessable from the meeting key alone (Jitsi rooms are public by name)."""
    digest = hashlib.sha256(meeting_key.encode()).hexdigest()[:8]
    return f"oa{digest}{secrets.token_hex(6)}"


class JitsiProvider(VideoProvider):
    name = "jitsi"
    can_kick = False  # no server API: the 主持人 (moderator) removes people in the Jitsi window

    def __init__(self, settings: JitsiSettings) -> None:
        self.settings = settings

    @property
    def subject(self) -> str:
        return self.settings.subject or (urlsplit(self.settings.url).hostname or "")

    def create_room(
        self,
        meeting_key: str,
        title: str,
        host: Participant,
        *,
        valid_until: dt.datetime,
        secret: str | None = None,
        pin: str | None = None,
    ) -> RoomInfo:
        return RoomInfo(
            provider=self.name,
            room_id=room_name(meeting_key),
            meeting_key=meeting_key,
            title=title,
            secret=secret or new_secret(),
            pin=pin or new_pin(),
            valid_until=valid_until,
            extra={"host": host.key},
        )

    def token(self, room: RoomInfo, participant: Participant, *, is_host: bool) -> str:
        now = timezone.now()
        claims = {
            "iss": self.settings.app_id,
            "aud": self.settings.audience,
            "sub": self.subject,
            "room": room.room_id,
            "iat": int(now.timestamp()),
            "nbf": int((now - NOT_BEFORE_SKEW).timestamp()),
            "exp": int(room.valid_until.timestamp()),
            "context": {
                "user": {
                    "id": participant.key,
                    "name": participant.name,
                    "email": participant.email,
                    "moderator": is_host,  # read by jitsi-meet and token_moderation-style prosody modules
                    "affiliation": "owner" if is_host else "member",  # read by token_affiliation
                }
            },
        }
        return jwt.encode(claims, self.settings.app_secret, algorithm="HS256")

    def join(self, room: RoomInfo, participant: Participant, *, is_host: bool = False) -> JoinInfo:
        token = self.token(room, participant, is_host=is_host)
        return JoinInfo(
            provider=self.name,
            url=f"{self.settings.url.rstrip('/')}/{quote(room.room_id)}?jwt={token}",
            room_id=room.room_id,
            display=participant.name,
            is_host=is_host,
            expires_at=room.valid_until,
            token=token,
        )

    def kick(self, room: RoomInfo, participant: Participant) -> None:
        raise VideoRefused("Jitsi 会议请主持人在会议界面中将其移出；本系统无法从服务器端移出参会人。")

    def end(self, room: RoomInfo) -> None:
        # Nothing to destroy: the room lives only while someone is in it, and no token outlives valid_until.
        return None

    def health(self) -> Health:
        return http_health(self.name, self.settings.url, self.settings.timeout)


def http_health(provider: str, url: str, timeout: float) -> Health:
    try:
        response = urllib3.request("GET", url, timeout=urllib3.Timeout(total=timeout), retries=False)
    except urllib3.exceptions.HTTPError as exc:
        return Health(False, provider, str(exc))
    return Health(response.status == 200, provider, f"HTTP {response.status}")
