"""The meeting's video room (docs/meetings.md 视频会议) on the configured provider (integrations.video).

A meeting held online or hybrid gets a room when it is saved: the save marks the room "to create" in its own
transaction and calls the provider after commit (no network call inside a transaction). If the provider cannot
be reached the meeting stays saved, the page says video is unavailable, and the periodic job
``meetings.video_rooms`` retries; the same job destroys rooms once their meeting has ended (or was cancelled,
or no longer needs video). Only invitees (a delegate holds an invitation of their own), the 主持人 and the
organiser get a join token. Presence: where the provider can list a room's participants (Janus) an invitee counts
present when the room itself lists them during the 签到 window — read when their browser reports the join and by
the job ``meetings.video_presence`` — never merely because a token was issued; where it cannot (Jitsi, BBB),
taking the join token during the window counts.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from integrations.video.base import JoinInfo, Participant, RoomInfo, VideoRefused, VideoUnavailable
from integrations.video.config import get_provider
from meetings.checkin import OPEN_BEFORE, do_record_video_presence, may_run_meeting
from meetings.models import Invitation, Meeting, MeetingChange, MeetingLive
from oa.models import Person
from oa.refusals import Refusal

logger = logging.getLogger(__name__)

VIDEO_MODES = (Meeting.Mode.ONLINE, Meeting.Mode.HYBRID)
TOKEN_GRACE = dt.timedelta(hours=1)  # tokens outlive the scheduled end: meetings overrun
END_AFTER = dt.timedelta(minutes=30)  # the job destroys the room this long after the scheduled end
V = MeetingLive.Video


def wants_video(meeting: Meeting) -> bool:
    return meeting.mode in VIDEO_MODES and meeting.is_active and get_provider().offers_video


def schedule_video_room(meeting: Meeting) -> None:
    """Inside the transaction that saves the meeting: mark its room to be created, create it after commit."""
    if not wants_video(meeting):
        return
    live, _ = MeetingLive.objects.select_for_update().get_or_create(meeting=meeting)
    if live.video_state in (V.NONE, V.ENDED):
        live.video_state = V.PENDING
        live.save(update_fields=["video_state"])
    if live.video_state == V.PENDING:
        transaction.on_commit(lambda: do_create_video_room(meeting.pk), robust=True)


def do_create_video_room(meeting_id: int) -> MeetingLive:
    """Create the room of a meeting marked PENDING; on an unreachable provider leave it PENDING for the job."""
    meeting = Meeting.objects.select_related("host", "organiser").get(pk=meeting_id)
    live, _ = MeetingLive.objects.get_or_create(meeting=meeting)
    if live.video_state != V.PENDING or not wants_video(meeting):
        return live
    host = meeting.host or meeting.organiser
    provider = get_provider()
    try:
        room = provider.create_room(f"meeting-{meeting.pk}", meeting.title, Participant(str(host.pk), host.name),
                                    valid_until=meeting.end + TOKEN_GRACE)
    except (VideoUnavailable, VideoRefused) as exc:
        MeetingLive.objects.filter(pk=live.pk).update(video_attempts=live.video_attempts + 1,
                                                      video_error=(exc.detail or exc.message)[:300])
        logger.warning("会议 %s 视频房间创建失败（稍后重试）：%s", meeting.pk, exc.detail or exc.message)
        live.refresh_from_db()
        return live
    # Claim by a conditional update: a second worker that created a room too destroys its own.
    claimed = MeetingLive.objects.filter(pk=live.pk, video_state=V.PENDING).update(
        video_room=room.to_dict(), video_state=V.READY, video_error="", video_attempts=live.video_attempts + 1)
    if not claimed:
        try:
            provider.end(room)
        except Refusal:
            logger.warning("会议 %s 多余的视频房间未能销毁", meeting.pk, exc_info=True)
    live.refresh_from_db()
    return live


def do_end_video_room(meeting: Meeting, *, by: Person | None) -> MeetingLive:
    live = MeetingLive.objects.filter(meeting=meeting).first()
    if live is None or live.video_state not in (V.READY, V.PENDING):
        return live
    if live.video_state == V.READY:
        room = RoomInfo.from_dict(live.video_room)
        get_provider(room.provider).end(room)  # VideoUnavailable propagates: the job tries again
    with transaction.atomic():
        MeetingLive.objects.filter(pk=live.pk).update(video_state=V.ENDED)
        MeetingChange.objects.create(meeting=meeting, at=timezone.now(), by=by, action="video_end",
                                     summary="结束视频会议，房间已销毁" if by else "会议结束，视频房间已销毁")
    live.refresh_from_db()
    return live


def do_maintain_video_rooms(now: dt.datetime | None = None) -> dict[str, int]:
    """The job: retry rooms still to create; destroy rooms of meetings that are over or no longer need one."""
    now = now or timezone.now()
    made = ended = failed = 0
    for live in MeetingLive.objects.filter(video_state=V.PENDING, meeting__end__gt=now).select_related("meeting"):
        if not wants_video(live.meeting):
            MeetingLive.objects.filter(pk=live.pk, video_state=V.PENDING).update(video_state=V.NONE)
            continue
        if do_create_video_room(live.meeting_id).video_state == V.READY:
            made += 1
        else:
            failed += 1
    finished = (Q(meeting__end__lte=now - END_AFTER) | ~Q(meeting__status=Meeting.Status.SCHEDULED)
                | ~Q(meeting__mode__in=VIDEO_MODES))
    for live in MeetingLive.objects.filter(video_state=V.READY).filter(finished).select_related("meeting"):
        try:
            do_end_video_room(live.meeting, by=None)
            ended += 1
        except Refusal:
            logger.warning("会议 %s 视频房间销毁失败（稍后重试）", live.meeting_id, exc_info=True)
            failed += 1
    return {"created": made, "ended": ended, "failed": failed}


# --- people -------------------------------------------------------------------------------------------------


def _ready_room(meeting: Meeting) -> RoomInfo:
    live = MeetingLive.objects.filter(meeting=meeting).first()
    state = live.video_state if live else V.NONE
    if state == V.PENDING:
        raise Refusal("video_room_pending",
                      "视频会议服务暂不可用，房间尚未建好；系统会自动重试建房，请稍后再试（会议信息已保存）。", status=503)
    if state == V.ENDED:
        raise Refusal("video_ended", "本次视频会议已结束。", status=409)
    if state != V.READY:
        raise Refusal("video_none", "本次会议没有视频会议（现场会议）。", status=409)
    return RoomInfo.from_dict(live.video_room)


def check_join_video(user: Person, meeting: Meeting, now: dt.datetime | None = None) -> JoinInfo:
    """A join token for an invitee (or a delegate, who holds an invitation of their own), the 主持人 or the
    organiser; nobody else. Joining during the 签到 window records the invitee as present (or late)."""
    now = now or timezone.now()
    if meeting.status != Meeting.Status.SCHEDULED:
        raise Refusal("meeting_not_open", f"会议{meeting.get_status_display()}，不能进入视频会议。", status=409)
    if now >= meeting.end + END_AFTER:
        raise Refusal("video_ended", "会议已结束，不能再进入视频会议。", status=409)
    is_host = user.pk in (meeting.host_id, meeting.organiser_id)
    invitation = Invitation.objects.select_related("delegate").filter(meeting=meeting, person=user).first()
    if not is_host:
        if invitation is None or invitation.response == Invitation.Response.WITHDRAWN:
            raise Refusal("video_not_invited", "您不在本次会议的邀请名单中，不能进入视频会议。", status=403)
        if invitation.response == Invitation.Response.DELEGATED:
            raise Refusal("video_delegated",
                          f"您已委派 {invitation.delegate.name} 参会，视频会议由被委派人进入。", status=403)
    room = _ready_room(meeting)
    provider = get_provider(room.provider)
    info = provider.join(room, Participant(str(user.pk), user.name, user.email or ""), is_host=is_host)
    if invitation is not None and not provider.lists_participants:
        do_record_video_presence(meeting, user, now)  # nothing better to go on than the signed link
    return info


def do_sync_video_presence(meeting: Meeting, now: dt.datetime | None = None) -> int:
    """Record as present (or late) every invitee the video room lists now; returns how many were new. Nothing
    when the room is not ready, the provider cannot list its people, or the server does not answer."""
    now = now or timezone.now()
    live = MeetingLive.objects.filter(meeting=meeting, video_state=V.READY).first()
    if live is None:
        return 0
    room = RoomInfo.from_dict(live.video_room)
    provider = get_provider(room.provider)
    if not provider.lists_participants:
        return 0
    seen = set(meeting.attendance.values_list("person_id", flat=True))
    people = {inv.person_id: inv.person for inv in meeting.invitations.select_related("person")
              .exclude(response__in=(Invitation.Response.WITHDRAWN, Invitation.Response.DELEGATED))
              .exclude(person_id__in=seen)}
    if not people:
        return 0
    try:
        inside = provider.present_keys(room, [Participant(str(pk), p.name) for pk, p in people.items()])
    except VideoUnavailable:
        logger.warning("会议 %s 视频房间名单读取失败（稍后重试）", meeting.pk, exc_info=True)
        return 0
    return sum(1 for key in inside if do_record_video_presence(meeting, people[int(key)], now) is not None)


def check_confirm_video_joined(user: Person, meeting: Meeting, now: dt.datetime | None = None) -> bool:
    """The join page reports that this browser is in the room: read the room's own list (the report alone proves
    nothing) and say whether the user now counts as present."""
    if not Invitation.objects.filter(meeting=meeting, person=user).exists():
        return False  # the 主持人 or organiser without an invitation: nothing to record
    do_sync_video_presence(meeting, now)
    return meeting.attendance.filter(person=user).exists()


def do_sync_all_video_presence(now: dt.datetime | None = None) -> int:
    """The job: every meeting with a ready room inside its 签到 window."""
    now = now or timezone.now()
    meetings = Meeting.objects.filter(status=Meeting.Status.SCHEDULED, start__lte=now + OPEN_BEFORE,
                                      end__gt=now, live__video_state=V.READY)
    return sum(do_sync_video_presence(m, now) for m in meetings)


def check_kick_video(user: Person, meeting: Meeting, person: Person | None) -> None:
    if not may_run_meeting(user, meeting):
        raise Refusal("not_host", "只有主持人或会议组织人可以移出参会人。", status=403)
    if person is None:
        raise Refusal("video_kick_unknown", "请选择要移出的参会人。", status=400)
    room = _ready_room(meeting)
    provider = get_provider(room.provider)
    if not provider.can_kick:
        raise Refusal("video_cannot_kick", "当前视频服务不支持由本系统移出参会人，请在视频会议界面操作。", status=409)
    provider.kick(room, Participant(str(person.pk), person.name))
    MeetingChange.objects.create(meeting=meeting, at=timezone.now(), by=user, action="video_kick",
                                 summary=f"移出视频会议：{person.name}")


def check_end_video(user: Person, meeting: Meeting) -> MeetingLive:
    if not may_run_meeting(user, meeting):
        raise Refusal("not_host", "只有主持人或会议组织人可以结束视频会议。", status=403)
    _ready_room(meeting)
    return do_end_video_room(meeting, by=user)


def video_state(meeting: Meeting) -> dict:
    """For pages: state, the Chinese line to show, and whether a join button makes sense."""
    live = MeetingLive.objects.filter(meeting=meeting).first()
    state = live.video_state if live else V.NONE
    wanted = meeting.mode in VIDEO_MODES
    text = {
        V.PENDING: "视频会议服务暂不可用，房间尚未建好；系统正在自动重试（会议信息已保存，不受影响）。",
        V.READY: "视频会议房间已就绪。",
        V.ENDED: "视频会议已结束。",
        V.NONE: "未配置视频会议服务，本次会议只能现场参加。" if wanted else "",
    }[state]
    return {"wanted": wanted, "state": state, "text": text, "ready": state == V.READY,
            "provider": (live.video_room or {}).get("provider", "") if live else ""}

