"""文号序列 per 文种 (docs/numbering.md §8): 函 and 纪要 take their own series, configured per agency; the ledger and
the gap report hold per series; 纪要 print their 标志 and 出席/请假/列席 (GB/T 9704 §10.3) in DOCX and PDF."""

from __future__ import annotations

import io
import re
import subprocess

import pytest
from django.urls import reverse
from django.utils import timezone
from docx import Document

from documents.actions.body import check_save_body
from documents.actions.documents import check_update_document, do_create_document, do_set_document_status
from documents.actions.numbering import (
    DEMO_SERIES,
    check_backfill_doc_number,
    check_configure_series,
    check_mark_blank,
    do_allocate_doc_number,
)
from documents.actions.typeset import check_typeset_document
from documents.models import DocNumberEntry, DocNumberSequence, DocNumberSeries, DocType, OfficialDocument
from documents.numbering import check_series_format
from documents.rendering.pdf import render_pdf
from documents.selectors.numbering import gap_report, series_for_document
from documents.specs import spec_from_document
from oa.models import Agency, AuditEntry, Department
from oa.refusals import Refusal
from tests.clients import login as as_user

pytestmark = pytest.mark.django_db

BODY = {"blocks": [
    {"type": "p", "level": 0, "text": "会议听取了区应急管理局关于冬季安全生产工作的汇报，研究了有关事项。"},
    {"type": "p", "level": 1, "text": "议定事项"},
    {"type": "p", "level": 0, "text": "会议同意区应急管理局提出的工作方案，由区应急管理局牵头落实。"},
]}


@pytest.fixture
def office() -> Agency:
    return Agency.objects.get(doc_code="揭东府办")


@pytest.fixture
def gov() -> Agency:
    return Agency.objects.get(doc_code="揭东府")


def year() -> int:
    return timezone.localdate().year


def draft(cast, agency, doc_type=DocType.NOTICE, title="关于做好冬季安全生产工作的通知", status="signed", **fields):
    doc = do_create_document(actor=cast.zhangwei, agency=agency, title=title, doc_type=doc_type,
                             department=Department.objects.filter(agency=agency).first(), **fields)
    if status != "draft":
        do_set_document_status(doc, status, actor=cast.wangfang)
    return doc


def refused(expected: str, fn, *args, **kwargs) -> Refusal:
    with pytest.raises(Refusal) as refusal:
        fn(*args, **kwargs)
    assert refusal.value.code == expected, refusal.value.message
    assert re.search(r"[\u4e00-\u9fff]", refusal.value.message)
    return refusal.value


# ---------------------------------------------------------------- the demo's series


def test_the_demo_seeds_letter_and_minutes_series_for_the_government_and_its_office(office, gov):
    by_code = {s.code: s for s in DocNumberSeries.objects.select_related("agency")}
    assert {code for _, _, code, *_ in DEMO_SERIES} <= set(by_code)
    assert by_code["揭东府办函"].agency == office and by_code["揭东府办函"].doc_types == [DocType.LETTER]
    assert by_code["揭东府函"].agency == gov
    minutes = by_code["揭东府常纪"]
    assert minutes.agency == gov and minutes.doc_types == [DocType.MINUTES]
    assert minutes.issuer_mark == "揭阳市揭东区人民政府常务会议纪要"
    # Idempotent: loading the demo again creates nothing new.
    from django.core.management import call_command
    call_command("load_demo", verbosity=0)
    assert DocNumberSeries.objects.count() == len(by_code)


# ---------------------------------------------------------------- numbers by series


