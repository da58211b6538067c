"""签到 that a photo cannot fake, the live roster and the current 议题 (docs/meetings.md 签到 / 实时名单).

The room screen shows a QR code of ``/meetings/checkin/<token>``; the token is ``<meeting>.<step>.<mac>`` where
``step`` counts 15-second periods since the epoch and ``mac`` is an HMAC (SECRET_KEY, salted) over meeting and
step. A token is good for MAX_AGE_STEPS steps after its own (30–45 s), so a photo sent to a colleague outside
expires before it is of use; an invited colleague standing in the room may scan the same code (that is what a
code on a wall is for), an uninvited one is refused whatever the token.

Every change sends one message to the meeting's channel-layer group (oa.events.group_message_on_commit) after
commit. A roster change (a check-in, a reply, a change of the list) carries only the changed rows plus the
counts and the meeting's roster version (MeetingLive.roster_version, +1 per change under the row's lock), so a
check-in in a 500-person meeting is a few hundred bytes, not the whole roster; a client that sees a gap in the
versions asks for the whole roster again (``hello``). The whole roster is sent only on connect and resync, built
once per version and cached (``roster_json``), not once per socket. A 议题 change carries the (small) agenda state.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

from django.core import signing
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Count, F, OuterRef, Subquery
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from meetings.models import AgendaItem, Attendance, Invitation, Meeting, MeetingChange, MeetingLive
from meetings.selectors import may_manage_meeting
from oa.events import group_message_on_commit
from oa.models import Person
from oa.refusals import Refusal

STEP_SECONDS = 15
MAX_AGE_STEPS = 2  # a token of step s is accepted during steps s, s+1 and s+2
OPEN_BEFORE = dt.timedelta(minutes=30)  # 签到 opens this long before the start and closes at the end
CONFIRM_SECONDS = 120  # between the scan (token checked) and the tap on 确认签到
R = Invitation.Response


def meeting_group(meeting_id: int) -> str:
    return f"meeting.{int(meeting_id)}"


# --- the rotating token -------------------------------------------------------------------------------------


def current_step(now: dt.datetime | None = None) -> int:
    return int((now or timezone.now()).timestamp()) // STEP_SECONDS


def _mac(meeting_id: int, step: int) -> str:
    digest = salted_hmac("meetings.checkin", f"{meeting_id}:{step}", algorithm="sha256").digest()
    return base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=")


def make_token(meeting_id: int, now: dt.datetime | None = None) -> str:
    step = current_step(now)
    return f"{int(meeting_id)}.{step}.{_mac(meeting_id, step)}"


def seconds_left(now: dt.datetime | None = None) -> int:
    """Until the screen should show the next token."""
    return STEP_SECONDS - int((now or timezone.now()).timestamp()) % STEP_SECONDS


INVALID = ("checkin_token_invalid", "签到码无效：不是本系统会议室屏幕上的签到码。请扫描会议室屏幕上的二维码。")
EXPIRED = ("checkin_token_expired", "签到码已过期（每 15 秒更换一次）。请扫描会议室屏幕上当前显示的二维码。")


def read_token(token: str, now: dt.datetime | None = None) -> tuple[int, int]:
    """(meeting id, step) of a genuine, fresh token; Refusal otherwise (forged, malformed, expired)."""
    parts = (token or "").split(".")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit() or len(token) > 80:
        raise Refusal(*INVALID, status=400)
    meeting_id, step = int(parts[0]), int(parts[1])
    if not constant_time_compare(_mac(meeting_id, step), parts[2]):
        raise Refusal(*INVALID, status=400)
    age = current_step(now) - step
    if age < 0:  # genuine but from the future: only a wrong clock or a leaked key makes one
        raise Refusal(*INVALID, status=400)
    if age > MAX_AGE_STEPS:
        raise Refusal(*EXPIRED, status=410)
    return meeting_id, step


# --- who may check in, and when -----------------------------------------------------------------------------


def _seat_of(person: Person, meeting: Meeting) -> Invitation:
    invitation = Invitation.objects.select_related("delegate").filter(meeting=meeting, person=person).first()
    if invitation is None or invitation.response == R.WITHDRAWN:
        raise Refusal("checkin_not_invited", f"{person.name} 不在本次会议的邀请名单中，不能签到。", status=403)
    if invitation.response == R.DELEGATED:
        raise Refusal("checkin_delegated",
                      f"{person.name} 已委派 {invitation.delegate.name} 参会，应由被委派人签到。", status=403)
    return invitation


def _check_window(meeting: Meeting, now: dt.datetime) -> None:
    if meeting.status != Meeting.Status.SCHEDULED:
        raise Refusal("checkin_meeting_not_open", f"会议{meeting.get_status_display()}，不能签到。", status=409)
    opens = meeting.start - OPEN_BEFORE
    if now < opens:
        raise Refusal("checkin_not_open",
                      f"签到尚未开始：{timezone.localtime(opens):%m月%d日 %H:%M} 起可以签到（会前 30 分钟）。", status=409)
    if now >= meeting.end:
        raise Refusal("checkin_closed", "会议已结束，签到已关闭。", status=409)


def grace_of(meeting: Meeting) -> dt.timedelta:
    live = MeetingLive.objects.filter(meeting=meeting).only("grace_minutes").first()
    return dt.timedelta(minutes=live.grace_minutes if live else MeetingLive._meta.get_field("grace_minutes").default)


def _record(meeting: Meeting, person: Person, method: str, *, by: Person | None, now: dt.datetime) -> tuple[Attendance, bool]:
    """The first check-in counts (a QR scan after the video join changes nothing); returns (row, created)."""
    status = Attendance.Status.PRESENT if now <= meeting.start + grace_of(meeting) else Attendance.Status.LATE
    with transaction.atomic():
        existing = Attendance.objects.filter(meeting=meeting, person=person).first()
        if existing is not None:
            return existing, False
        try:
            with transaction.atomic():
                row = Attendance.objects.create(meeting=meeting, person=person, status=status, method=method,
                                                at=now, by=by)
        except IntegrityError:  # the same person at the same instant from two devices
            return Attendance.objects.get(meeting=meeting, person=person), False
        if method == Attendance.Method.MANUAL:
            MeetingChange.objects.create(meeting=meeting, at=now, by=by, action="checkin",
                                         summary=f"代签：{person.name}（{row.get_status_display()}）")
        roster_changed(meeting, [person.pk])
    return row, True


def check_scan(user: Person, token: str, now: dt.datetime | None = None) -> tuple[Meeting, str]:
    """The phone opened the QR link: token genuine and fresh, the user invited, the window open. Returns the
    meeting and a proof (signed, bound to the user, CONFIRM_SECONDS long) for the 确认签到 tap."""
    now = now or timezone.now()
    meeting_id, step = read_token(token, now)
    meeting = Meeting.objects.filter(pk=meeting_id).first()
    if meeting is None:
        raise Refusal(*INVALID, status=400)
    _seat_of(user, meeting)
    _check_window(meeting, now)
    proof = signing.dumps({"m": meeting.pk, "u": user.pk, "s": step}, salt="meetings.checkin.confirm")
    return meeting, proof


def check_checkin(user: Person, token: str, now: dt.datetime | None = None) -> Attendance:
    """Scan and record in one go (what the confirm step does once the proof checks out)."""
    now = now or timezone.now()
    meeting, _ = check_scan(user, token, now)
    return _record(meeting, user, Attendance.Method.QR, by=None, now=now)[0]


def check_confirm_checkin(user: Person, proof: str, now: dt.datetime | None = None) -> Attendance:
    now = now or timezone.now()
    try:
        data = signing.loads(proof or "", salt="meetings.checkin.confirm", max_age=CONFIRM_SECONDS)
    except signing.SignatureExpired:
        raise Refusal(*EXPIRED, status=410) from None
    except signing.BadSignature:
        raise Refusal(*INVALID, status=400) from None
    if data.get("u") != user.pk:  # a proof is the scanner's own: another account must scan for itself
        raise Refusal(*INVALID, status=400)
    meeting = Meeting.objects.get(pk=data["m"])
    _seat_of(user, meeting)
    _check_window(meeting, now)
    return _record(meeting, user, Attendance.Method.QR, by=None, now=now)[0]


def check_manual_checkin(user: Person, meeting: Meeting, person: Person | None,
                         now: dt.datetime | None = None) -> Attendance:
    """The secretary checks someone in by hand (no phone, a guest at the door); recorded with who did it."""
    now = now or timezone.now()
    if not may_manage_meeting(user, meeting):
        raise Refusal("not_organiser", "只有会议组织人或本机关办公室可以代为签到。", status=403)
    if person is None:
        raise Refusal("checkin_not_invited", "请选择邀请名单中的人员。", status=400)
    _seat_of(person, meeting)
    _check_window(meeting, now)
    return _record(meeting, person, Attendance.Method.MANUAL, by=user, now=now)[0]


def do_record_video_presence(meeting: Meeting, person: Person, now: dt.datetime | None = None) -> Attendance | None:
    """An invitee joined the video room during the 签到 window: present (or late). Outside it: nothing."""
    now = now or timezone.now()
    try:
        _seat_of(person, meeting)
        _check_window(meeting, now)
    except Refusal:
        return None
    return _record(meeting, person, Attendance.Method.VIDEO, by=None, now=now)[0]


# --- roster and agenda (reads, and the frames pushed to the meeting's sockets) ------------------------------


STATUS_LABELS = {"present": "已到", "late": "迟到", "absent": "未到", "leave": "请假", "delegated": "委派"}


def _roster_rows(meeting: Meeting, person_ids: list[int] | None = None) -> list[dict[str, Any]]:
    """The roster rows, in list order (role, invitation): all, or those of person_ids still on the list."""
    attendances = Attendance.objects.filter(meeting=meeting)
    invitations = meeting.invitations.exclude(response=R.WITHDRAWN)
    if person_ids is not None:
        attendances = attendances.filter(person_id__in=person_ids)
        invitations = invitations.filter(person_id__in=person_ids)
    seen = {a.person_id: a for a in attendances}
    rows = []
    for inv in invitations.select_related("person", "delegate", "unit__agency").order_by("role", "id"):
        att = seen.get(inv.person_id)
        status = att.status if att is not None else _status_of(inv.response)
        rows.append({
            "person_id": inv.person_id, "name": inv.person.name, "role": inv.get_role_display(),
            "unit": inv.unit.agency.short_name if inv.unit_id else "", "status": status,
            "label": STATUS_LABELS[status], "at": f"{timezone.localtime(att.at):%H:%M}" if att else "",
            "method": att.get_method_display() if att else "",
            "note": f"委派 {inv.delegate.name}" if inv.response == R.DELEGATED and inv.delegate_id else "",
        })
    return rows


def _status_of(response: str) -> str:
    """签到 status of someone without an attendance row, from the reply."""
    return {R.LEAVE: "leave", R.DELEGATED: "delegated"}.get(response, "absent")


def roster_counts(meeting: Meeting) -> dict[str, int]:
    """present / late / absent / leave / delegated over the list: one grouped query, however long the list."""
    counts = {key: 0 for key in STATUS_LABELS}
    attended = Attendance.objects.filter(meeting=meeting, person_id=OuterRef("person_id")).values("status")[:1]
    groups = (meeting.invitations.exclude(response=R.WITHDRAWN).annotate(att=Subquery(attended))
              .values("response", "att").annotate(n=Count("id")).order_by())
    for group in groups:
        counts[group["att"] or _status_of(group["response"])] += group["n"]
    return counts


def roster_version(meeting: Meeting) -> int:
    return MeetingLive.objects.filter(meeting=meeting).values_list("roster_version", flat=True).first() or 0


def roster(meeting: Meeting) -> dict[str, Any]:
    """Everyone on the invitation list with a 签到 status: present / late (checked in), leave / delegated (from
    the reply), absent (the rest), at the meeting's roster version (read first: the rows are at least as new)."""
    version = roster_version(meeting)
    rows = _roster_rows(meeting)
    counts = {key: 0 for key in STATUS_LABELS}
    for row in rows:
        counts[row["status"]] += 1
    return {"type": "roster", "meeting_id": meeting.pk, "version": version, "rows": rows, "counts": counts,
            "total": len(rows)}


