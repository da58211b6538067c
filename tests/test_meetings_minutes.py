"""纪要 and 议定事项 (docs/meetings.md 纪要): decisions with owner unit and deadline (a date, or working days on
the calendar), the 纪要 drafted as a 公文 of 文种 纪要 with 出席/请假/列席 from the attendance record, rendered and
passing the GB/T 9704 checker, hostile text printed literally, and routed on the existing 发文 flow."""

from __future__ import annotations

import datetime as dt
import io
import re
import subprocess
from zoneinfo import ZoneInfo

import pytest
from docx import Document

from documents.actions.documents import do_set_document_status
from documents.actions.numbering import do_allocate_doc_number
from documents.actions.typeset import check_typeset_document
from documents.checker import check_gbt9704
from documents.models import DocType, Layout, OfficialDocument
from meetings import minutes as minutes_module
from meetings.actions import AgendaInput, MeetingInput, check_create_meeting, check_respond
from meetings.minutes import (
    DecisionInput,
    check_draft_minutes,
    check_record_decision,
    check_send_minutes,
    decisions_for_supervision,
    minutes_attendance,
)
from meetings.models import Decision, Invitation, MeetingChange, MeetingMinutes
from oa.models import Agency
from oa.refusals import Refusal
from tests.clients import login

BJ = ZoneInfo("Asia/Shanghai")
HOSTILE = '<img src=x onerror=alert(1)> & <b>加粗</b> “引号”'


def at(y, m, d, hh=9, mm=0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=BJ)


@pytest.fixture
def office(db):
    return Agency.objects.get(short_name="区府办")


@pytest.fixture
def held(cast, time_machine, office):
    """A 区府办 meeting on Tuesday 2026-03-03, replied to, then the clock after it."""
    time_machine.move_to(at(2026, 3, 2, 8), tick=False)
    m = check_create_meeting(cast.zhangwei, MeetingInput(
        title="区府办主任办公会议", start=at(2026, 3, 3, 9), end=at(2026, 3, 3, 11), location="三楼会议室",
        host=cast.huangjianhua, participants=[cast.lina, cast.xuli, cast.gaojun, cast.wangfang],
        observers=[cast.wujing],
        agenda=[AgendaInput("冬季安全生产工作", presenter=cast.xuli), AgendaInput("政务信息报送考核")]))
    check_respond(cast.lina, m, Invitation.Response.ACCEPTED)
    check_respond(cast.xuli, m, Invitation.Response.LEAVE, reason="到市里参加培训")
    check_respond(cast.gaojun, m, Invitation.Response.DELEGATED, delegate=cast.zhangwei)
    check_respond(cast.zhangwei, m, Invitation.Response.ACCEPTED)
    check_respond(cast.wujing, m, Invitation.Response.ACCEPTED)
    time_machine.move_to(at(2026, 3, 3, 14), tick=False)
    return m


def _decide(cast, m, text, unit, **kw):
    return check_record_decision(cast.zhangwei, m, DecisionInput(text=text, owner_unit=unit, **kw))


def test_decisions_take_a_date_or_working_days_and_feed_supervision(cast, held, office):
    item = held.agenda.get(position=1)
    first = _decide(cast, held, "由区府办综合科牵头，组织开展冬季安全生产大检查。", office, agenda_item=item,
                    deadline=dt.date(2026, 3, 31))
    # 5 working days after Tuesday 2026-03-03 is Tuesday 2026-03-10 (the weekend does not count).
    second = _decide(cast, held, "各科室按月报送政务信息", office, working_days=5)
    assert (first.position, second.position) == (1, 2)
    assert second.deadline == dt.date(2026, 3, 10) and second.deadline_working_days == 5
    records = decisions_for_supervision(held)
    assert [(r.position, r.owner_unit, r.deadline, r.agenda_title) for r in records] == [
        (1, office.name, dt.date(2026, 3, 31), "冬季安全生产工作"), (2, office.name, dt.date(2026, 3, 10), "")]
    assert records[0].source == held.title
    assert MeetingChange.objects.filter(meeting=held, action="decision.add").count() == 2


