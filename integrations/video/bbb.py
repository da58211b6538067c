"""BigBlueButton adapter: create/join/end through the BBB API with its checksum (API reference, "Usage"):
checksum = sha(callName + queryString + sharedSecret), sha1 or sha256 as the server allows
(`supportedChecksumAlgorithms`). BBB has no scheduler (its maintainers say scheduling belongs to the front end),
which is what meetings/ is; and no API call that removes one participant, so kicking is the moderator's in BBB.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from urllib.parse import urlencode
from xml.etree import ElementTree

from .base import (
    Health,
    JoinInfo,
    Participant,
    RoomInfo,
    VideoProvider,
    VideoRefused,
    VideoUnavailable,
    http_call,
    http_pool,
    new_pin,
    new_secret,
)
from .jitsi import http_health

ALGORITHMS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256}


@dataclass(frozen=True)
class BbbSettings:
    url: str  # the API endpoint, e.g. https://bbb.example.gov.cn/bigbluebutton/api
    secret: str  # `bbb-conf --secret`
    checksum: str = "sha256"
    timeout: float = 5.0


def checksum(call: str, query: str, secret: str, algorithm: str = "sha1") -> str:
    return ALGORITHMS[algorithm]((call + query + secret).encode()).hexdigest()


def signed_query(call: str, params: dict[str, str], secret: str, algorithm: str) -> str:
    query = urlencode(params)  # quote_plus: spaces as '+', as in the documented example
    return f"{query}&checksum={checksum(call, query, secret, algorithm)}"


class BbbProvider(VideoProvider):
    name = "bbb"
    can_kick = False

    def __init__(self, settings: BbbSettings) -> None:
        if settings.checksum not in ALGORITHMS:
            raise ValueError("OA_VIDEO_BBB_CHECKSUM 只能是 sha1 或 sha256")
        self.settings = settings
        self.pool = http_pool()

    def url(self, call: str, params: dict[str, str]) -> str:
        query = signed_query(call, params, self.settings.secret, self.settings.checksum)
        return f"{self.settings.url.rstrip('/')}/{call}?{query}"

    def _call(self, call: str, params: dict[str, str]) -> ElementTree.Element:
        data = http_call(self.pool, "GET", self.url(call, params), timeout=self.settings.timeout, label=f"bbb {call}")
        try:
            root = ElementTree.fromstring(data)  # noqa: S314 — our own configured server's answer
        except ElementTree.ParseError as exc:
            raise VideoUnavailable(f"bbb {call}: not XML") from exc
        if root.findtext("returncode") != "SUCCESS":
            key = root.findtext("messageKey") or ""
            if key == "checksumError":
                raise VideoUnavailable(f"bbb {call}: checksumError (OA_VIDEO_BBB_SECRET?)")
            raise VideoRefused(
                "BigBlueButton 拒绝了该操作，请稍后重试或联系管理员。", provider_code=key,
                detail=root.findtext("message") or "",
            )
        return root

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
        secret = secret or new_secret()
        attendee_pw = new_secret()
        root = self._call(
            "create",
            {
                "name": title,
                "meetingID": meeting_key,
                "moderatorPW": secret,  # BBB ≥ 2.6 uses join's role=; older servers still need the passwords
                "attendeePW": attendee_pw,
                "record": "false",
            },
        )
        return RoomInfo(
            provider=self.name,
            room_id=root.findtext("meetingID") or meeting_key,
            meeting_key=meeting_key,
            title=title,
            secret=secret,
            pin=pin or new_pin(),
            valid_until=valid_until,
            extra={"attendee_pw": attendee_pw, "internal_id": root.findtext("internalMeetingID") or "",
                   "host": host.key},
        )

    def join(self, room: RoomInfo, participant: Participant, *, is_host: bool = False) -> JoinInfo:
        # The join URL is a signed link the browser opens; it is made when the person clicks, never stored.
        url = self.url(
            "join",
            {
                "fullName": participant.name,
                "meetingID": room.room_id,
                "role": "MODERATOR" if is_host else "VIEWER",
                "password": room.secret if is_host else room.extra["attendee_pw"],
                "userID": participant.key,
                "redirect": "true",
            },
        )
        return JoinInfo(
            provider=self.name, url=url, room_id=room.room_id, display=participant.name,
            is_host=is_host, expires_at=room.valid_until,
        )

    def kick(self, room: RoomInfo, participant: Participant) -> None:
        raise VideoRefused("BigBlueButton 会议请主持人在会议界面中将其移出；本系统无法从服务器端移出参会人。")

    def end(self, room: RoomInfo) -> None:
        try:
            self._call("end", {"meetingID": room.room_id, "password": room.secret})
        except VideoRefused as exc:
            if exc.provider_code != "notFound":  # already over
                raise

    def health(self) -> Health:
        return http_health(self.name, self.settings.url, self.settings.timeout)