ROSTER_CACHE_SECONDS = 600


def roster_json(meeting: Meeting) -> str:
    """The whole-roster frame as sent, built once per roster version and shared by every socket that (re)connects
    or resyncs at that version (the cache key carries the version, so a stale entry is never served)."""
    key = f"meetings.roster.{meeting.pk}.{roster_version(meeting)}"
    text = cache.get(key)
    if text is None:
        frame = roster(meeting)
        text = json.dumps(frame, ensure_ascii=False)
        cache.set(f"meetings.roster.{meeting.pk}.{frame['version']}", text, ROSTER_CACHE_SECONDS)
    return text


def _bump_roster_version(meeting: Meeting) -> int:
    """+1 under the MeetingLive row's lock (held to commit): versions follow commit order, one per change."""
    MeetingLive.objects.get_or_create(meeting=meeting)
    MeetingLive.objects.filter(pk=meeting.pk).update(roster_version=F("roster_version") + 1)
    return MeetingLive.objects.filter(pk=meeting.pk).values_list("roster_version", flat=True).get()


def roster_delta(meeting: Meeting, person_ids: list[int], version: int) -> dict[str, Any]:
    """The rows of person_ids as they are now (``removed``: those no longer on the list) and the counts."""
    rows = _roster_rows(meeting, list(person_ids))
    present = {r["person_id"] for r in rows}
    counts = roster_counts(meeting)
    return {"type": "roster.delta", "meeting_id": meeting.pk, "version": version, "rows": rows,
            "removed": sorted({int(pk) for pk in person_ids} - present), "counts": counts,
            "total": sum(counts.values())}


