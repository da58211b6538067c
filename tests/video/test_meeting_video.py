"""A meeting's video room against the real Janus (tests/video/conftest.py): created when an online meeting is
saved, a join token only for invitees and delegates (who then join by signalling and count as present), kick and
end by the 主持人, and an unreachable Janus → the meeting is saved and the retry job creates the room later."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from janus_server import ADMIN_KEY, API_SECRET, TOKEN_SECRET, BrowserSide, free_port

from integrations.video.base import RoomInfo
from meetings.actions import MeetingInput, check_create_meeting, check_respond
from meetings.models import Attendance, Invitation, MeetingLive
from meetings.video import (
    check_confirm_video_joined,
    check_end_video,
    check_join_video,
    check_kick_video,
    do_sync_all_video_presence,
)
from oa.models import WorkItem
from oa.refusals import Refusal
from oa.scheduling import run_job
from tests.clients import login

# Janus checks token expiry on its own clock, the session's (tests/clock.py: real, or moved for every process
# alike), so the meeting is placed two days after the session's now rather than on a fixed date.
START = (timezone.localtime() + dt.timedelta(days=2)).replace(hour=9, minute=0, second=0, microsecond=0)


@pytest.fixture
def video(settings, janus_server):
    settings.OA_VIDEO_PROVIDER = "janus"
    settings.OA_VIDEO_JANUS_URL = settings.OA_VIDEO_JANUS_PUBLIC_URL = janus_server.url
    settings.OA_VIDEO_JANUS_API_SECRET, settings.OA_VIDEO_JANUS_TOKEN_SECRET = API_SECRET, TOKEN_SECRET
    settings.OA_VIDEO_JANUS_ADMIN_KEY = ADMIN_KEY
    return settings


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(START - dt.timedelta(days=1), tick=False)
    return time_machine


def _online(cast, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return check_create_meeting(cast.zhangwei, MeetingInput(
            title="全区视频调度会", start=START, end=START + dt.timedelta(hours=1), mode="online",
            participants=[cast.lina, cast.xuli]))


def test_invitee_joins_uninvited_refused_delegate_allowed(cast, clock, video, janus_server,
                                                          django_capture_on_commit_callbacks):
    m = _online(cast, django_capture_on_commit_callbacks)
    live = MeetingLive.objects.get(meeting=m)
    assert live.video_state == "ready" and live.video_room["provider"] == "janus"
    item = WorkItem.objects.get(owner=cast.lina, kind="meeting_invitation")
    assert item.link == f"/meetings/{m.pk}/#video" and "可视频入会" in item.note

    clock.move_to(START - dt.timedelta(minutes=3))
    info = check_join_video(cast.lina, m)
    # A token alone is not presence: the room's own participant list decides.
    assert check_confirm_video_joined(cast.lina, m) is False
    assert not Attendance.objects.filter(meeting=m, person=cast.lina).exists()
    browser = BrowserSide(janus_server.url, info.token)
    assert browser.open()["janus"] == "success"
    joined = browser.join(info)
    assert joined["videoroom"] == "joined" and joined["id"] == info.feed_id
    assert check_confirm_video_joined(cast.lina, m) is True  # the page's report, checked against the room
    assert Attendance.objects.get(meeting=m, person=cast.lina).method == "video"  # present by joining
    assert do_sync_all_video_presence() == 0  # the job finds nobody new: recorded once

    with pytest.raises(Refusal) as caught:
        check_join_video(cast.finance04, m)
    assert caught.value.code == "video_not_invited" and "邀请名单" in caught.value.message

    check_respond(cast.xuli, m, Invitation.Response.DELEGATED, delegate=cast.gaojun)
    with pytest.raises(Refusal) as caught:
        check_join_video(cast.xuli, m)
    assert caught.value.code == "video_delegated"
    stand_in = check_join_video(cast.gaojun, m)
    assert BrowserSide(janus_server.url, stand_in.token).open()["janus"] == "success"

    # The 主持人 (here the organiser) kicks: the token is revoked too; then ends and destroys the room.
    with pytest.raises(Refusal):
        check_kick_video(cast.lina, m, cast.gaojun)
    check_kick_video(cast.zhangwei, m, cast.lina)
    again = BrowserSide(janus_server.url, info.token)
    again.open()
    assert again.join(info)["error_code"] == 433
    check_end_video(cast.zhangwei, m)
    assert MeetingLive.objects.get(meeting=m).video_state == "ended"
    from integrations.video.config import get_provider

    with pytest.raises(Refusal):
        get_provider().participants(RoomInfo.from_dict(live.video_room))  # the room is gone on the server


def test_the_job_and_the_page_report_record_only_who_the_room_lists(cast, clock, video, janus_server,
                                                                    django_capture_on_commit_callbacks):
    m = _online(cast, django_capture_on_commit_callbacks)
    clock.move_to(START - dt.timedelta(minutes=40))  # before the 签到 window: joining records nothing yet
    info = check_join_video(cast.lina, m)
    browser = BrowserSide(janus_server.url, info.token)
    browser.open()
    assert browser.join(info)["videoroom"] == "joined"
    assert run_job("meetings.video_presence") == "recorded=0" and not Attendance.objects.filter(meeting=m).exists()

    clock.move_to(START + dt.timedelta(minutes=20))  # window open, past the grace period: 迟到
    check_join_video(cast.xuli, m)  # a token, but xuli never enters the room
    assert run_job("meetings.video_presence") == "recorded=1"
    assert {(a.person_id, a.status, a.method) for a in Attendance.objects.filter(meeting=m)} == {
        (cast.lina.pk, "late", "video")}
    answer = login(cast.xuli).post(f"/meetings/{m.pk}/video/joined")
    assert answer.status_code == 200 and answer.json() == {"present": False}
    assert login(cast.lina).post(f"/meetings/{m.pk}/video/joined").json() == {"present": True}
    assert login(cast.finance04).post(f"/meetings/{m.pk}/video/joined").status_code == 404


def test_join_over_http_is_a_csrf_protected_post(cast, clock, video, django_capture_on_commit_callbacks):
    m = _online(cast, django_capture_on_commit_callbacks)
    client = login(cast.lina)
    assert client.get(f"/meetings/{m.pk}/video/join").status_code == 405
    page = client.post(f"/meetings/{m.pk}/video/join")
    assert page.status_code == 200 and 'id="video-join-config"' in page.content.decode()
    assert "secret" not in page.context["video_join"]
    refused = login(cast.finance04).post(f"/meetings/{m.pk}/video/join")
    assert refused.status_code == 404  # not even visible to them
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(cast.lina)
    assert strict.post(f"/meetings/{m.pk}/video/join").status_code == 403


def test_unreachable_janus_saves_the_meeting_and_the_job_retries(cast, clock, video, janus_server,
                                                                 django_capture_on_commit_callbacks):
    video.OA_VIDEO_JANUS_URL = f"http://127.0.0.1:{free_port()}/janus"  # nothing listens there
    m = _online(cast, django_capture_on_commit_callbacks)
    live = MeetingLive.objects.get(meeting=m)
    assert live.video_state == "pending" and live.video_attempts == 1 and live.video_room is None
    page = login(cast.lina).get(f"/meetings/{m.pk}/").content.decode()
    assert "视频会议服务暂不可用" in page and "进入视频会议" not in page
    with pytest.raises(Refusal) as caught:
        check_join_video(cast.lina, m)
    assert caught.value.code == "video_room_pending" and caught.value.status == 503
    run_job("meetings.video_rooms")  # still down: still pending, one more attempt
    assert MeetingLive.objects.get(meeting=m).video_attempts == 2

    video.OA_VIDEO_JANUS_URL = janus_server.url  # Janus is back
    run_job("meetings.video_rooms")
    live = MeetingLive.objects.get(meeting=m)
    assert live.video_state == "ready" and live.video_room["room_id"]
    assert check_join_video(cast.lina, m).token

    # After the meeting the same job destroys the room.
    clock.move_to(START + dt.timedelta(hours=2))
    run_job("meetings.video_rooms")
    assert MeetingLive.objects.get(meeting=m).video_state == "ended"