@pytest.mark.parametrize("kw, code", [
    ({"text": "  "}, "decision_text_required"),
    ({"owner_unit": None}, "owner_unit_required"),
    ({"deadline": dt.date(2026, 3, 31), "working_days": 3}, "deadline_twice"),
    ({"deadline": dt.date(2026, 3, 1)}, "deadline_before_meeting"),
    ({"working_days": 0}, "working_days_invalid"),
    ({"text": "含控制字符\u202e的事项"}, "control_chars"),
])
def test_bad_decisions_are_refused_in_chinese_and_nothing_is_written(cast, held, office, kw, code):
    data = {"text": "落实安全生产责任", "owner_unit": office, **kw}
    with pytest.raises(Refusal) as caught:
        check_record_decision(cast.zhangwei, held, DecisionInput(**data))
    assert caught.value.code == code and re.search(r"[\u4e00-\u9fff]", caught.value.message)
    assert not Decision.objects.exists()


def test_only_the_organiser_or_the_office_clerk_records_decisions(cast, held, office):
    with pytest.raises(Refusal) as caught:
        _decide(type("C", (), {"zhangwei": cast.lina}), held, "某事项", office)
    assert caught.value.code == "not_organiser" and caught.value.status == 403
    check_record_decision(cast.liuyang, held, DecisionInput("文书记录的事项", office))  # 区府办 文书


def test_attendance_from_replies(cast, held):
    a = minutes_attendance(held)
    assert not a.from_check_in
    assert a.attendees[0] == "区府办 黄建华"  # the 主持人 first
    assert "区府办 李娜" in a.attendees and "区府办 张伟" in a.attendees
    assert "区府办 徐丽（到市里参加培训）" in a.absentees
    assert "区府办 高军（委派 张伟 参加）" in a.absentees
    assert a.observers == ["区府办 吴静"]
    assert not any("王芳" in line for line in a.attendees + a.absentees), "unanswered: in no list"


def test_attendance_from_check_in_when_it_exists(cast, held, monkeypatch):
    # Check-in (签到) is another module's: when it has data, present means checked in.
    monkeypatch.setattr(minutes_module, "checked_in_person_ids",
                        lambda meeting: {cast.lina.pk, cast.wangfang.pk, cast.huangjianhua.pk})
    a = minutes_attendance(held)
    assert a.from_check_in
    assert a.attendees == ["区府办 黄建华", "区府办 李娜", "区府办 王芳"]
    assert "区府办 徐丽（到市里参加培训）" in a.absentees
    assert a.observers == [], "the 列席 who did not check in is not listed"


def _pdf_text(data: bytes) -> str:
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True,
                          check=True).stdout.decode()


