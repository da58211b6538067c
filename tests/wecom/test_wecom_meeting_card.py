"""粤政易 button card for a meeting invitation (docs/meetings.md 移动平台卡片, docs/wecom.md 按钮卡片).

The invitation reaches the phone as a `button_interaction` template card: 参加 is a callback button, 请假 and
委派 open the meeting page's reply form. A press arrives as an encrypted, signed `template_card_event` on the
real callback view; it runs the RSVP as the mapped Person and the card is updated through the outbox."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest

from integrations.wecom.crypto import WXBizMsgCrypt, signature
from integrations.wecom.models import CallbackMessage
from meetings.actions import MeetingInput, check_cancel_meeting, check_create_meeting, check_respond
from meetings.models import Invitation, MeetingChange
from oa.actions.outbox import do_deliver_due_outbox
from oa.models import Notification, WorkItem

from .conftest import CORP_ID

pytestmark = pytest.mark.django_db
BJ = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 3, 2, 8, 0, tzinfo=BJ)  # a Monday
URL = "/integrations/wecom/callback/"
TOKEN, AES_KEY = "QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"  # tests/wecom/conftest.py


@pytest.fixture
def card_mode(wecom, settings, cast, time_machine):
    time_machine.move_to(NOW, tick=False)
    settings.OA_WECOM_CARD_MODE = "template_card"
    for person, userid in ((cast.zhangwei, "zhangwei01"), (cast.xuli, "xuli01"), (cast.lina, "lina01")):
        person.platform_userid = userid
        person.save(update_fields=["platform_userid"])
        wecom.add_member(userid, person.name)
    return wecom


@pytest.fixture
def meeting(card_mode, cast):
    start = NOW.replace(day=3, hour=9)
    return check_create_meeting(cast.lina, MeetingInput(
        title="区府办周例会", start=start, end=start + dt.timedelta(hours=1), location="三楼会议室",
        participants=[cast.zhangwei, cast.xuli]))


def _card_of(wecom, userid: str) -> dict:
    do_deliver_due_outbox()
    (message,) = [m for m in wecom.state.messages if m["touser"] == userid and m["msgtype"] == "template_card"]
    return message["template_card"]


_nonce = iter(range(1000, 10**6))


def _press(client, wecom, *, userid: str, task_id: str, key: str = "accept", code: str | None = None,
           as_json: bool = False, forge: bool = False):
    """POST a template_card_event exactly as the platform does: encrypted, signed, fresh timestamp and nonce.
    The platform issues a ResponseCode with each press; the test server is told so it accepts that code."""
    code = code or f"rc-{next(_nonce)}"
    wecom.state.response_codes[code] = userid
    now = str(int(dt.datetime.now(tz=BJ).timestamp()))
    inner = (
        f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><FromUserName><![CDATA[{userid}]]></FromUserName>"
        f"<CreateTime>{now}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event><![CDATA[template_card_event]]></Event><EventKey><![CDATA[{key}]]></EventKey>"
        f"<TaskId><![CDATA[{task_id}]]></TaskId><CardType><![CDATA[button_interaction]]></CardType>"
        f"<ResponseCode><![CDATA[{code}]]></ResponseCode><AgentID>1000002</AgentID></xml>"
    )
    encrypt = WXBizMsgCrypt(TOKEN, AES_KEY, CORP_ID).encrypt(inner)
    nonce = str(next(_nonce))
    sig = signature(TOKEN, now, nonce, encrypt)
    if forge:
        sig = ("0" if sig[0] != "0" else "1") + sig[1:]
    url = f"{URL}?msg_signature={sig}&timestamp={now}&nonce={nonce}"
    if as_json:
        body = json.dumps({"tousername": CORP_ID, "encrypt": encrypt, "agentid": 1000002})
        return client.post(url, body, content_type="application/json"), code, (url, body)
    body = f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    return client.post(url, body, content_type="text/xml"), code, (url, body)


def _updates(wecom, code: str) -> list[dict]:
    do_deliver_due_outbox()
    return [u for u in wecom.state.card_updates if u["response_code"] == code]


def _invitation(meeting, person) -> Invitation:
    return Invitation.objects.get(meeting=meeting, person=person)


def test_the_invitation_card_has_three_buttons_and_no_reason(card_mode, meeting, cast):
    card = _card_of(card_mode, "zhangwei01")
    assert card["card_type"] == "button_interaction"
    assert card["main_title"]["title"].endswith("区府办周例会")
    notification = Notification.objects.get(recipient=cast.zhangwei, work_item__kind="meeting_invitation")
    assert card["task_id"] == f"oa-card-{notification.pk}"
    callback, leave, delegate = card["button_list"]
    assert (callback["type"], callback["text"], callback["key"]) == (0, "参加", "accept")
    assert (leave["type"], leave["text"], delegate["type"], delegate["text"]) == (1, "请假", 1, "委派")
    assert leave["url"] == (f"https://oa.example.gov.cn/integrations/wecom/login/?next=/meetings/{meeting.pk}/"
                            "%3Freply%3Dleave%23reply")
    # The jump lands on the meeting page's reply form, opened.
    from tests.clients import login
    page = login(cast.zhangwei).get(f"/meetings/{meeting.pk}/?reply=leave").content.decode()
    assert 'id="reply"' in page and '<details class="mt-reply" open><summary class="btn btn-quiet">请假' in page


def test_pressing_canjia_records_the_rsvp_as_the_invitee_and_updates_the_card(client, card_mode, meeting, cast,
                                                                            time_machine):
    card = _card_of(card_mode, "zhangwei01")
    response, code, (url, body) = _press(client, card_mode, userid="zhangwei01", task_id=card["task_id"])
    assert response.status_code == 200 and response.content == b"success"
    invitation = _invitation(meeting, cast.zhangwei)
    assert invitation.response == Invitation.Response.ACCEPTED
    assert not WorkItem.objects.filter(owner=cast.zhangwei, kind="meeting_invitation", state="open").exists()
    assert Notification.objects.filter(recipient=cast.lina, event_type="meeting.replied").count() == 1
    (update,) = _updates(card_mode, code)  # the press's own ResponseCode, spent once
    assert update["userids"] == ["zhangwei01"]
    assert update["template_card"]["replace_text"] == "已回复：参加"
    assert update["template_card"]["sub_title_text"] == "已回复：参加"

    # The platform's retry of the same request: acknowledged, nothing runs twice.
    assert client.post(url, body, content_type="text/xml").content == b"success"
    # A second press on the (not yet refreshed) card: idempotent, the card just says what was answered.
    time_machine.shift(dt.timedelta(seconds=20))
    again, code2, _ = _press(client, card_mode, userid="zhangwei01", task_id=card["task_id"])
    assert again.status_code == 200
    assert [u["template_card"]["replace_text"] for u in _updates(card_mode, code2)] == ["已回复：参加"]
    assert MeetingChange.objects.filter(meeting=meeting, action="reply.accepted").count() == 1
    assert Notification.objects.filter(recipient=cast.lina, event_type="meeting.replied").count() == 1


def test_the_json_form_of_the_callback_works_the_same(client, card_mode, meeting, cast):
    card = _card_of(card_mode, "xuli01")
    response, code, _ = _press(client, card_mode, userid="xuli01", task_id=card["task_id"], as_json=True)
    assert response.status_code == 200
    assert _invitation(meeting, cast.xuli).response == Invitation.Response.ACCEPTED
    assert len(_updates(card_mode, code)) == 1


def test_a_forged_signature_is_refused_and_nothing_happens(client, card_mode, meeting, cast):
    card = _card_of(card_mode, "zhangwei01")
    response, code, _ = _press(client, card_mode, userid="zhangwei01", task_id=card["task_id"], forge=True)
    assert response.status_code == 400 and response.json()["errcode"] == -40001
    assert not CallbackMessage.objects.exists()
    assert _invitation(meeting, cast.zhangwei).response == Invitation.Response.PENDING
    assert _updates(card_mode, code) == []


def test_only_the_invitee_can_answer_with_the_card(client, card_mode, meeting, cast, time_machine):
    card = _card_of(card_mode, "zhangwei01")
    # 徐丽 is invited too, but this is 张伟's card: the platform says 徐丽 pressed it (TaskId of another's card).
    response, code, _ = _press(client, card_mode, userid="xuli01", task_id=card["task_id"])
    assert response.status_code == 200
    assert _invitation(meeting, cast.zhangwei).response == Invitation.Response.PENDING
    assert _invitation(meeting, cast.xuli).response == Invitation.Response.PENDING
    assert _updates(card_mode, code) == []
    # A TaskId that names no card of ours, and a button the card never had.
    time_machine.shift(dt.timedelta(seconds=2))
    _press(client, card_mode, userid="zhangwei01", task_id="oa-card-999999")
    time_machine.shift(dt.timedelta(seconds=2))
    _, code, _ = _press(client, card_mode, userid="zhangwei01", task_id=card["task_id"], key="leave")
    assert _invitation(meeting, cast.zhangwei).response == Invitation.Response.PENDING
    (update,) = _updates(card_mode, code)
    assert "按钮已失效" in update["template_card"]["sub_title_text"]


def test_a_press_after_the_meeting_started_is_refused_and_the_card_says_why(client, card_mode, meeting, cast,
                                                                           time_machine):
    card = _card_of(card_mode, "zhangwei01")
    time_machine.move_to(meeting.start + dt.timedelta(minutes=5), tick=False)
    response, code, _ = _press(client, card_mode, userid="zhangwei01", task_id=card["task_id"])
    assert response.status_code == 200
    assert _invitation(meeting, cast.zhangwei).response == Invitation.Response.PENDING
    (update,) = _updates(card_mode, code)
    assert update["template_card"]["replace_text"] == "未办理"
    assert update["template_card"]["sub_title_text"] == "会议已开始，卡片上不能再回复，请打开会议页。"


def test_a_cancelled_meeting_updates_the_card_and_refuses_a_stale_press(client, card_mode, meeting, cast):
    card = _card_of(card_mode, "zhangwei01")
    check_cancel_meeting(cast.lina, meeting, "领导另有安排")
    do_deliver_due_outbox()
    retired = [u for u in card_mode.state.card_updates if u["userids"] == ["zhangwei01"]]
    assert [u["template_card"]["sub_title_text"] for u in retired] == ["已撤销：会议已取消"]
    assert "领导另有安排" not in json.dumps(retired, ensure_ascii=False)  # the reason stays in the OA
    _, code, _ = _press(client, card_mode, userid="zhangwei01", task_id=card["task_id"])
    assert _invitation(meeting, cast.zhangwei).response == Invitation.Response.PENDING
    (update,) = _updates(card_mode, code)
    assert update["template_card"]["sub_title_text"] == "已撤销：会议已取消"


def test_a_leave_answered_on_the_web_shows_on_the_card_without_the_reason(card_mode, meeting, cast):
    _card_of(card_mode, "zhangwei01")
    check_respond(cast.zhangwei, meeting, Invitation.Response.LEAVE, reason="赴市里参加培训")
    do_deliver_due_outbox()
    (update,) = [u for u in card_mode.state.card_updates if u["userids"] == ["zhangwei01"]]
    assert update["template_card"]["replace_text"] == "已回复：请假"
    assert "培训" not in json.dumps(update, ensure_ascii=False)
