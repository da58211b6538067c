"""The provider interface every video adapter implements, its value types and its errors."""

from __future__ import annotations

import datetime as dt
import secrets
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from typing import Any

import urllib3

from oa.refusals import Refusal


class VideoUnavailable(Refusal):
    """The video server cannot be reached or answers nonsense: the caller keeps the meeting and retries later."""

    retryable = True

    def __init__(self, detail: str = "") -> None:
        super().__init__("video_unavailable", "视频会议服务暂不可用，请稍后重试（会议信息已保存，不受影响）。", 503)
        self.detail = detail  # for the log, never shown to people


class VideoRefused(Refusal):
    """The video server answered and said no (room gone, wrong room secret): retrying the same call won't help."""

    retryable = False

    def __init__(self, message: str, *, provider_code: int | str | None = None, detail: str = "") -> None:
        super().__init__("video_refused", message, 409)
        self.provider_code = provider_code
        self.detail = detail


def http_pool(maxsize: int = 4) -> urllib3.PoolManager:
    """The adapters' connection pool: no urllib3 retries (a failed call is retried by meetings' job, later)."""
    return urllib3.PoolManager(num_pools=2, maxsize=maxsize, retries=False)


def http_call(pool: urllib3.PoolManager, method: str, url: str, *, timeout: float, label: str,
              body: bytes | None = None, headers: dict[str, str] | None = None) -> bytes:
    """One call to a video server: transport errors, timeouts and non-200 answers are VideoUnavailable (keep
    the meeting, retry later); the body is returned for the adapter to read. `label` names the call in logs."""
    try:
        response = pool.request(method, url, body=body, headers=headers,
                                timeout=urllib3.Timeout(total=timeout))
    except urllib3.exceptions.HTTPError as exc:
        raise VideoUnavailable(f"{label}: {exc}") from exc
    if response.status != 200:
        raise VideoUnavailable(f"{label}: HTTP {response.status}")
    return response.data


class VideoDisabled(Refusal):
    def __init__(self) -> None:
        super().__init__("video_disabled", "本系统未配置视频会议，只能召开现场会议。", 409)


@dataclass(frozen=True)
class Participant:
    """Someone who may enter a room: `key` is stable for the person (the user id), `name` is shown to others."""

    key: str
    name: str
    email: str = ""


@dataclass(frozen=True)
class RoomInfo:
    """What the caller stores with the meeting (`to_dict()` into a JSONField). `secret` never leaves the server."""

    provider: str
    room_id: str
    meeting_key: str
    title: str
    secret: str
    pin: str
    valid_until: dt.datetime
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["valid_until"] = self.valid_until.isoformat()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RoomInfo:
        values = dict(data)
        values["valid_until"] = dt.datetime.fromisoformat(values["valid_until"])
        return cls(**values)


@dataclass(frozen=True)
class JoinInfo:
    """One participant's way in. `url` is the page to open (Jitsi, BBB) or the Janus API the join script uses."""

    provider: str
    url: str
    room_id: str
    display: str
    is_host: bool
    expires_at: dt.datetime
    token: str = ""
    pin: str = ""
    feed_id: int | None = None
    # RTCIceServer dicts for the browser (TURN with per-participant credentials); empty: host candidates only.
    ice_servers: list[dict[str, Any]] = field(default_factory=list)

    def client_config(self) -> dict[str, Any]:
        """The JSON the join page reads (json_script): everything the browser needs, and nothing more."""
        return {
            "provider": self.provider,
            "server": self.url,
            "room": self.room_id,
            "display": self.display,
            "isHost": self.is_host,
            "token": self.token,
            "pin": self.pin,
            "feedId": self.feed_id,
            "iceServers": self.ice_servers,
            "expiresAt": self.expires_at.isoformat(),
        }


@dataclass(frozen=True)
class Health:
    ok: bool
    provider: str
    detail: str


def new_secret() -> str:
    return secrets.token_urlsafe(24)


def new_pin() -> str:
    # Six digits: typed on a phone when someone joins by room number; the token, not the PIN, is the real gate.
    return f"{secrets.randbelow(10**6):06d}"


class VideoProvider(ABC):
    name: str = ""
    #: False only for the in-person provider: callers hide every video control.
    offers_video: bool = True
    #: Whether `kick` works from the server (Janus); elsewhere the 主持人 removes people in the provider's window.
    can_kick: bool = True
    #: Whether the server can say who is in a room now (Janus): then presence is read from the room, not assumed
    #: when a join token is issued.
    lists_participants: bool = False

    def present_keys(self, room: RoomInfo, participants: list[Participant]) -> set[str]:
        """The keys of those of `participants` who are in the room now (only where `lists_participants`)."""
        raise NotImplementedError(f"{self.name} cannot list the people in a room")

    @abstractmethod
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
        """Create a private room for one meeting; tokens issued for it expire at `valid_until`."""

    @abstractmethod
    def join(self, room: RoomInfo, participant: Participant, *, is_host: bool = False) -> JoinInfo:
        """Admit one (already authorised) participant and return what their browser needs."""

    @abstractmethod
    def kick(self, room: RoomInfo, participant: Participant) -> None:
        """Put the participant out and revoke their way back in (until `join` admits them again)."""

    @abstractmethod
    def end(self, room: RoomInfo) -> None:
        """End the meeting for everyone and destroy the room; ending a room already gone is not an error."""

    @abstractmethod
    def health(self) -> Health:
        """Whether the server answers, for the ops page; never raises."""