def roster_changed(meeting: Meeting, person_ids: list[int]) -> None:
    """Inside the writing transaction, after the rows of person_ids changed: a new roster version, and its delta
    sent once to the meeting's group after commit."""
    if not person_ids:
        return
    version = _bump_roster_version(meeting)
    _push(meeting, roster_delta(meeting, person_ids, version))


def agenda_state(meeting: Meeting) -> dict[str, Any]:
    live = MeetingLive.objects.filter(meeting=meeting).first()
    current_id = live.current_item_id if live else None
    items = list(meeting.agenda.select_related("presenter").prefetch_related("materials").order_by("position"))
    current = next((i for i in items if i.pk == current_id), None)
    return {
        "type": "agenda", "meeting_id": meeting.pk,
        "items": [{"id": i.pk, "position": i.position, "title": i.title} for i in items],
        "current": None if current is None else {
            "id": current.pk, "position": current.position, "title": current.title,
            "presenter": current.presenter.name if current.presenter_id else "",
            "materials": [{"name": m.name, "url": f"/meetings/{meeting.pk}/materials/{m.pk}"}
                          for m in current.materials.all()],
        },
    }


def _push(meeting: Meeting, frame: dict[str, Any]) -> None:
    group_message_on_commit(meeting_group(meeting.pk),
                            {"type": "meeting.frame", "frame": json.dumps(frame, ensure_ascii=False)})