def test_each_doc_type_takes_its_series_and_the_ledgers_stay_apart(cast, office, gov):
    y = year()
    notice = draft(cast, office)
    letter = draft(cast, office, DocType.LETTER, "关于商请协助开展安全检查的函")
    letter2 = draft(cast, office, DocType.LETTER, "关于商请提供统计数据的函")
    gov_minutes = draft(cast, gov, DocType.MINUTES, "区人民政府第十二次常务会议纪要")
    office_minutes = draft(cast, office, DocType.MINUTES, "区府办主任办公会议纪要")

    assert do_allocate_doc_number(cast.liuyang, notice).number == f"揭东府办〔{y}〕1号"
    assert do_allocate_doc_number(cast.liuyang, letter).number == f"揭东府办函〔{y}〕1号"
    assert do_allocate_doc_number(cast.liuyang, letter2).number == f"揭东府办函〔{y}〕2号"
    assert do_allocate_doc_number(cast.liuyang, gov_minutes).number == f"〔{y}〕1号"
    assert do_allocate_doc_number(cast.liuyang, office_minutes).number == f"{y}年第1期"
    letter.refresh_from_db()
    assert letter.doc_number == f"揭东府办函〔{y}〕1号"

    # One sequence row per series (代字, 年); the 文件 series did not move for the 函.
    assert DocNumberSequence.objects.get(code="揭东府办", year=y).last == 1
    assert DocNumberSequence.objects.get(code="揭东府办函", year=y).last == 2
    assert DocNumberSequence.objects.get(code="揭东府常纪", year=y).agency == gov
    assert gap_report("揭东府办函", y).counts["assigned"] == 2
    assert gap_report("揭东府办", y).counts["assigned"] == 1
    entry = AuditEntry.objects.filter(action="docnumber.allocate").latest("id")
    assert entry.changes["code"] == "揭东府办纪" and entry.changes["number"] == f"{y}年第1期"


def test_blank_and_backfill_print_the_series_format_and_the_gap_report_is_per_series(cast, office):
    y = year()
    docs = [draft(cast, office, DocType.MINUTES, f"主任办公会议纪要（{i}）") for i in range(1, 4)]
    for doc in docs:
        do_allocate_doc_number(cast.liuyang, doc)
    # 年中上线: the paper ledger had reached 第5期 → numbers 4 and 5 are gaps of this series only.
    DocNumberSequence.objects.filter(code="揭东府办纪", year=y).update(last=5)
    report = gap_report("揭东府办纪", y)
    assert report.gaps == [4, 5] and gap_report("揭东府办", y).gaps == []
    blank = check_mark_blank(cast.liuyang, "揭东府办纪", y, 4, "已用于纸质纪要")
    assert blank.number == f"{y}年第4期"
    late = draft(cast, office, DocType.MINUTES, "主任办公会议纪要（补）")
    filled = check_backfill_doc_number(cast.liuyang, late, "揭东府办纪", y, 5, "补登纸质期间的纪要")
    assert filled.number == f"{y}年第5期" and gap_report("揭东府办纪", y).gaps == []


def test_two_minutes_series_of_one_agency_are_chosen_per_meeting_body(cast, gov):
    y = year()
    topical = check_configure_series(None, gov, name="区政府专题会议纪要", code="揭东府专纪",
                                     number_format="〔{年}〕{号}号", doc_types=[DocType.MINUTES],
                                     issuer_mark="揭阳市揭东区人民政府专题会议纪要")
    standing = draft(cast, gov, DocType.MINUTES, "第十二次常务会议纪要")
    special = draft(cast, gov, DocType.MINUTES, "关于城区排涝工程的专题会议纪要", number_series=topical.pk)
    assert series_for_document(special) == topical
    assert series_for_document(standing).code == "揭东府常纪"
    assert do_allocate_doc_number(cast.liuyang, special).sequence.code == "揭东府专纪"
    assert do_allocate_doc_number(cast.liuyang, standing).sequence.code == "揭东府常纪"
    assert DocNumberSequence.objects.get(code="揭东府专纪", year=y).last == 1
    # A series can only be chosen for a 文种 it numbers, and only the agency's own.
    letter_series = DocNumberSeries.objects.get(code="揭东府函")
    before = OfficialDocument.objects.count()
    refused("invalid_number_series", draft, cast, gov, DocType.NOTICE, "通知", number_series=letter_series.pk)
    refused("invalid_number_series", draft, cast, Agency.objects.get(doc_code="揭东府办"), DocType.MINUTES, "纪要",
            number_series=topical.pk)
    assert OfficialDocument.objects.count() == before


# ---------------------------------------------------------------- configuring a series


def test_a_series_without_the_year_is_refused_in_chinese_and_nothing_is_written(cast, office):
    before = (DocNumberSeries.objects.count(), AuditEntry.objects.filter(action="docnumber.series").count())
    err = refused("series_format_no_year", check_configure_series, cast.liuyang, office, name="区府办便函",
                  code="揭东府办便", number_format="{代字}{号}号", doc_types=[DocType.LETTER])
    assert "缺少年份" in err.message
    refused("series_format_no_year", check_configure_series, cast.liuyang, office, name="办公会议纪要",
            code="揭东府办会", number_format="第{号}期", doc_types=[DocType.MINUTES])
    assert (DocNumberSeries.objects.count(), AuditEntry.objects.filter(action="docnumber.series").count()) == before


