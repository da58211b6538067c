"""Pick the video provider the settings name (OA_VIDEO_PROVIDER); "none" is the in-person provider."""

from __future__ import annotations

import datetime as dt

from django.conf import settings

from .base import Health, JoinInfo, Participant, RoomInfo, VideoDisabled, VideoProvider


class InPersonProvider(VideoProvider):
    """No video server configured: meetings are held in person, every video call is refused clearly."""

    name = "none"
    offers_video = False
    can_kick = False

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
        raise VideoDisabled()

    def join(self, room: RoomInfo, participant: Participant, *, is_host: bool = False) -> JoinInfo:
        raise VideoDisabled()

    def kick(self, room: RoomInfo, participant: Participant) -> None:
        raise VideoDisabled()

    def end(self, room: RoomInfo) -> None:
        raise VideoDisabled()

    def health(self) -> Health:
        return Health(True, self.name, "未配置视频会议（仅现场会议）")


def get_provider(name: str | None = None) -> VideoProvider:
    """The configured provider; `name` picks another one (a meeting keeps the provider its room was made on)."""
    name = name or settings.OA_VIDEO_PROVIDER
    timeout = float(settings.OA_VIDEO_TIMEOUT)
    if name == "janus":
        from .janus import JanusProvider, JanusSettings

        return JanusProvider(
            JanusSettings(
                url=settings.OA_VIDEO_JANUS_URL,
                public_url=settings.OA_VIDEO_JANUS_PUBLIC_URL,
                api_secret=settings.OA_VIDEO_JANUS_API_SECRET,
                token_secret=settings.OA_VIDEO_JANUS_TOKEN_SECRET,
                admin_key=settings.OA_VIDEO_JANUS_ADMIN_KEY,
                timeout=timeout,
                publishers=settings.OA_VIDEO_JANUS_PUBLISHERS,
                turn_urls=tuple(settings.OA_VIDEO_TURN_URLS),
                turn_secret=settings.OA_VIDEO_TURN_SECRET,
            )
        )
    if name == "jitsi":
        from .jitsi import JitsiProvider, JitsiSettings

        return JitsiProvider(
            JitsiSettings(
                url=settings.OA_VIDEO_JITSI_URL,
                app_id=settings.OA_VIDEO_JITSI_APP_ID,
                app_secret=settings.OA_VIDEO_JITSI_APP_SECRET,
                audience=settings.OA_VIDEO_JITSI_AUDIENCE,
                subject=settings.OA_VIDEO_JITSI_SUBJECT,
                timeout=timeout,
            )
        )
    if name == "bbb":
        from .bbb import BbbProvider, BbbSettings

        return BbbProvider(
            BbbSettings(
                url=settings.OA_VIDEO_BBB_URL,
                secret=settings.OA_VIDEO_BBB_SECRET,
                checksum=settings.OA_VIDEO_BBB_CHECKSUM,
                timeout=timeout,
            )
        )
    if name == "none":
        return InPersonProvider()
    raise ValueError(f"unknown video provider {name!r}")
