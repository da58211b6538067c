"""Jitsi and BigBlueButton adapters against their documented contracts, the in-person provider, the settings."""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import jwt
import pytest
from django.utils import timezone
from janus_server import free_port

from integrations.video.base import (
    Participant,
    RoomInfo,
    VideoDisabled,
    VideoRefused,
    VideoUnavailable,
)
from integrations.video.bbb import BbbProvider, BbbSettings, checksum
from integrations.video.config import InPersonProvider, get_provider
from integrations.video.jitsi import JitsiProvider, JitsiSettings

HOST = Participant("101", "王芳", "wangfang@example.gov.cn")
GUEST = Participant("102", "张伟", "zhangwei@example.gov.cn")


# --- Jitsi -----------------------------------------------------------------------------------------------

JITSI = JitsiSettings(url="https://meet.jiedong.example", app_id="district-oa", app_secret="jitsi-app-secret-for-tests-0123456789abcdef")


def test_jitsi_jwt_carries_the_documented_claims():
    provider = JitsiProvider(JITSI)
    until = timezone.now() + dt.timedelta(hours=2)
    room = provider.create_room("meeting-42", "党组会", HOST, valid_until=until)
    assert room.room_id.startswith("oa") and room.room_id == room.room_id.lower()
    host = provider.join(room, HOST, is_host=True)
    guest = provider.join(room, GUEST)

    claims = jwt.decode(host.token, "jitsi-app-secret-for-tests-0123456789abcdef", algorithms=["HS256"], audience="jitsi",
                        issuer="district-oa")
    assert jwt.get_unverified_header(host.token)["alg"] == "HS256"
    assert claims["sub"] == "meet.jiedong.example" and claims["room"] == room.room_id
    assert claims["exp"] == int(until.timestamp())
    assert claims["nbf"] <= int(timezone.now().timestamp()) < claims["exp"]
    assert claims["context"]["user"] == {
        "id": "101", "name": "王芳", "email": "wangfang@example.gov.cn", "moderator": True, "affiliation": "owner",
    }
    guest_claims = jwt.decode(guest.token, "jitsi-app-secret-for-tests-0123456789abcdef", algorithms=["HS256"], audience="jitsi")
    assert guest_claims["context"]["user"]["moderator"] is False
    assert guest_claims["context"]["user"]["affiliation"] == "member"
    assert guest.url == f"https://meet.jiedong.example/{room.room_id}?jwt={guest.token}"
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(guest.token, "another-secret-0123456789abcdef0123456789", algorithms=["HS256"], audience="jitsi")


def test_jitsi_token_expires_with_the_room():
    provider = JitsiProvider(JITSI)
    room = provider.create_room("meeting-43", "会议", HOST, valid_until=timezone.now() - dt.timedelta(seconds=1))
    with pytest.raises(jwt.ExpiredSignatureError):
        jwt.decode(provider.join(room, GUEST).token, JITSI.app_secret, algorithms=["HS256"], audience="jitsi")
    with pytest.raises(VideoRefused):
        provider.kick(room, GUEST)
    assert not provider.can_kick


# --- BigBlueButton ----------------------------------------------------------------------------------------


def test_bbb_checksum_reproduces_the_documented_vector():
    # BigBlueButton API reference, "Usage": create with this query and shared secret gives this SHA-1.
    query = "name=Test+Meeting&meetingID=abc123&attendeePW=111222&moderatorPW=333444"
    secret = "639259d4-9dd8-4b25-bf01-95f9567eaf4b"
    assert checksum("create", query, secret, "sha1") == "1fcbb0c4fc1f039f73aa6d697d2db9ba7f803f17"
    assert checksum("create", query, secret, "sha256") == hashlib.sha256(
        f"create{query}{secret}".encode()).hexdigest()


def test_bbb_url_encodes_params_as_the_docs_do():
    provider = BbbProvider(BbbSettings("https://bbb.example/bigbluebutton/api", "639259d4-9dd8-4b25-bf01-95f9567eaf4b",
                                       "sha1"))
    url = provider.url("create", {"name": "Test Meeting", "meetingID": "abc123", "attendeePW": "111222",
                                  "moderatorPW": "333444"})
    assert url == ("https://bbb.example/bigbluebutton/api/create?name=Test+Meeting&meetingID=abc123"
                   "&attendeePW=111222&moderatorPW=333444&checksum=1fcbb0c4fc1f039f73aa6d697d2db9ba7f803f17")