@pytest.mark.parametrize(("kwargs", "code"), [
    ({"number_format": "{代字}[{年}]{号}号"}, "series_format_invalid"),  # a 函 must print 代字〔年〕N号
    ({"number_format": "{代字}〔{年}〕{号}号{号}"}, "series_format_invalid"),
    ({"number_format": "{机关}〔{年}〕{号}号"}, "series_format_invalid"),
    ({"number_format": "〔{年}〕{号}号"}, "series_format_invalid"),  # without 代字: for 纪要 only
    ({"doc_types": []}, "series_doc_types_required"),
    ({"doc_types": ["xin"]}, "series_doc_types_invalid"),
    ({"doc_types": [DocType.LETTER]}, "series_doc_type_taken"),  # 区府办's 函 already has a series
    ({"code": "揭东府办"}, "series_code_taken"),  # the 文件 series' own 代字
    ({"code": "揭东财"}, "code_of_other_agency"),  # 区财政局's 代字
    ({"code": "揭东府办〔x〕"}, "invalid_code"),
    ({"name": "  "}, "series_name_required"),
    ({"doc_types": [DocType.MINUTES], "issuer_mark": "揭东区人民政府办公室文件"}, "series_mark_invalid"),
])
def test_bad_series_settings_are_refused(cast, office, kwargs, code):
    settings = {"name": "区府办通报", "code": "揭东府办通", "number_format": "{代字}〔{年}〕{号}号",
                "doc_types": [DocType.BULLETIN], **kwargs}
    before = DocNumberSeries.objects.count()
    refused(code, check_configure_series, cast.liuyang, office, **settings)
    assert DocNumberSeries.objects.count() == before


def test_only_the_agencys_clerk_configures_its_series_and_it_is_audited(cast, office):
    refused("not_clerk", check_configure_series, cast.zhangwei, office, name="区府办通报", code="揭东府办通",
            number_format="{代字}〔{年}〕{号}号", doc_types=[DocType.BULLETIN])
    series = check_configure_series(cast.liuyang, office, name="区府办通报", code="揭东府办通",
                                    number_format="{代字}〔{年}〕{号}号", doc_types=[DocType.BULLETIN])
    entry = AuditEntry.objects.filter(action="docnumber.series").latest("id")
    assert entry.actor == cast.liuyang and entry.changes["code"] == "揭东府办通"
    bulletin = draft(cast, office, DocType.BULLETIN, "关于表扬安全生产先进单位的通报")
    assert do_allocate_doc_number(cast.liuyang, bulletin).number == f"揭东府办通〔{year()}〕1号"
    # Once it has numbered, its 代字 is fixed (the ledger is keyed by it); deactivating sends 通报 back to 文件.
    refused("series_code_in_use", check_configure_series, cast.liuyang, office, name="区府办通报", code="揭东府办报",
            number_format="{代字}〔{年}〕{号}号", doc_types=[DocType.BULLETIN], series=series)
    check_configure_series(cast.liuyang, office, name="区府办通报", code="揭东府办通",
                           number_format="{代字}〔{年}〕{号}号", doc_types=[DocType.BULLETIN], series=series,
                           is_active=False)
    later = draft(cast, office, DocType.BULLETIN, "关于第二批先进单位的通报")
    assert do_allocate_doc_number(cast.liuyang, later).number == f"揭东府办〔{year()}〕1号"


def test_format_rules_as_pure_functions():
    check_series_format("{代字}〔{年}〕{号}号", minutes_only=False)
    for fmt in ("〔{年}〕{号}号", "{年}年第{号}期", "{代字}〔{年}〕{号}号"):
        check_series_format(fmt, minutes_only=True)
    for fmt, message in (("第{号}期", "缺少年份"), ("", "请填写"), ("{年}{号}", "只能是")):
        with pytest.raises(ValueError, match=message):
            check_series_format(fmt, minutes_only=True)


# ---------------------------------------------------------------- 纪要: 标志 and 出席/请假/列席