def test_minutes_drafted_rendered_and_passing_the_checker_with_hostile_text_literal(cast, held, office):
    item = held.agenda.get(position=1)
    _decide(cast, held, HOSTILE, office, agenda_item=item, deadline=dt.date(2026, 3, 31))
    _decide(cast, held, "各科室按月报送政务信息。", office, working_days=5)
    minutes = check_draft_minutes(cast.zhangwei, held)
    doc = minutes.document
    assert (doc.doc_type, doc.layout, doc.seal_required) == (DocType.MINUTES, Layout.MINUTES, False)
    assert doc.title == "区府办主任办公会议纪要" and doc.agency == office
    assert doc.attendees[0] == "区府办 黄建华" and "区府办 徐丽（到市里参加培训）" in doc.absentees
    assert doc.observers == ["区府办 吴静"]
    texts = [b["text"] for b in doc.current_body.content["blocks"]]
    assert texts[0].startswith("2026年3月3日，区府办 黄建华主持召开区府办主任办公会议")
    assert "冬季安全生产工作" in texts and "其他事项" in texts
    assert any(t.startswith(HOSTILE) and "2026年3月31日前完成" in t for t in texts)
    assert any("各科室按月报送政务信息（责任单位：" in t and "2026年3月10日前完成" in t for t in texts)
    with pytest.raises(Refusal) as caught:
        check_draft_minutes(cast.zhangwei, held)
    assert caught.value.code == "minutes_exist"
    # 签发, 编号 in the 纪要 series, 排版: the engine renders and checks it like any 公文.
    do_set_document_status(doc, "signed", actor=cast.wangfang)
    do_allocate_doc_number(cast.liuyang, doc)
    check_typeset_document(cast.liuyang, doc)
    doc.refresh_from_db()
    assert doc.doc_number.endswith("期")  # the 区府办 纪要 series prints YYYY年第N期
    with doc.final_docx.open("rb") as fh:
        docx = fh.read()
    results = check_gbt9704(docx, layout="minutes")
    assert results and all(r.passed for r in results), [r for r in results if not r.passed]
    paragraphs = [p.text for p in Document(io.BytesIO(docx)).paragraphs]
    assert "揭东区人民政府办公室主任办公会议纪要" in paragraphs
    lines = [p for p in paragraphs if p.startswith(("出席：", "请假：", "列席："))]
    assert [line[:3] for line in lines] == ["出席：", "请假：", "列席："]
    assert "黄建华" in lines[0] and "徐丽" in lines[1] and "吴静" in lines[2]
    assert any(HOSTILE in p for p in paragraphs), "hostile text printed literally, not as markup"
    with doc.final_pdf.open("rb") as fh:
        flat = re.sub(r"\s+", "", _pdf_text(fh.read()))
    assert "<imgsrc=xonerror=alert(1)>&<b>加粗</b>" in flat
    assert decisions_for_supervision(held)[0].source == doc.doc_number


def test_minutes_are_sent_into_the_issuance_flow(cast, held, office):
    _decide(cast, held, "落实安全生产责任", office)
    minutes = check_draft_minutes(cast.zhangwei, held)
    with pytest.raises(Refusal) as caught:
        check_send_minutes(cast.liuyang, held)
    assert caught.value.code == "not_drafter"
    process = check_send_minutes(cast.zhangwei, held)
    doc = OfficialDocument.objects.get(pk=minutes.document_id)
    assert doc.status == "in_review" and process.artifact == doc
    assert process.flow_class.__name__ == "IssuanceFlow"


def test_minutes_before_the_meeting_or_by_others_are_refused(cast, time_machine, office):
    time_machine.move_to(at(2026, 3, 2, 8), tick=False)
    m = check_create_meeting(cast.zhangwei, MeetingInput(title="周例会", start=at(2026, 3, 3, 9),
                                                         end=at(2026, 3, 3, 10), location="三楼"))
    with pytest.raises(Refusal) as caught:
        check_draft_minutes(cast.zhangwei, m)
    assert caught.value.code == "meeting_not_started"
    assert not MeetingMinutes.objects.exists() and not OfficialDocument.objects.filter(doc_type="jiyao").exists()


def test_meeting_page_lists_decisions_with_owners_escaped_and_drafts_over_http(cast, held, office):
    _decide(cast, held, HOSTILE, office, deadline=dt.date(2026, 3, 31))
    client = login(cast.zhangwei)
    page = client.get(f"/meetings/{held.pk}/").content.decode()
    assert "议定事项" in page and f"责任单位：{office.name}" in page and "2026年3月31日" in page
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    response = client.post(f"/meetings/{held.pk}/decisions/", {"text": "再记一条", "owner_unit": office.pk,
                                                                "working_days": "3"})
    assert response.status_code == 302 and Decision.objects.filter(meeting=held).count() == 2
    response = client.post(f"/meetings/{held.pk}/decisions/", {"text": "", "owner_unit": office.pk})
    assert response.status_code == 302 and Decision.objects.filter(meeting=held).count() == 2
    response = client.post(f"/meetings/{held.pk}/minutes/draft")
    assert response.status_code == 302
    minutes = MeetingMinutes.objects.get(meeting=held)
    assert response["Location"] == f"/documents/{minutes.document_id}/"
    assert minutes.document.title in client.get(f"/meetings/{held.pk}/").content.decode()
    # Someone invited but not managing sees the list, not the forms.
    other = login(cast.lina).get(f"/meetings/{held.pk}/").content.decode()
    assert "再记一条" in other and "记录议定事项" not in other
