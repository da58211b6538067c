"""Janus adapter against a real Janus (tests/video/conftest.py): rooms, signed tokens, PIN, kick, destroy."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from janus_server import BrowserSide, free_port

from integrations.video.base import Participant, VideoRefused, VideoUnavailable
from integrations.video.janus import JanusProvider, JanusSettings, sign_token

HOST = Participant("101", "王芳")
GUEST = Participant("102", "张伟", "zhangwei@example.gov.cn")


def _room(janus, *, hours: float = 2, key: str = "m-1"):
    return janus.create_room(key, "区政府常务会议", HOST, valid_until=timezone.now() + dt.timedelta(hours=hours))


def test_health_names_the_server(janus):
    health = janus.health()
    assert health.ok, health.detail
    assert health.detail == "Janus 1.1.2" or health.detail.startswith("Janus ")


def test_room_join_kick_and_destroy(janus, janus_server):
    room = _room(janus)
    assert room.provider == "janus" and room.room_id.isdigit() and len(room.pin) == 6 and room.secret
    host_info = janus.join(room, HOST, is_host=True)
    guest_info = janus.join(room, GUEST)
    assert host_info.is_host and not guest_info.is_host
    assert host_info.token != guest_info.token and host_info.feed_id != guest_info.feed_id
    assert guest_info.client_config()["server"] == janus_server.url and "secret" not in guest_info.client_config()

    browser = BrowserSide(janus_server.url, guest_info.token)
    assert browser.open()["janus"] == "success"
    joined = browser.join(guest_info)
    assert joined["videoroom"] == "joined", joined
    assert joined["room"] == int(room.room_id) and joined["id"] == guest_info.feed_id
    assert joined["description"] == "区政府常务会议"
    assert [(p["id"], p["display"]) for p in janus.participants(room)] == [(guest_info.feed_id, "张伟")]

    janus.kick(room, GUEST)
    assert janus.participants(room) == []
    # Kicked means the way back in is revoked too: a fresh session with the same token is refused at join.
    again = BrowserSide(janus_server.url, guest_info.token)
    again.open()
    refused = again.join(guest_info)
    assert refused["error_code"] == 433 and "allowed" in refused["error"]

    janus.end(room)
    with pytest.raises(VideoRefused) as gone:
        janus.participants(room)
    assert gone.value.provider_code == 426
    janus.end(room)  # ending twice is not an error


def test_kick_of_someone_not_in_the_room_only_revokes(janus, janus_server):
    room = _room(janus, key="m-kick")
    info = janus.join(room, GUEST)
    janus.kick(room, GUEST)
    browser = BrowserSide(janus_server.url, info.token)
    browser.open()
    assert browser.join(info)["error_code"] == 433
    janus.end(room)


def test_wrong_pin_is_refused(janus, janus_server):
    room = _room(janus, key="m-pin")
    info = janus.join(room, GUEST)
    browser = BrowserSide(janus_server.url, info.token)
    browser.open()
    refused = browser.join(info, pin="000000" if room.pin != "000000" else "111111")
    assert refused["error_code"] == 433 and "pin" in refused["error"]
    assert janus.participants(room) == []
    janus.end(room)


def test_expired_token_is_refused_by_janus(janus, janus_server):
    room = janus.create_room("m-old", "过期会议", HOST, valid_until=timezone.now() - dt.timedelta(minutes=1))
    info = janus.join(room, GUEST)
    answer = BrowserSide(janus_server.url, info.token).open()
    assert answer["janus"] == "error" and answer["error"]["code"] == 403
    janus.end(room)


def test_unknown_tokens_are_refused(janus, janus_server):
    room = _room(janus, key="m-unknown")
    janus.join(room, GUEST)
    later = timezone.now() + dt.timedelta(hours=1)
    # Not signed with our secret, or not signed at all: Janus refuses the session.
    forged = sign_token("not-the-secret", later, ["janus.plugin.videoroom"])
    for token in (forged, "garbage", ""):
        answer = BrowserSide(janus_server.url, token).open()
        assert answer["janus"] == "error" and answer["error"]["code"] == 403, token
    # Correctly signed but never admitted to this room (another room's participant): the room's ACL refuses it.
    other = _room(janus, key="m-other")
    outsider = janus.join(other, Participant("103", "李娜"))
    browser = BrowserSide(janus_server.url, outsider.token)
    browser.open()
    refused = browser.join(outsider, room=int(room.room_id), pin=room.pin)
    assert refused["error_code"] == 433
    janus.end(room)
    janus.end(other)


def test_a_token_holder_cannot_create_or_destroy_rooms(janus, janus_server):
    room = _room(janus, key="m-admin")
    info = janus.join(room, GUEST)
    browser = BrowserSide(janus_server.url, info.token)
    browser.open()
    created = browser.post(
        f"/{browser.session}/{browser.handle}", {"janus": "message", "body": {"request": "create", "room": 4242}}
    )
    assert created["plugindata"]["data"]["error_code"] in {429, 433}  # admin_key missing / wrong
    destroyed = browser.post(
        f"/{browser.session}/{browser.handle}",
        {"janus": "message", "body": {"request": "destroy", "room": int(room.room_id), "secret": "guess"}},
    )
    assert destroyed["plugindata"]["data"]["error_code"] == 433
    janus.end(room)


def test_wrong_api_secret_or_admin_key_is_a_clear_error(janus_server):
    from janus_server import TOKEN_SECRET

    wrong_secret = JanusProvider(JanusSettings(janus_server.url, janus_server.url, "wrong", TOKEN_SECRET, "x"))
    with pytest.raises(VideoUnavailable):
        wrong_secret.create_room("m-x", "会议", HOST, valid_until=timezone.now())
    from janus_server import API_SECRET

    wrong_key = JanusProvider(JanusSettings(janus_server.url, janus_server.url, API_SECRET, TOKEN_SECRET, "wrong"))
    with pytest.raises(VideoRefused) as refused:
        wrong_key.create_room("m-x", "会议", HOST, valid_until=timezone.now())
    assert refused.value.code == "video_refused" and refused.value.status == 409


def test_unreachable_janus_is_video_unavailable():
    port = free_port()  # bound and released: nothing listens there
    url = f"http://127.0.0.1:{port}/janus"
    provider = JanusProvider(JanusSettings(url, url, "s", "t", "k", timeout=2))
    with pytest.raises(VideoUnavailable) as down:
        provider.create_room("m-down", "会议", HOST, valid_until=timezone.now())
    assert down.value.code == "video_unavailable" and down.value.status == 503 and down.value.retryable
    assert down.value.message.startswith("视频会议服务暂不可用")
    assert not provider.health().ok



def test_turn_credentials_follow_coturn_rest_scheme(janus_server):
    import base64
    import hashlib
    import hmac

    from janus_server import ADMIN_KEY, API_SECRET, TOKEN_SECRET

    provider = JanusProvider(JanusSettings(
        janus_server.url, "/janus", API_SECRET, TOKEN_SECRET, ADMIN_KEY,
        turn_urls=("turn:turn.jiedong.example:3478?transport=udp",), turn_secret="coturn-static-auth-secret",
    ))
    room = _room(provider, key="m-turn")
    info = provider.join(room, GUEST)
    [server] = info.client_config()["iceServers"]
    expiry, _, user = server["username"].partition(":")
    assert int(expiry) == int(room.valid_until.timestamp()) and user == f"oa{info.feed_id}"
    expected = hmac.new(b"coturn-static-auth-secret", server["username"].encode(), hashlib.sha1).digest()
    assert base64.b64decode(server["credential"]) == expected
    assert server["urls"] == ["turn:turn.jiedong.example:3478?transport=udp"]
    provider.end(room)