def _minutes(cast, gov):
    doc = draft(cast, gov, DocType.MINUTES, "区人民政府第十二次常务会议纪要", status="draft",
                attendees=["区人民政府 区长 陈志强", "区人民政府 副区长 马晓燕", "区府办 主任 王芳"],
                absentees=["区人民政府 副区长 李明（出差）"], observers=["区应急管理局 局长 余海"])
    check_save_body(cast.zhangwei, doc, BODY, if_match=None)
    check_update_document(cast.zhangwei, doc, {"written_date": timezone.localdate().isoformat()})
    do_set_document_status(doc, "signed", actor=cast.wangfang)
    do_allocate_doc_number(cast.liuyang, doc)
    doc.refresh_from_db()
    return doc


def _pdf_text(data: bytes) -> str:
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True,
                          check=True).stdout.decode()


def test_minutes_print_their_mark_number_and_attendance_in_docx_and_pdf(cast, gov):
    doc = _minutes(cast, gov)
    spec = spec_from_document(doc)
    assert spec.issuer_mark == "揭阳市揭东区人民政府常务会议纪要" and spec.doc_number == f"〔{year()}〕1号"
    assert spec.attendance == [("出席", ["区人民政府 区长 陈志强", "区人民政府 副区长 马晓燕", "区府办 主任 王芳"]),
                               ("请假", ["区人民政府 副区长 李明（出差）"]), ("列席", ["区应急管理局 局长 余海"])]
    check_typeset_document(cast.liuyang, doc)  # the GB/T 9704 checker passes on the DOCX
    doc.refresh_from_db()
    with doc.final_docx.open("rb") as fh:
        paragraphs = [p.text for p in Document(io.BytesIO(fh.read())).paragraphs]
    assert "揭阳市揭东区人民政府常务会议纪要" in paragraphs and f"〔{year()}〕1号" in paragraphs
    lines = [p for p in paragraphs if p.startswith(("出席：", "请假：", "列席："))]
    assert [line[:3] for line in lines] == ["出席：", "请假：", "列席："]
    assert "陈志强" in lines[0] and "李明（出差）" in lines[1] and "余海" in lines[2]
    with doc.final_pdf.open("rb") as fh:
        text = _pdf_text(fh.read())
    flat = re.sub(r"\s+", "", text)
    assert "揭阳市揭东区人民政府常务会议纪要" in flat and "出席：区人民政府区长陈志强" in flat
    assert flat.index("出席：") < flat.index("请假：") < flat.index("列席：")


def test_attendance_is_only_for_minutes_and_the_edit_form_fills_it(cast, office, gov):
    before = OfficialDocument.objects.count()
    refused("attendance_only_minutes", draft, cast, office, DocType.NOTICE, "通知", attendees=["区府办 王芳"])
    assert OfficialDocument.objects.count() == before
    doc = draft(cast, gov, DocType.MINUTES, "区人民政府第十三次常务会议纪要", status="draft")
    response = as_user(cast.zhangwei).post(reverse("documents:edit", args=[doc.pk]), {
        "doc_type": "jiyao", "layout": "minutes", "title": doc.title, "publicity": "not_public",
        "attendees": "区人民政府 区长 陈志强\n区府办 主任 王芳", "observers": "区应急管理局 局长 余海",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    doc.refresh_from_db()
    assert doc.attendees == ["区人民政府 区长 陈志强", "区府办 主任 王芳"] and doc.observers == ["区应急管理局 局长 余海"]
    assert doc.absentees == []
    page = as_user(cast.zhangwei).get(reverse("documents:edit", args=[doc.pk])).content.decode()
    assert 'name="attendees"' in page and "出席（纪要）" in page and "区人民政府常务会议纪要" in page


def test_a_pdf_of_minutes_renders_without_attendance_too(cast, gov):
    doc = _minutes(cast, gov)
    OfficialDocument.objects.filter(pk=doc.pk).update(attendees=[], absentees=[], observers=[])
    doc.refresh_from_db()
    spec = spec_from_document(doc)
    assert spec.attendance == []
    assert "出席" not in _pdf_text(render_pdf(spec))


def test_ledger_entries_keep_one_live_number_per_document_across_series(cast, office):
    letter = draft(cast, office, DocType.LETTER, "关于商请协助的函")
    first = do_allocate_doc_number(cast.liuyang, letter)
    assert do_allocate_doc_number(cast.liuyang, letter) == first  # idempotent within its series
    refused("already_numbered", do_allocate_doc_number, cast.liuyang, letter, code="揭东府办")
    assert DocNumberEntry.objects.filter(document=letter).count() == 1
