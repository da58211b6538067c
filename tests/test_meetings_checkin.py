"""会议签到 and the live roster (docs/meetings.md 签到 / 实时名单): rotating QR tokens (expiry, forgery, replay by
another account), the time window with the organiser's grace period, manual check-in, the roster and the current
议题 over WebsocketCommunicator. Times come from time-machine, never from the wall clock."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.db import connections, transaction

from meetings.actions import AgendaInput, MeetingInput, check_create_meeting, check_respond
from meetings.checkin import (
    STEP_SECONDS,
    _mac,
    check_checkin,
    check_manual_checkin,
    check_set_current_item,
    make_token,
    read_token,
    roster,
)
from meetings.models import Attendance, Invitation, MeetingChange
from oa.models import Person
from oa.refusals import Refusal
from tests.clients import login

BJ = ZoneInfo("Asia/Shanghai")
START = dt.datetime(2026, 3, 3, 9, 0, tzinfo=BJ)  # a Tuesday
END = START + dt.timedelta(hours=2)


def _meeting(cast, **kw):
    data = MeetingInput(title="区府办周例会", start=START, end=END, location="三楼会议室",
                        participants=[cast.lina, cast.xuli], observers=[cast.wangfang],
                        agenda=[AgendaInput(title="一季度重点工作"), AgendaInput(title="安全生产检查")], **kw)
    return check_create_meeting(cast.zhangwei, data)


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(START - dt.timedelta(days=1), tick=False)
    return time_machine


def _attendance(meeting):
    return {a.person.username: (a.status, a.method) for a in Attendance.objects.filter(meeting=meeting)}


def test_token_genuine_fresh_for_two_steps_then_expired(cast, clock):
    m = _meeting(cast)
    clock.move_to(START - dt.timedelta(minutes=5))
    token = make_token(m.pk)
    assert read_token(token)[0] == m.pk
    clock.shift(dt.timedelta(seconds=2 * STEP_SECONDS))
    assert read_token(token)[0] == m.pk  # age 2 steps: still good (the screen changed, the phone was slow)
    clock.shift(dt.timedelta(seconds=STEP_SECONDS))
    with pytest.raises(Refusal) as caught:
        check_checkin(cast.lina, token)
    assert caught.value.code == "checkin_token_expired" and "过期" in caught.value.message
    assert not Attendance.objects.exists()


def test_forged_and_malformed_tokens_refused(cast, clock):
    m = _meeting(cast)
    clock.move_to(START - dt.timedelta(minutes=5))
    good = make_token(m.pk)
    meeting_id, step, mac = good.split(".")
    forged = [
        f"{meeting_id}.{step}.{'A' * len(mac)}",  # made-up signature
        f"{int(meeting_id) + 1}.{step}.{mac}",  # another meeting's id under this meeting's signature
        f"{meeting_id}.{int(step) - 1}.{mac}",  # an older step under this step's signature
        "hello", "", "1.2", "1.2.3.4", f"{meeting_id}.{step}.{mac}.",
    ]
    for token in forged:
        with pytest.raises(Refusal) as caught:
            check_checkin(cast.lina, token)
        assert caught.value.code == "checkin_token_invalid", token
        assert "签到码无效" in caught.value.message
    # A genuine signature for a future step (a leaked key or a wrong clock) is not accepted either.
    future = int(step) + 10
    with pytest.raises(Refusal) as caught:
        check_checkin(cast.lina, f"{meeting_id}.{future}.{_mac(int(meeting_id), future)}")
    assert caught.value.code == "checkin_token_invalid"
    assert not Attendance.objects.exists()


def test_replay_by_another_invited_account_ok_by_uninvited_refused(cast, clock):
    m = _meeting(cast)
    clock.move_to(START - dt.timedelta(minutes=5))
    token = make_token(m.pk)
    check_checkin(cast.lina, token)
    check_checkin(cast.xuli, token)  # an invitee standing in the room scans the same code: fine
    for outsider in (cast.finance04, cast.gaojun):
        with pytest.raises(Refusal) as caught:
            check_checkin(outsider, token)
        assert caught.value.code == "checkin_not_invited" and "不在本次会议的邀请名单中" in caught.value.message
    assert _attendance(m) == {"lina": ("present", "qr"), "xuli": ("present", "qr")}
    # Scanning twice changes nothing.
    check_checkin(cast.lina, make_token(m.pk))
    assert Attendance.objects.filter(meeting=m).count() == 2


def test_window_grace_late_and_delegation(cast, clock):
    m = _meeting(cast)
    check_respond(cast.xuli, m, Invitation.Response.DELEGATED, delegate=cast.gaojun)
    clock.move_to(START - dt.timedelta(minutes=31))
    with pytest.raises(Refusal) as caught:
        check_checkin(cast.lina, make_token(m.pk))
    assert caught.value.code == "checkin_not_open" and "签到尚未开始" in caught.value.message
    clock.move_to(START + dt.timedelta(minutes=10))  # the default grace is 10 minutes: still on time
    check_checkin(cast.lina, make_token(m.pk))
    with pytest.raises(Refusal) as caught:
        check_checkin(cast.xuli, make_token(m.pk))  # delegated her seat: the delegate checks in instead
    assert caught.value.code == "checkin_delegated" and "高军" in caught.value.message
    clock.move_to(START + dt.timedelta(minutes=11))
    check_checkin(cast.gaojun, make_token(m.pk))
    clock.move_to(END)
    with pytest.raises(Refusal) as caught:
        check_checkin(cast.wangfang, make_token(m.pk))
    assert caught.value.code == "checkin_closed" and "签到已关闭" in caught.value.message
    assert _attendance(m) == {"lina": ("present", "qr"), "gaojun": ("late", "qr")}
    statuses = {r["name"]: r["status"] for r in roster(m)["rows"]}
    assert statuses == {"李娜": "present", "徐丽": "delegated", "王芳": "absent", "高军": "late"}


def test_manual_checkin_by_the_secretary_only(cast, clock):
    m = _meeting(cast)
    clock.move_to(START + dt.timedelta(minutes=20))
    with pytest.raises(Refusal) as caught:
        check_manual_checkin(cast.lina, m, cast.wangfang)
    assert caught.value.code == "not_organiser"
    with pytest.raises(Refusal) as caught:
        check_manual_checkin(cast.zhangwei, m, cast.finance04)
    assert caught.value.code == "checkin_not_invited"
    row = check_manual_checkin(cast.zhangwei, m, cast.wangfang)
    assert (row.status, row.method, row.by) == ("late", "manual", cast.zhangwei)
    assert MeetingChange.objects.filter(meeting=m, action="checkin", summary__contains="王芳").exists()


def test_scan_page_then_confirm_over_http(cast, clock):
    m = _meeting(cast)
    clock.move_to(START - dt.timedelta(minutes=1))
    token = make_token(m.pk)
    phone = login(cast.lina)
    page = phone.get(f"/meetings/checkin/{token}")
    assert page.status_code == 200 and "确认签到" in page.content.decode()
    proof = page.context["proof"]
    assert not Attendance.objects.exists()  # opening the link records nothing
    # Another account cannot use李娜's proof: it is bound to the scanner.
    stolen = login(cast.xuli).post("/meetings/checkin/confirm", {"proof": proof})
    assert stolen.status_code == 400 and "签到码无效" in stolen.content.decode()
    clock.shift(dt.timedelta(seconds=60))  # the tap may come after the token itself has rotated away
    done = phone.post("/meetings/checkin/confirm", {"proof": proof})
    assert done.status_code == 200 and "签到成功" in done.content.decode()
    assert _attendance(m) == {"lina": ("present", "qr")}
    outsider = login(cast.finance04).get(f"/meetings/checkin/{make_token(m.pk)}")
    assert outsider.status_code == 403 and "不在本次会议的邀请名单中" in outsider.content.decode()
    forged = phone.get(f"/meetings/checkin/{m.pk}.1.abc")
    assert forged.status_code == 400 and "签到码无效" in forged.content.decode()
    assert Attendance.objects.count() == 1


def test_room_screen_and_qr_only_for_those_who_run_it(cast, clock):
    m = _meeting(cast, host=cast.xuli)
    clock.move_to(START - dt.timedelta(minutes=5))
    organiser = login(cast.zhangwei)
    assert organiser.get(f"/meetings/{m.pk}/screen/").status_code == 200
    qr = organiser.get(f"/meetings/{m.pk}/screen/qr.json").json()
    assert qr["qr"].startswith("data:image/svg+xml;base64,") and qr["step"] == STEP_SECONDS
    token = qr["url"].rsplit("/", 1)[1]
    assert read_token(token)[0] == m.pk
    assert login(cast.xuli).get(f"/meetings/{m.pk}/screen/qr.json").status_code == 200  # 主持人
    assert login(cast.lina).get(f"/meetings/{m.pk}/screen/").status_code == 404
    assert login(cast.lina).get(f"/meetings/{m.pk}/screen/qr.json").status_code == 404


# --- websocket ----------------------------------------------------------------------------------------------


@database_sync_to_async
def _cookie(person: Person) -> bytes:
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(person)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}".encode()


async def _socket(person: Person, meeting_id: int):
    from oa.asgi import application

    comm = WebsocketCommunicator(application, f"/ws/meetings/{meeting_id}/",
                                 headers=[(b"cookie", await _cookie(person)), (b"origin", b"http://testserver")])
    connected, _ = await comm.connect(timeout=5)
    assert connected
    return comm


@pytest.mark.django_db(transaction=True)
async def test_roster_and_agenda_live_over_websocket(demo_tx, settings, time_machine):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    time_machine.move_to(START - dt.timedelta(days=1), tick=False)
    people = {p.username: p for p in await database_sync_to_async(list)(
        Person.objects.filter(username__in=["zhangwei", "lina", "xuli", "wangfang", "finance04"]))}

    class Cast:
        pass

    cast = Cast()
    cast.__dict__.update(people)
    m = await database_sync_to_async(_meeting)(cast)
    time_machine.move_to(START - dt.timedelta(minutes=2), tick=False)
    screen = await _socket(people["zhangwei"], m.pk)
    phone = await _socket(people["xuli"], m.pk)
    first = json.loads(await screen.receive_from(timeout=5))
    assert first["type"] == "roster" and first["counts"]["absent"] == 3
    assert json.loads(await screen.receive_from(timeout=5))["type"] == "agenda"
    for _ in range(2):
        await phone.receive_from(timeout=5)

    await database_sync_to_async(check_checkin)(people["lina"], make_token(m.pk))
    frame = json.loads(await screen.receive_from(timeout=5))
    # Only the changed row travels, with the counts and the next roster version.
    assert frame["type"] == "roster.delta" and frame["version"] == first["version"] + 1
    assert frame["counts"] == {"present": 1, "late": 0, "absent": 2, "leave": 0, "delegated": 0}
    assert [(r["name"], r["label"]) for r in frame["rows"]] == [("李娜", "已到")] and frame["removed"] == []

    @database_sync_to_async
    def advance():
        item = m.agenda.get(position=2)
        with transaction.atomic():
            check_set_current_item(people["zhangwei"], m, item.pk)

    await advance()
    for comm in (screen, phone):
        # the phone still holds the roster frame of 李娜's check-in, then the agenda
        frames = [json.loads(await comm.receive_from(timeout=5)) for _ in range(1 if comm is screen else 2)]
        agenda = frames[-1]
        assert agenda["type"] == "agenda" and agenda["current"]["title"] == "安全生产检查"

    # Someone who may not see the meeting is closed with 4404; nobody's check-in reached them.
    from oa.asgi import application

    outsider = WebsocketCommunicator(application, f"/ws/meetings/{m.pk}/", headers=[
        (b"cookie", await _cookie(people["finance04"])), (b"origin", b"http://testserver")])
    connected, _ = await outsider.connect(timeout=5)
    assert connected
    assert (await outsider.receive_output(timeout=5))["code"] == 4404
    anonymous = WebsocketCommunicator(application, f"/ws/meetings/{m.pk}/", headers=[(b"origin", b"http://testserver")])
    await anonymous.connect(timeout=5)
    assert (await anonymous.receive_output(timeout=5))["code"] == 4401
    for comm in (screen, phone):
        await comm.disconnect()
    await get_channel_layer().flush()
    await database_sync_to_async(connections.close_all)()


def _apply(state: dict, delta: dict) -> dict:
    """What live.js does with a delta that follows its version: replace the rows, drop the removed, take the counts."""
    rows = dict(state["rows"])
    rows.update({r["person_id"]: r for r in delta["rows"]})
    for pk in delta["removed"]:
        rows.pop(pk, None)
    return {"version": delta["version"], "rows": rows, "counts": delta["counts"]}


@pytest.mark.django_db(transaction=True)
async def test_roster_deltas_follow_versions_and_a_gap_resyncs(demo_tx, settings, time_machine):
    """Each roster change is one small delta at the next version; the deltas applied in order give the whole
    roster; a client that misses one sees a version gap, says hello and gets the whole roster (the cached copy
    for that version)."""
    from meetings.checkin import roster_json
    from meetings.models import MeetingLive

    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    time_machine.move_to(START - dt.timedelta(days=1), tick=False)
    people = {p.username: p for p in await database_sync_to_async(list)(
        Person.objects.filter(username__in=["zhangwei", "lina", "xuli", "wangfang"]))}

    class Cast:
        pass

    cast = Cast()
    cast.__dict__.update(people)
    m = await database_sync_to_async(_meeting)(cast)
    time_machine.move_to(START - dt.timedelta(minutes=5), tick=False)
    screen = await _socket(people["zhangwei"], m.pk)
    full = json.loads(await screen.receive_from(timeout=5))
    await screen.receive_from(timeout=5)  # agenda
    state = {"version": full["version"], "rows": {r["person_id"]: r for r in full["rows"]}, "counts": full["counts"]}

    # A reply (请假 of 王芳) and a check-in (徐丽, by hand) each arrive as one row at the next version.
    await database_sync_to_async(check_respond)(people["wangfang"], m, Invitation.Response.LEAVE, reason="出差")
    await database_sync_to_async(check_manual_checkin)(people["zhangwei"], m, people["xuli"])
    for who, label in (("王芳", "请假"), ("徐丽", "已到")):
        delta = json.loads(await screen.receive_from(timeout=5))
        assert delta["type"] == "roster.delta" and delta["version"] == state["version"] + 1
        assert [(r["name"], r["label"]) for r in delta["rows"]] == [(who, label)]
        assert len(json.dumps(delta, ensure_ascii=False)) < 600
        state = _apply(state, delta)
    whole = await database_sync_to_async(lambda: json.loads(roster_json(m)))()
    assert whole["version"] == state["version"]
    assert {r["person_id"]: r for r in whole["rows"]} == state["rows"] and whole["counts"] == state["counts"]

    # A lost message: the version moves on without a frame; the next delta shows the gap, hello heals it.
    await database_sync_to_async(
        lambda: MeetingLive.objects.filter(pk=m.pk).update(roster_version=state["version"] + 1))()
    time_machine.move_to(START + dt.timedelta(minutes=20), tick=False)
    await database_sync_to_async(check_checkin)(people["lina"], make_token(m.pk))
    delta = json.loads(await screen.receive_from(timeout=5))
    assert delta["version"] == state["version"] + 2  # not the next one: the client asks for the whole roster
    await screen.send_to(text_data=json.dumps({"type": "hello"}))
    resent = json.loads(await screen.receive_from(timeout=5))
    assert resent["type"] == "roster" and resent["version"] == delta["version"]
    assert {r["name"]: r["label"] for r in resent["rows"]} == {"李娜": "迟到", "徐丽": "已到", "王芳": "请假"}
    assert resent["counts"] == delta["counts"] == {"present": 1, "late": 1, "absent": 0, "leave": 1, "delegated": 0}
    assert json.loads(await screen.receive_from(timeout=5))["type"] == "agenda"
    await screen.disconnect()
    await get_channel_layer().flush()
    await database_sync_to_async(connections.close_all)()