class FakeBbb:
    """A loopback server answering create/end as BBB does, checking every checksum with the shared secret."""

    def __init__(self, secret: str, algorithm: str) -> None:
        self.secret, self.algorithm = secret, algorithm
        self.meetings: dict[str, dict[str, str]] = {}
        self.calls: list[str] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                path = urlsplit(self.path)
                call = path.path.rsplit("/", 1)[-1]
                fake.calls.append(call)
                query, _, given = path.query.rpartition("&checksum=")
                expected = hashlib.new(fake.algorithm, f"{call}{query}{fake.secret}".encode()).hexdigest()
                params = dict(parse_qsl(query))
                if given != expected:
                    body = "<response><returncode>FAILED</returncode><messageKey>checksumError</messageKey></response>"
                elif call == "create":
                    fake.meetings[params["meetingID"]] = params
                    body = (f"<response><returncode>SUCCESS</returncode><meetingID>{params['meetingID']}</meetingID>"
                            "<internalMeetingID>int-1</internalMeetingID></response>")
                elif call == "end" and params.get("meetingID") in fake.meetings:
                    meeting = fake.meetings[params["meetingID"]]
                    if params.get("password") != meeting["moderatorPW"]:
                        body = "<response><returncode>FAILED</returncode><messageKey>invalidPassword</messageKey></response>"
                    else:
                        del fake.meetings[params["meetingID"]]
                        body = "<response><returncode>SUCCESS</returncode><messageKey>sentEndMeetingRequest</messageKey></response>"
                elif call == "end":
                    body = "<response><returncode>FAILED</returncode><messageKey>notFound</messageKey></response>"
                else:
                    body = "<response><returncode>SUCCESS</returncode><version>2.0</version></response>"
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/bigbluebutton/api"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(params=["sha1", "sha256"])
def fake_bbb(request):
    server = FakeBbb("bbb-shared-secret-for-tests", request.param)
    yield server
    server.close()


def test_bbb_create_join_end_against_a_checksum_checking_server(fake_bbb):
    provider = BbbProvider(BbbSettings(fake_bbb.url, "bbb-shared-secret-for-tests", fake_bbb.algorithm))
    room = provider.create_room("meeting-7", "防汛工作 会议", HOST, valid_until=timezone.now())
    assert room.room_id == "meeting-7" and room.extra["internal_id"] == "int-1"
    assert fake_bbb.meetings["meeting-7"]["name"] == "防汛工作 会议"
    assert fake_bbb.meetings["meeting-7"]["moderatorPW"] == room.secret

    host = provider.join(room, HOST, is_host=True)
    guest = provider.join(room, GUEST)
    for info, role, password in ((host, "MODERATOR", room.secret), (guest, "VIEWER", room.extra["attendee_pw"])):
        split = urlsplit(info.url)
        query, _, given = split.query.rpartition("&checksum=")
        assert given == hashlib.new(fake_bbb.algorithm, f"join{query}bbb-shared-secret-for-tests".encode()).hexdigest()
        params = dict(parse_qsl(query))
        assert params["role"] == role and params["password"] == password and params["meetingID"] == "meeting-7"
    assert dict(parse_qsl(urlsplit(guest.url).query))["fullName"] == "张伟"

    provider.end(room)
    assert "meeting-7" not in fake_bbb.meetings
    provider.end(room)  # already over: notFound is not an error
    assert provider.health().ok


def test_bbb_wrong_secret_or_no_server_is_unavailable(fake_bbb):
    wrong = BbbProvider(BbbSettings(fake_bbb.url, "not-the-secret", fake_bbb.algorithm))
    with pytest.raises(VideoUnavailable):
        wrong.create_room("meeting-8", "会议", HOST, valid_until=timezone.now())
    down = BbbProvider(BbbSettings(f"http://127.0.0.1:{free_port()}/bigbluebutton/api", "s", "sha1", timeout=2))
    with pytest.raises(VideoUnavailable):
        down.create_room("meeting-9", "会议", HOST, valid_until=timezone.now())
    assert not down.health().ok


def test_bbb_refusal_other_than_not_found_is_reported(fake_bbb):
    provider = BbbProvider(BbbSettings(fake_bbb.url, "bbb-shared-secret-for-tests", fake_bbb.algorithm))
    room = provider.create_room("meeting-10", "会议", HOST, valid_until=timezone.now())
    forged = RoomInfo(**{**room.to_dict(), "valid_until": room.valid_until, "secret": "not-the-moderator-pw"})
    with pytest.raises(VideoRefused) as refused:
        provider.end(forged)
    assert refused.value.provider_code == "invalidPassword"


# --- Provider choice and value types ---------------------------------------------------------------------


def test_in_person_provider_refuses_video_clearly():
    provider = InPersonProvider()
    assert not provider.offers_video and provider.health().ok
    with pytest.raises(VideoDisabled) as disabled:
        provider.create_room("m", "会议", HOST, valid_until=timezone.now())
    assert disabled.value.code == "video_disabled" and "现场会议" in disabled.value.message


def test_get_provider_follows_settings(settings):
    settings.OA_VIDEO_PROVIDER = "none"
    assert get_provider().name == "none"
    settings.OA_VIDEO_JITSI_URL = "https://meet.example"
    settings.OA_VIDEO_JITSI_APP_ID = "oa"
    settings.OA_VIDEO_JITSI_APP_SECRET = "s"
    settings.OA_VIDEO_PROVIDER = "jitsi"
    assert isinstance(get_provider(), JitsiProvider)
    settings.OA_VIDEO_BBB_URL = "https://bbb.example/bigbluebutton/api"
    settings.OA_VIDEO_BBB_SECRET = "s"
    assert get_provider("bbb").name == "bbb"
    assert get_provider("janus").name == "janus"


def test_room_info_round_trips_through_json():
    import json

    room = RoomInfo("janus", "123", "m-1", "会议", "sec", "123456", timezone.now(), {"host": "101"})
    assert RoomInfo.from_dict(json.loads(json.dumps(room.to_dict()))) == room
