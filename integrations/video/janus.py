"""Janus WebRTC server adapter (VideoRoom plugin over the Janus HTTP API), the self-hosted default.

Access control, from the outside in (docs/video.md):
- The OA server talks to Janus with the core `api_secret` and creates rooms with the VideoRoom `admin_key`, so
  browsers (which hold only a token) cannot create rooms.
- Browsers authenticate with HMAC-SHA1 signed tokens (Janus `token_auth` + `token_auth_secret`, supported since
  Janus 0.10 and in the Debian 1.1.2 package): `<expiry>,janus,janus.plugin.videoroom,oa<feed>:<base64 hmac>`.
  Janus checks the signature, the expiry (the room's `valid_until`) and that the plugin is listed; the extra
  `oa<feed>` descriptor makes every participant's token distinct.
- Every room is private and carries a per-meeting `secret` (needed to kick, change the ACL, destroy) and a PIN,
  plus an ACL (`allowed`) that holds exactly the tokens `join` issued: an unknown token is refused even if it is
  correctly signed, and `kick` removes the token so the person cannot come back.
Tokens are deterministic (room, participant, expiry), so nothing but the RoomInfo has to be stored.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import logging
import secrets
from dataclasses import dataclass
from typing import Any

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

logger = logging.getLogger(__name__)

PLUGIN = "janus.plugin.videoroom"
REALM = "janus"  # the realm Janus checks in signed tokens (auth.c)

# VideoRoom error codes (plugins/janus_videoroom.c) that mean "the thing is already gone".
NO_SUCH_ROOM = 426
NO_SUCH_FEED = 428
UNAUTHORIZED = 433

_MESSAGES = {
    NO_SUCH_ROOM: "视频会议室已不存在（可能已结束），请重新创建。",
    UNAUTHORIZED: "视频会议室拒绝了本系统的管理口令，请联系管理员检查视频服务配置。",
}


@dataclass(frozen=True)
class JanusSettings:
    url: str  # the Janus HTTP API as the OA server reaches it, e.g. http://127.0.0.1:8088/janus
    public_url: str  # the same API as browsers reach it (same-origin path behind nginx by default)
    api_secret: str
    token_secret: str
    admin_key: str
    timeout: float = 5.0
    publishers: int = 16
    turn_urls: tuple[str, ...] = ()  # turn:turn.example.gov.cn:3478?transport=udp, turns:…:5349
    turn_secret: str = ""  # coturn `static-auth-secret` (use-auth-secret): per-participant credentials


def turn_credentials(secret: str, expires_at: dt.datetime, user: str) -> tuple[str, str]:
    """TURN REST API credentials as coturn's use-auth-secret checks them: username = "<expiry>:<user>",
    password = base64(HMAC-SHA1(secret, username)); they stop working at `expires_at`."""
    username = f"{int(expires_at.timestamp())}:{user}"
    password = base64.b64encode(hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()).decode()
    return username, password


def sign_token(secret: str, expires_at: dt.datetime, descriptors: list[str]) -> str:
    """A Janus signed token (janus_auth_check_signature): data = expiry,realm,descriptors; sig = b64(HMAC-SHA1)."""
    data = ",".join([str(int(expires_at.timestamp())), REALM, *descriptors])
    signature = hmac.new(secret.encode(), data.encode(), hashlib.sha1).digest()
    return f"{data}:{base64.b64encode(signature).decode()}"


def feed_id_for(room_id: str, participant_key: str) -> int:
    """A stable VideoRoom participant id per (room, person): kick needs it, and it stays below 2**53 for JS."""
    digest = hashlib.sha256(f"{room_id}:{participant_key}".encode()).digest()
    return int.from_bytes(digest[:6], "big") or 1


class JanusHttp:
    """Minimal Janus HTTP API client for administrative calls: one short session per operation."""

    def __init__(self, settings: JanusSettings) -> None:
        self.settings = settings
        self.pool = http_pool()

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        body = {**body, "transaction": secrets.token_hex(8)}
        if self.settings.api_secret:
            body["apisecret"] = self.settings.api_secret
        return self._request("POST", self.settings.url.rstrip("/") + path, json.dumps(body).encode())

    def _request(self, method: str, url: str, payload: bytes | None = None) -> dict[str, Any]:
        data = http_call(self.pool, method, url, body=payload, headers={"Content-Type": "application/json"},
                         timeout=self.settings.timeout, label=f"janus {url}")
        try:
            answer = json.loads(data)
        except ValueError as exc:
            raise VideoUnavailable(f"janus {url}: not JSON") from exc
        if not isinstance(answer, dict):
            raise VideoUnavailable(f"janus {url}: unexpected answer")
        if answer.get("janus") == "error":
            # Core-level errors (403 wrong api_secret, 458 session gone …) are configuration or server trouble.
            raise VideoUnavailable(f"janus {url}: {answer.get('error')}")
        return answer

    def info(self) -> dict[str, Any]:
        return self._request("GET", self.settings.url.rstrip("/") + "/info")

    def videoroom(self, body: dict[str, Any]) -> dict[str, Any]:
        """Send one synchronous VideoRoom request and return its plugin data (errors raised as VideoRefused)."""
        session = self._post("", {"janus": "create"})["data"]["id"]
        try:
            handle = self._post(f"/{session}", {"janus": "attach", "plugin": PLUGIN})["data"]["id"]
            answer = self._post(f"/{session}/{handle}", {"janus": "message", "body": body})
        finally:
            try:
                self._post(f"/{session}", {"janus": "destroy"})
            except VideoUnavailable:
                logger.warning("janus session %s not destroyed; it times out on its own", session)
        try:
            data = answer["plugindata"]["data"]
        except (KeyError, TypeError) as exc:
            raise VideoUnavailable(f"janus videoroom {body.get('request')}: no plugin data") from exc
        if "error_code" in data:
            code = data["error_code"]
            raise VideoRefused(
                _MESSAGES.get(code, "视频会议服务拒绝了该操作，请稍后重试或联系管理员。"),
                provider_code=code,
                detail=str(data.get("error", "")),
            )
        return data


class JanusProvider(VideoProvider):
    lists_participants = True
    name = "janus"

    def __init__(self, settings: JanusSettings) -> None:
        self.settings = settings
        self.http = JanusHttp(settings)

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
        pin = pin or new_pin()
        data = self.http.videoroom(
            {
                "request": "create",
                "admin_key": self.settings.admin_key,
                "description": title[:120],
                "is_private": True,  # not listed to anyone holding a token
                "secret": secret,
                "pin": pin,
                "allowed": [],  # an empty ACL already refuses every token until join() adds one
                "publishers": self.settings.publishers,
                "notify_joining": True,
                "record": False,
            }
        )
        return RoomInfo(
            provider=self.name,
            room_id=str(data["room"]),
            meeting_key=meeting_key,
            title=title,
            secret=secret,
            pin=pin,
            valid_until=valid_until,
            extra={"host": host.key},
        )

    def token_for(self, room: RoomInfo, participant: Participant) -> tuple[int, str]:
        feed = feed_id_for(room.room_id, participant.key)
        return feed, sign_token(self.settings.token_secret, room.valid_until, [PLUGIN, f"oa{feed}"])

    def join(self, room: RoomInfo, participant: Participant, *, is_host: bool = False) -> JoinInfo:
        feed, token = self.token_for(room, participant)
        self.http.videoroom(
            {"request": "allowed", "room": int(room.room_id), "secret": room.secret, "action": "add", "allowed": [token]}
        )
        return JoinInfo(
            provider=self.name,
            url=self.settings.public_url,
            room_id=room.room_id,
            display=participant.name,
            is_host=is_host,
            expires_at=room.valid_until,
            token=token,
            pin=room.pin,
            feed_id=feed,
            ice_servers=self.ice_servers(room, feed),
        )

    def ice_servers(self, room: RoomInfo, feed: int) -> list[dict[str, Any]]:
        if not self.settings.turn_urls:
            return []
        if not self.settings.turn_secret:
            return [{"urls": list(self.settings.turn_urls)}]
        username, credential = turn_credentials(self.settings.turn_secret, room.valid_until, f"oa{feed}")
        return [{"urls": list(self.settings.turn_urls), "username": username, "credential": credential}]

    def kick(self, room: RoomInfo, participant: Participant) -> None:
        feed, token = self.token_for(room, participant)
        # Revoke first: between the two calls the person may be reconnecting, and must not get back in.
        self.http.videoroom(
            {"request": "allowed", "room": int(room.room_id), "secret": room.secret, "action": "remove", "allowed": [token]}
        )
        try:
            self.http.videoroom({"request": "kick", "room": int(room.room_id), "secret": room.secret, "id": feed})
        except VideoRefused as exc:
            if exc.provider_code != NO_SUCH_FEED:  # not in the room right now: revoking was all there was to do
                raise

    def end(self, room: RoomInfo) -> None:
        try:
            self.http.videoroom({"request": "destroy", "room": int(room.room_id), "secret": room.secret})
        except VideoRefused as exc:
            if exc.provider_code != NO_SUCH_ROOM:
                raise

    def present_keys(self, room: RoomInfo, participants: list[Participant]) -> set[str]:
        # Feed ids are derived from (room, person), so the room's own list says who of them is really in.
        inside = {p.get("id") for p in self.participants(room)}
        return {p.key for p in participants if feed_id_for(room.room_id, p.key) in inside}

    def participants(self, room: RoomInfo) -> list[dict[str, Any]]:
        """Who is in the room now (id, display, publisher): the roster counts online attendees from it."""
        data = self.http.videoroom({"request": "listparticipants", "room": int(room.room_id)})
        return list(data.get("participants", []))

    def health(self) -> Health:
        try:
            info = self.http.info()
        except VideoUnavailable as exc:
            return Health(False, self.name, exc.detail)
        if PLUGIN not in (info.get("plugins") or {}):
            return Health(False, self.name, "Janus 未加载 VideoRoom 插件")
        if not info.get("auth_token"):
            return Health(False, self.name, "Janus 未启用 token_auth：浏览器无需令牌即可连接")
        return Health(True, self.name, f"Janus {info.get('version_string', '?')}")