def may_run_meeting(user: Person, meeting: Meeting) -> bool:
    """主持人 rights (advance the agenda, kick, end the video): the 主持人, the organiser, the agency's 文书."""
    return user.pk in (meeting.host_id, meeting.organiser_id) or may_manage_meeting(user, meeting)


def check_set_current_item(user: Person, meeting: Meeting, item_id: int | None) -> AgendaItem | None:
    """The 主持人 moves to a 议题 (None: between 议题); every open meeting page follows."""
    if not may_run_meeting(user, meeting):
        raise Refusal("not_host", "只有主持人或会议组织人可以切换议题。", status=403)
    if meeting.status != Meeting.Status.SCHEDULED:
        raise Refusal("meeting_not_open", f"会议{meeting.get_status_display()}，不能切换议题。", status=409)
    item = None
    if item_id is not None:
        item = AgendaItem.objects.filter(meeting=meeting, pk=item_id).first()
        if item is None:
            raise Refusal("agenda_item_unknown", "本次会议没有这个议题。", status=400)
    with transaction.atomic():
        live, _ = MeetingLive.objects.select_for_update().get_or_create(meeting=meeting)
        live.current_item = item
        live.save(update_fields=["current_item"])
        MeetingChange.objects.create(meeting=meeting, at=timezone.now(), by=user, action="agenda",
                                     summary=f"当前议题：{item}" if item else "当前议题：无")
        _push(meeting, agenda_state(meeting))
    return item


def check_set_grace(user: Person, meeting: Meeting, minutes: int) -> MeetingLive:
    if not may_manage_meeting(user, meeting):
        raise Refusal("not_organiser", "只有会议组织人或本机关办公室可以设置签到宽限。", status=403)
    if not 0 <= minutes <= 120:
        raise Refusal("grace_invalid", "签到宽限应在 0 到 120 分钟之间。", status=400)
    with transaction.atomic():
        live, _ = MeetingLive.objects.select_for_update().get_or_create(meeting=meeting)
        live.grace_minutes = minutes
        live.save(update_fields=["grace_minutes"])
    return live
