"""文号 (docs/numbering.md): parse/format properties, allocation inside the caller's transaction, the ledger of
作废/空号/补号, the gap report, and the page and API as the demo cast (刘洋 is 区府办's 文书; 张伟 is not)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from documents.actions.documents import do_create_document, do_set_document_status
from documents.actions.numbering import (
    check_allocate_doc_number,
    check_backfill_doc_number,
    check_mark_blank,
    check_void_doc_number,
    do_allocate_doc_number,
)
from documents.models import DocNumberEntry, DocNumberSequence, OfficialDocument
from documents.numbering import DocNumber, doc_number_from_text, format_doc_number, parse_doc_number
from documents.selectors.numbering import gap_report
from oa.actions.tokens import do_issue_token
from oa.models import Agency, AuditEntry, Department
from oa.refusals import Refusal
from tests.clients import login

# ================================================================ parse / format (no database)

BRACKETS = "〔〕[]［］()（）【】{}｛｝<>〈〉《》﹝﹞〖〗"


def is_valid_code(code: str) -> bool:
    """The rule for a 机关代字, stated independently of the implementation."""
    return bool(code) and code.isprintable() and not any(c.isspace() or c in BRACKETS for c in code)


# Any printable characters, CJK-heavy (real codes), plus the troublemakers: brackets, digits, 号, 第, spaces.
any_code = st.text(
    alphabet=st.one_of(
        st.sampled_from("揭东府办区委发政函财教卫号第年0123456789ABZ〔〕[]()（）【】﹝﹞ \u3000\t"),
        st.characters(codec="utf-8", exclude_categories=("Cs",)),
    ),
    min_size=1,
    max_size=10,
)
valid_codes = any_code.filter(is_valid_code)
years = st.integers(min_value=1000, max_value=9999)
seqs = st.integers(min_value=1, max_value=10**9)


@given(valid_codes, years, seqs)
def test_round_trip_for_every_valid_number(code: str, year: int, seq: int) -> None:
    text = format_doc_number(code, year, seq)
    assert text == f"{code}〔{year}〕{seq}号"
    assert parse_doc_number(text) == DocNumber(code, year, seq)
    assert str(parse_doc_number(text)) == text


@given(st.text(max_size=30))
def test_parse_accepts_only_canonical_text(text: str) -> None:
    """Whatever parse accepts formats back to exactly the same string; everything else is a ValueError."""
    try:
        number = parse_doc_number(text)
    except ValueError as exc:
        assert re.search(r"[\u4e00-\u9fff]", str(exc))  # a Chinese reason, always
        return
    assert format_doc_number(number.code, number.year, number.seq) == text


@given(any_code.filter(lambda c: not is_valid_code(c)), years, seqs)
def test_format_refuses_invalid_codes(code: str, year: int, seq: int) -> None:
    with pytest.raises(ValueError, match="机关代字"):
        format_doc_number(code, year, seq)


@given(valid_codes, st.one_of(st.integers(max_value=999), st.integers(min_value=10000)), seqs)
def test_format_refuses_years_out_of_range(code: str, year: int, seq: int) -> None:
    with pytest.raises(ValueError, match="年份"):
        format_doc_number(code, year, seq)


@given(valid_codes, years, st.integers(max_value=0))
def test_format_refuses_seq_below_one(code: str, year: int, seq: int) -> None:
    with pytest.raises(ValueError, match="序号"):
        format_doc_number(code, year, seq)


@given(valid_codes, years, seqs, st.sampled_from(["[]", "()", "（）", "【】", "［］", "{}", "《》", "﹝﹞", "〖〗"]))
def test_parse_refuses_other_brackets(code: str, year: int, seq: int, pair: str) -> None:
    with pytest.raises(ValueError, match="六角括号"):
        parse_doc_number(f"{code}{pair[0]}{year}{pair[1]}{seq}号")


@given(valid_codes, years, seqs)
def test_parse_refuses_year_with_nian(code: str, year: int, seq: int) -> None:
    with pytest.raises(ValueError, match="六角括号"):
        parse_doc_number(f"{code}{year}年{seq}号")
    with pytest.raises(ValueError, match="4位"):
        parse_doc_number(f"{code}〔{year}年〕{seq}号")


@given(valid_codes, years, seqs, st.integers(min_value=1, max_value=3))
def test_parse_refuses_leading_zeros(code: str, year: int, seq: int, zeros: int) -> None:
    with pytest.raises(ValueError, match="虚位"):
        parse_doc_number(f"{code}〔{year}〕{'0' * zeros}{seq}号")


@given(valid_codes, years, seqs)
def test_parse_refuses_di_and_missing_hao(code: str, year: int, seq: int) -> None:
    with pytest.raises(ValueError, match="第"):
        parse_doc_number(f"{code}〔{year}〕第{seq}号")
    with pytest.raises(ValueError, match="号"):
        parse_doc_number(f"{code}〔{year}〕{seq}")
    with pytest.raises(ValueError, match="号"):
        parse_doc_number(f"{code}〔{year}〕{seq}號")


@given(valid_codes, years, seqs)
def test_parse_refuses_full_width_digits(code: str, year: int, seq: int) -> None:
    wide = str.maketrans("0123456789", "０１２３４５６７８９")
    with pytest.raises(ValueError, match="4位"):
        parse_doc_number(f"{code}〔{str(year).translate(wide)}〕{seq}号")
    with pytest.raises(ValueError, match="阿拉伯数字"):
        parse_doc_number(f"{code}〔{year}〕{str(seq).translate(wide)}号")


@given(valid_codes, st.integers(min_value=0, max_value=999), seqs)
def test_parse_refuses_short_or_zero_padded_years(code: str, year: int, seq: int) -> None:
    with pytest.raises(ValueError, match="4位"):
        parse_doc_number(f"{code}〔{year}〕{seq}号")  # 26, 999
    with pytest.raises(ValueError, match="4位"):
        parse_doc_number(f"{code}〔{year:04d}〕{seq}号")  # 0999


@given(valid_codes, years, seqs, st.sampled_from([" ", "\u3000", "\t", "\n"]), st.sampled_from(["lead", "trail", "code", "seq"]))
def test_parse_refuses_whitespace(code: str, year: int, seq: int, space: str, where: str) -> None:
    text = {
        "lead": f"{space}{code}〔{year}〕{seq}号",
        "trail": f"{code}〔{year}〕{seq}号{space}",
        "code": f"{code}{space}〔{year}〕{seq}号",
        "seq": f"{code}〔{year}〕{space}{seq}号",
    }[where]
    with pytest.raises(ValueError):
        parse_doc_number(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("揭东府办[2026]5号", "六角括号"),
        ("揭东府办(2026)5号", "六角括号"),
        ("揭东府办2026年5号", "不加“年”字"),
        ("揭东府办〔2026〕05号", "虚位"),
        ("揭东府办〔2026〕第5号", "第"),
        ("揭东府办〔2026〕5", "号"),
        ("揭东府办〔2026]5号", "六角括号"),
        ("〔2026〕5号", "缺少机关代字"),
        ("揭东\x00府办〔2026〕5号", "控制字符"),
        ("", "为空"),
    ],
)
def test_named_refusals(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_doc_number(text)


def test_doc_number_from_text_gives_a_document_error() -> None:
    with pytest.raises(Refusal) as refusal:
        doc_number_from_text("揭东府办[2026]5号")
    assert refusal.value.code == "invalid_doc_number"
    assert "六角括号" in refusal.value.message
    assert doc_number_from_text("揭东府办〔2026〕5号") == DocNumber("揭东府办", 2026, 5)


# ================================================================ actions (PostgreSQL)

YEAR = 2026


@pytest.fixture
def office(db) -> Agency:
    return Agency.objects.get(doc_code="揭东府办")


def new_document(cast, office, title="关于做好冬季安全生产工作的通知", status="signed", **fields) -> OfficialDocument:
    doc = do_create_document(
        actor=cast.zhangwei, agency=office, title=title,
        department=Department.objects.get(agency=office, name="秘书科"), **fields,
    )
    if status != "draft":
        do_set_document_status(doc, status, actor=cast.wangfang)
    return doc


def audits(action: str, **filters) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action, **filters).order_by("id"))


def refused(expected: str, fn, *args, **kwargs) -> Refusal:
    with pytest.raises(Refusal) as refusal:
        fn(*args, **kwargs)
    assert refusal.value.code == expected, refusal.value.message
    assert re.search(r"[\u4e00-\u9fff]", refusal.value.message)
    return refusal.value


def sequence(code="揭东府办", year=YEAR) -> DocNumberSequence:
    return DocNumberSequence.objects.get(code=code, year=year)


@pytest.mark.django_db
def test_allocate_numbers_documents_in_order_with_ledger_and_audit(cast, office):
    first, second = new_document(cast, office, "一号文"), new_document(cast, office, "二号文")
    e1 = check_allocate_doc_number(cast.liuyang, first, year=YEAR)
    e2 = check_allocate_doc_number(cast.liuyang, second, year=YEAR)

    assert (e1.seq, e1.number, e1.state) == (1, "揭东府办〔2026〕1号", "assigned")
    assert (e2.seq, e2.number) == (2, "揭东府办〔2026〕2号")
    assert first.doc_number == "揭东府办〔2026〕1号"  # the caller's instance is updated too
    assert OfficialDocument.objects.get(pk=first.pk).doc_number == "揭东府办〔2026〕1号"
    assert OfficialDocument.objects.get(pk=second.pk).doc_number == "揭东府办〔2026〕2号"
    seq = sequence()
    assert seq.last == 2 and seq.agency == office
    assert list(seq.entries.values_list("seq", "document_id", "actor__username")) == [
        (1, first.pk, "liuyang"), (2, second.pk, "liuyang"),
    ]
    [a1, a2] = audits("docnumber.allocate")
    assert a1.actor == cast.liuyang and a1.object_repr == "揭东府办〔2026〕1号"
    assert a1.changes == {"number": "揭东府办〔2026〕1号", "code": "揭东府办", "year": 2026, "seq": 1,
                          "document": first.pk, "title": "一号文"}
    assert a2.changes["seq"] == 2


@pytest.mark.django_db
def test_code_and_year_default_to_the_agency_and_this_year_in_shanghai(cast, office, monkeypatch):
    doc = new_document(cast, office)
    # 2026-12-31 20:00 UTC is already 2027-01-01 in Asia/Shanghai.
    monkeypatch.setattr(timezone, "now", lambda: dt.datetime(2026, 12, 31, 20, 0, tzinfo=dt.UTC))
    entry = do_allocate_doc_number(cast.liuyang, doc)
    assert entry.number == "揭东府办〔2027〕1号"
    assert entry.sequence.code == office.doc_code and entry.sequence.year == 2027


@pytest.mark.django_db
def test_allocation_is_idempotent_per_document(cast, office, monkeypatch):
    doc = new_document(cast, office)
    entry = do_allocate_doc_number(cast.liuyang, doc, year=YEAR)
    again = do_allocate_doc_number(cast.liuyang, doc, year=YEAR)
    via_check = check_allocate_doc_number(cast.liuyang, OfficialDocument.objects.get(pk=doc.pk))
    assert again.pk == entry.pk == via_check.pk and again.number == entry.number
    # Re-entering the registering step after New Year keeps last year's number.
    monkeypatch.setattr(timezone, "localdate", lambda *a: dt.date(YEAR + 1, 1, 2))
    assert do_allocate_doc_number(cast.liuyang, doc).pk == entry.pk
    assert DocNumberEntry.objects.filter(document=doc).count() == 1
    assert sequence().last == 1
    assert not DocNumberSequence.objects.filter(year=YEAR + 1).exists()
    assert len(audits("docnumber.allocate")) == 1
    # Asking explicitly for another sequence is refused, not silently a second number.
    refused("already_numbered", do_allocate_doc_number, cast.liuyang, doc, year=YEAR + 1)


@pytest.mark.django_db
def test_allocation_commits_or_rolls_back_with_the_callers_transaction(cast, office):
    doc = new_document(cast, office)
    audit_count = AuditEntry.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        entry = do_allocate_doc_number(cast.liuyang, doc, year=YEAR)
        assert entry.seq == 1
        raise RuntimeError("the flow step failed after 编号")
    # Nothing of the allocation survives: no sequence advance, no ledger row, no 文号, no audit entry.
    assert not DocNumberSequence.objects.filter(code="揭东府办", year=YEAR).exists()
    assert not DocNumberEntry.objects.filter(document=doc).exists()
    assert OfficialDocument.objects.get(pk=doc.pk).doc_number == ""
    assert AuditEntry.objects.count() == audit_count
    # …and the next allocation gets 1 again: no gap was left behind.
    assert do_allocate_doc_number(cast.liuyang, doc, year=YEAR).seq == 1


@pytest.mark.django_db
def test_allocation_refusals_write_nothing(cast, office):
    signed = new_document(cast, office)
    draft = new_document(cast, office, "草稿", status="draft")
    incoming = do_create_document(actor=cast.liuyang, agency=office, title="来文", direction="incoming")
    do_set_document_status(incoming, "signed", actor=cast.liuyang)

    e = refused("not_clerk", check_allocate_doc_number, cast.zhangwei, signed, year=YEAR)
    assert e.status == 403
    refused("not_clerk", check_allocate_doc_number, cast.finance05, signed, year=YEAR)  # 文书 of another agency
    refused("not_signed", check_allocate_doc_number, cast.liuyang, draft, year=YEAR)
    refused("not_outgoing", check_allocate_doc_number, cast.liuyang, incoming, year=YEAR)
    refused("unknown_code", check_allocate_doc_number, cast.liuyang, signed, code="揭东府办字", year=YEAR)
    refused("code_of_other_agency", do_allocate_doc_number, cast.liuyang, signed, code="揭东财", year=YEAR)
    refused("invalid_code", do_allocate_doc_number, cast.liuyang, signed, code="揭东[府]", year=YEAR)
    refused("invalid_year", do_allocate_doc_number, cast.liuyang, signed, year=99)

    assert not DocNumberSequence.objects.exists()
    assert not DocNumberEntry.objects.exists()
    assert OfficialDocument.objects.get(pk=signed.pk).doc_number == ""
    assert audits("docnumber.allocate") == []


@pytest.mark.django_db
def test_a_flow_may_start_a_new_code_of_its_own(cast, office):
    # A flow (do_ variant) may number with another 代字 of the same agency that no series configures (揭东府办字).
    doc = new_document(cast, office)
    entry = do_allocate_doc_number(cast.liuyang, doc, code="揭东府办字", year=YEAR)
    assert entry.number == "揭东府办字〔2026〕1号" and sequence("揭东府办字").agency == office
    # …after which the 文书 may use it from the page too.
    other = new_document(cast, office, "第二份")
    assert check_allocate_doc_number(cast.liuyang, other, code="揭东府办字", year=YEAR).seq == 2


def numbered(cast, office, n: int, year=YEAR) -> list[OfficialDocument]:
    docs = [new_document(cast, office, f"第{i}份") for i in range(1, n + 1)]
    for doc in docs:
        do_allocate_doc_number(cast.liuyang, doc, year=year)
    return docs


@pytest.mark.django_db
def test_void_takes_the_number_away_and_never_reuses_it(cast, office):
    d1, d2 = numbered(cast, office, 2)
    entry = DocNumberEntry.objects.get(document=d1)
    voided = check_void_doc_number(cast.liuyang, entry, "  标题有误，重新编号  ")
    assert OfficialDocument.objects.get(pk=d2.pk).doc_number == "揭东府办〔2026〕2号"  # only that one

    entry.refresh_from_db()
    assert (entry.state, entry.reason, entry.actor, entry.document_id) == ("voided", "标题有误，重新编号", cast.liuyang, d1.pk)
    assert voided.pk == entry.pk
    assert OfficialDocument.objects.get(pk=d1.pk).doc_number == ""
    [a] = audits("docnumber.void")
    assert a.actor == cast.liuyang and a.object_repr == "揭东府办〔2026〕1号"
    assert a.changes["reason"] == "标题有误，重新编号" and a.changes["from"] == "assigned" and a.changes["document"] == d1.pk

    # The document may be numbered again: it gets the next number, 1 stays voided for good.
    again = check_allocate_doc_number(cast.liuyang, OfficialDocument.objects.get(pk=d1.pk), year=YEAR)
    assert again.seq == 3 and again.pk != entry.pk
    assert sorted(DocNumberEntry.objects.filter(document=d1).values_list("seq", "state")) == [(1, "voided"), (3, "assigned")]
    refused("number_voided", check_backfill_doc_number, cast.liuyang, new_document(cast, office), "揭东府办", YEAR, 1, "补")
    refused("number_voided", check_mark_blank, cast.liuyang, "揭东府办", YEAR, 1, "空")


@pytest.mark.django_db
def test_void_refusals(cast, office):
    d1, d2 = numbered(cast, office, 2)
    e1 = DocNumberEntry.objects.get(document=d1)
    refused("reason_required", check_void_doc_number, cast.liuyang, e1, "")
    refused("reason_required", check_void_doc_number, cast.liuyang, e1, " \u3000 ")
    refused("reason_too_long", check_void_doc_number, cast.liuyang, e1, "长" * 301)
    assert refused("not_clerk", check_void_doc_number, cast.zhangwei, e1, "不想要了").status == 403
    refused("not_clerk", check_void_doc_number, cast.huangjianhua, e1, "主要负责人只看不改")
    do_set_document_status(d2, "distributed", actor=cast.liuyang)
    refused("document_issued", check_void_doc_number, cast.liuyang, DocNumberEntry.objects.get(document=d2), "已发出")
    check_void_doc_number(cast.liuyang, e1, "重复")
    refused("not_in_use", check_void_doc_number, cast.liuyang, e1, "再作废一次")
    assert len(audits("docnumber.void")) == 1
    assert OfficialDocument.objects.get(pk=d2.pk).doc_number == "揭东府办〔2026〕2号"


def with_gaps(cast, office) -> list[OfficialDocument]:
    """Three numbers allocated, then 4–6 handed out on paper before the system knew (sequence moved on)."""
    docs = numbered(cast, office, 3)
    DocNumberSequence.objects.filter(code="揭东府办", year=YEAR).update(last=6)
    return docs


@pytest.mark.django_db
def test_mark_blank_records_a_skipped_number(cast, office):
    with_gaps(cast, office)
    entry = check_mark_blank(cast.liuyang, "揭东府办", YEAR, 4, "已用于纸质发文（应急通知）")
    assert (entry.state, entry.number, entry.document_id, entry.reason, entry.actor) == (
        "blank", "揭东府办〔2026〕4号", None, "已用于纸质发文（应急通知）", cast.liuyang)
    [a] = audits("docnumber.blank")
    assert a.actor == cast.liuyang and a.changes["seq"] == 4 and a.changes["reason"] == "已用于纸质发文（应急通知）"
    assert sequence().last == 6  # marking a blank never moves the sequence


@pytest.mark.django_db
def test_mark_blank_refusals(cast, office):
    with_gaps(cast, office)
    check_mark_blank(cast.liuyang, "揭东府办", YEAR, 4, "纸质发文")
    refused("reason_required", check_mark_blank, cast.liuyang, "揭东府办", YEAR, 5, "")
    refused("not_a_gap", check_mark_blank, cast.liuyang, "揭东府办", YEAR, 7, "还没编到")
    refused("not_a_gap", check_mark_blank, cast.liuyang, "揭东府办", YEAR + 1, 1, "明年的")
    refused("number_in_use", check_mark_blank, cast.liuyang, "揭东府办", YEAR, 2, "已使用的号")
    refused("number_blank", check_mark_blank, cast.liuyang, "揭东府办", YEAR, 4, "再登记一次")
    refused("invalid_seq", check_mark_blank, cast.liuyang, "揭东府办", YEAR, 0, "零号")
    refused("not_clerk", check_mark_blank, cast.zhangwei, "揭东府办", YEAR, 5, "拟稿人")
    refused("not_clerk", check_mark_blank, cast.finance05, "揭东府办", YEAR, 5, "别的机关的文书")
    refused("not_clerk", check_mark_blank, cast.liuyang, "无此代字", YEAR, 1, "未知代字")
    assert list(DocNumberEntry.objects.filter(state="blank").values_list("seq", flat=True)) == [4]
    assert len(audits("docnumber.blank")) == 1


@pytest.mark.django_db
def test_backfill_a_gap_and_a_blank(cast, office):
    with_gaps(cast, office)
    check_mark_blank(cast.liuyang, "揭东府办", YEAR, 4, "预留")
    late1, late2 = new_document(cast, office, "补号一"), new_document(cast, office, "补号二")

    gap = check_backfill_doc_number(cast.liuyang, late1, "揭东府办", YEAR, 5, "漏登记，按签发顺序补号")
    assert (gap.state, gap.seq, gap.document_id, gap.reason) == ("backfilled", 5, late1.pk, "漏登记，按签发顺序补号")
    assert late1.doc_number == OfficialDocument.objects.get(pk=late1.pk).doc_number == "揭东府办〔2026〕5号"

    blank_id = DocNumberEntry.objects.get(seq=4).pk
    filled = check_backfill_doc_number(cast.liuyang, late2, "揭东府办", YEAR, 4, "使用预留号")
    assert filled.pk == blank_id  # the 空号 entry itself becomes the 补号
    assert (filled.state, filled.document_id, filled.reason) == ("backfilled", late2.pk, "使用预留号")
    a_gap, a_blank = audits("docnumber.backfill")
    assert a_gap.changes["from"] == "gap" and a_gap.changes["document"] == late1.pk
    assert a_blank.changes["from"] == "blank" and a_blank.changes["blank_reason"] == "预留"
    assert a_blank.actor == cast.liuyang and a_blank.changes["reason"] == "使用预留号"
    assert sequence().last == 6
    # A backfilled number is live: allocation for that document returns it (idempotent) …
    assert do_allocate_doc_number(cast.liuyang, late2).pk == blank_id
    # … and it can be voided like any other.
    check_void_doc_number(cast.liuyang, filled, "补错了")
    assert DocNumberEntry.objects.get(pk=blank_id).state == "voided"


@pytest.mark.django_db
def test_backfill_refusals(cast, office):
    docs = with_gaps(cast, office)
    check_void_doc_number(cast.liuyang, DocNumberEntry.objects.get(document=docs[0]), "作废")
    late = new_document(cast, office, "补号")
    draft = new_document(cast, office, "草稿", status="draft")
    args = (cast.liuyang, late, "揭东府办", YEAR)
    refused("reason_required", check_backfill_doc_number, *args, 5, "")
    refused("number_in_use", check_backfill_doc_number, *args, 2, "已使用")
    refused("number_voided", check_backfill_doc_number, *args, 1, "作废号")
    refused("not_a_gap", check_backfill_doc_number, *args, 7, "尚未编出")
    refused("already_numbered", check_backfill_doc_number, cast.liuyang, docs[1], "揭东府办", YEAR, 5, "已有文号")
    refused("not_signed", check_backfill_doc_number, cast.liuyang, draft, "揭东府办", YEAR, 5, "草稿")
    refused("not_clerk", check_backfill_doc_number, cast.zhangwei, late, "揭东府办", YEAR, 5, "拟稿人")
    refused("code_of_other_agency", check_backfill_doc_number, cast.liuyang, late, "揭东财", YEAR, 1, "别家代字")
    assert audits("docnumber.backfill") == []
    assert OfficialDocument.objects.get(pk=late.pk).doc_number == ""
    assert not DocNumberEntry.objects.filter(state="backfilled").exists()


@pytest.mark.django_db
def test_gap_report(cast, office):
    docs = with_gaps(cast, office)  # 1–3 assigned, 4–6 unknown
    check_void_doc_number(cast.liuyang, DocNumberEntry.objects.get(document=docs[1]), "内容撤回")  # 2
    check_mark_blank(cast.liuyang, "揭东府办", YEAR, 5, "纸质发文")
    check_backfill_doc_number(cast.liuyang, new_document(cast, office, "补"), "揭东府办", YEAR, 6, "补登")
    DocNumberSequence.objects.filter(code="揭东府办", year=YEAR).update(last=9)  # 7–9 also handed out on paper

    report = gap_report("揭东府办", YEAR)
    assert report.last == 9
    assert report.counts == {"assigned": 2, "voided": 1, "blank": 1, "backfilled": 1}
    assert report.gaps == [4, 7, 8, 9]
    assert report.gap_ranges == [(4, 4), (7, 9)]
    assert [(s.seq, s.number, s.reason, s.actor, s.document_id) for s in report.voided] == [
        (2, "揭东府办〔2026〕2号", "内容撤回", "刘洋", docs[1].pk)]
    assert [(s.seq, s.reason, s.document_id) for s in report.blank] == [(5, "纸质发文", None)]
    # A year never numbered: an empty report, not an error.
    empty = gap_report("揭东府办", 2020)
    assert (empty.last, empty.gaps, sum(empty.counts.values())) == (0, [], 0)


# ================================================================ the page, as the demo cast

PAGE = "/documents/numbering/"



def post(client, url, **data):
    return client.post(url, {"code": "揭东府办", "year": YEAR, **data})


@pytest.mark.django_db
def test_page_shows_the_ledger_to_the_clerk_only(cast, office):
    docs = with_gaps(cast, office)
    check_mark_blank(cast.liuyang, "揭东府办", YEAR, 4, "纸质发文")
    clerk = login(cast.liuyang)
    page = clerk.get(PAGE, {"code": "揭东府办", "year": YEAR})
    assert page.status_code == 200
    html = page.content.decode()
    assert "揭东府办〔2026〕1号" in html and docs[0].title in html
    assert "纸质发文" in html and "5–6号" in html  # the blank with its reason, and the gap run
    assert 'action="/documents/numbering/void"' in html and 'for="id_void-reason"' in html
    assert "<script>" not in html and "<style" not in html  # CSP: no inline code

    # The default view is the clerk's agency, this year.
    assert clerk.get(PAGE).status_code == 200

    # A drafter is not told the ledger exists; nor is another agency's 文书.
    assert login(cast.zhangwei).get(PAGE).status_code == 404
    assert login(cast.zhangwei).get(PAGE, {"code": "揭东府办", "year": YEAR}).status_code == 404
    assert login(cast.finance05, otp=True).get(PAGE, {"code": "揭东府办", "year": YEAR}).status_code == 404
    # …but finance05 sees their own bureau's ledger.
    assert login(cast.finance05, otp=True).get(PAGE).status_code == 200

    # The principal reads the ledger without the forms.
    boss = login(cast.huangjianhua, otp=True).get(PAGE, {"code": "揭东府办", "year": YEAR})
    assert boss.status_code == 200
    assert "揭东府办〔2026〕1号" in boss.content.decode()
    assert 'action="/documents/numbering/void"' not in boss.content.decode()


@pytest.mark.django_db
def test_allocate_from_the_page(cast, office):
    doc = new_document(cast, office, "待编号的通知")
    clerk = login(cast.liuyang)
    page = clerk.get(PAGE)
    assert "待编号的通知" in page.content.decode()
    response = clerk.post("/documents/numbering/allocate", {"code": "揭东府办", "year": timezone.localdate().year,
                                                            "document": doc.pk})
    assert response.status_code == 302
    number = format_doc_number("揭东府办", timezone.localdate().year, 1)
    assert OfficialDocument.objects.get(pk=doc.pk).doc_number == number
    assert audits("docnumber.allocate", actor=cast.liuyang)
    assert number in clerk.get(response["Location"]).content.decode()
    # A drafter posting the same form gets the same 404 as for the page.
    other = new_document(cast, office, "另一份")
    assert login(cast.zhangwei).post("/documents/numbering/allocate", {"document": other.pk}).status_code == 404
    assert OfficialDocument.objects.get(pk=other.pk).doc_number == ""


@pytest.mark.django_db
def test_void_blank_backfill_through_the_page(cast, office):
    docs = with_gaps(cast, office)
    late = new_document(cast, office, "迟到的公文")
    clerk = login(cast.liuyang)

    # 作废 without a reason: the page comes back with the Chinese message inline, nothing changed.
    r = post(clerk, "/documents/numbering/void", **{"void-number": "揭东府办〔2026〕1号", "void-reason": ""})
    assert r.status_code == 400 and "请填写作废原因" in r.content.decode()
    assert DocNumberEntry.objects.get(document=docs[0]).state == "assigned"
    # A malformed 文号: the parser's reason, inline.
    r = post(clerk, "/documents/numbering/void", **{"void-number": "揭东府办[2026]1号", "void-reason": "错"})
    assert r.status_code == 400 and "年份须用六角括号〔〕括入" in r.content.decode()
    r = post(clerk, "/documents/numbering/void", **{"void-number": "揭东府办〔2026〕5号", "void-reason": "错"})
    assert r.status_code == 400 and "在台账中没有记录" in r.content.decode()

    r = post(clerk, "/documents/numbering/void", **{"void-number": "揭东府办〔2026〕1号", "void-reason": "标题错误"})
    assert r.status_code == 302
    assert DocNumberEntry.objects.get(document=docs[0]).state == "voided"
    assert audits("docnumber.void", actor=cast.liuyang)[0].changes["reason"] == "标题错误"

    r = post(clerk, "/documents/numbering/blank", **{"blank-number": "揭东府办〔2026〕9号", "blank-reason": "跳号"})
    assert r.status_code == 400 and "尚未编出" in r.content.decode()
    r = post(clerk, "/documents/numbering/blank", **{"blank-number": "揭东府办〔2026〕4号", "blank-reason": "纸质发文"})
    assert r.status_code == 302 and DocNumberEntry.objects.get(seq=4).state == "blank"
    assert audits("docnumber.blank", actor=cast.liuyang)

    r = post(clerk, "/documents/numbering/backfill",
             **{"backfill-number": "揭东府办〔2026〕2号", "backfill-document": late.pk, "backfill-reason": "补"})
    assert r.status_code == 409 and "已被公文" in r.content.decode()
    r = post(clerk, "/documents/numbering/backfill", **{"backfill-number": "揭东府办〔2026〕5号", "backfill-reason": "补"})
    assert r.status_code == 400 and "请选择要补号的公文" in r.content.decode()
    r = post(clerk, "/documents/numbering/backfill",
             **{"backfill-number": "揭东府办〔2026〕4号", "backfill-document": late.pk, "backfill-reason": "用空号补登"})
    assert r.status_code == 302
    assert OfficialDocument.objects.get(pk=late.pk).doc_number == "揭东府办〔2026〕4号"
    assert DocNumberEntry.objects.get(seq=4).state == "backfilled"
    assert audits("docnumber.backfill", actor=cast.liuyang)[0].changes["from"] == "blank"

    page = clerk.get(PAGE, {"code": "揭东府办", "year": YEAR}).content.decode()
    assert "标题错误" in page and "用空号补登" in page


@pytest.mark.django_db
def test_page_writes_refused_for_others(cast, office):
    docs = with_gaps(cast, office)
    form = {"void-number": "揭东府办〔2026〕1号", "void-reason": "想作废"}
    assert post(login(cast.zhangwei), "/documents/numbering/void", **form).status_code == 404
    boss = post(login(cast.huangjianhua, otp=True), "/documents/numbering/void", **form)
    assert boss.status_code == 403 and "只有本机关的文书" in boss.content.decode()
    # A 文书 of another agency naming our number from their own page: refused inline, nothing changed.
    other = login(cast.finance05, otp=True).post(
        "/documents/numbering/void", {"code": "揭东财", "year": YEAR, **form})
    assert other.status_code == 404 and "无权管理" in other.content.decode()
    assert DocNumberEntry.objects.get(document=docs[0]).state == "assigned"
    assert audits("docnumber.void") == []


# ================================================================ the API


def api(person) -> Client:
    raw, _ = do_issue_token(person, name="测试")
    return Client(headers={"Authorization": f"Bearer {raw}"})


def api_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code and re.search(r"[\u4e00-\u9fff]", body["message"])
    return body


def post_json(client, url, data):
    return client.post(url, data, content_type="application/json")


@pytest.mark.django_db
def test_gap_report_api(cast, office):
    docs = with_gaps(cast, office)
    check_void_doc_number(cast.liuyang, DocNumberEntry.objects.get(document=docs[2]), "重复发文")
    check_mark_blank(cast.liuyang, "揭东府办", YEAR, 4, "纸质发文")
    url = f"/api/documents/numbering/揭东府办/{YEAR}/gaps"
    body = api(cast.liuyang).get(url).json()
    assert body["agency"] == "揭阳市揭东区人民政府办公室"
    assert (body["code"], body["year"], body["last"], body["gaps"]) == ("揭东府办", YEAR, 6, [5, 6])
    assert body["counts"] == {"assigned": 2, "voided": 1, "blank": 1, "backfilled": 0}
    assert [(v["number"], v["reason"], v["actor"], v["document_id"]) for v in body["voided"]] == [
        ("揭东府办〔2026〕3号", "重复发文", "刘洋", docs[2].pk)]
    assert [(b["seq"], b["reason"]) for b in body["blank"]] == [(4, "纸质发文")]
    assert api(cast.huangjianhua).get(url).status_code == 200  # 主要负责人 may look
    api_error(api(cast.zhangwei).get(url), 404, "not_found")
    api_error(api(cast.finance05).get(url), 404, "not_found")
    api_error(api(cast.liuyang).get(f"/api/documents/numbering/揭东财/{YEAR}/gaps"), 404, "not_found")
    assert Client().get(url).status_code == 401
    api_error(api(cast.liuyang).get("/api/documents/numbering/揭东府办/99999999999/gaps"), 404, "not_found")
    empty = api(cast.liuyang).get("/api/documents/numbering/揭东府办/2020/gaps").json()
    assert (empty["last"], empty["gaps"], empty["voided"]) == (0, [], [])

    ledger = api(cast.liuyang).get(f"/api/documents/numbering/揭东府办/{YEAR}").json()
    assert [(e["seq"], e["state"]) for e in ledger["entries"]] == [
        (1, "assigned"), (2, "assigned"), (3, "voided"), (4, "blank")]


@pytest.mark.django_db
def test_ledger_acts_through_the_api(cast, office):
    docs = with_gaps(cast, office)
    late = new_document(cast, office, "迟到")
    fresh = new_document(cast, office, "新件")
    clerk = api(cast.liuyang)

    r = post_json(clerk, "/api/documents/numbering/allocate", {"document": fresh.pk, "year": YEAR})
    assert r.status_code == 201 and r.json()["number"] == "揭东府办〔2026〕7号"
    again = post_json(clerk, "/api/documents/numbering/allocate", {"document": fresh.pk})
    assert again.status_code == 201 and again.json()["id"] == r.json()["id"]  # idempotent
    api_error(post_json(api(cast.zhangwei), "/api/documents/numbering/allocate", {"document": late.pk}), 403,
              "not_clerk")  # 张伟 drafted it, so he sees the document, but may not number it

    api_error(post_json(clerk, "/api/documents/numbering/void", {"number": "揭东府办〔2026〕1号", "reason": ""}), 400,
              "reason_required")
    api_error(post_json(clerk, "/api/documents/numbering/void", {"number": "揭东府办〔2026〕01号", "reason": "x"}), 400,
              "invalid_doc_number")
    r = post_json(clerk, "/api/documents/numbering/void", {"number": "揭东府办〔2026〕1号", "reason": "撤回"})
    assert r.status_code == 200 and r.json()["state"] == "voided"
    assert OfficialDocument.objects.get(pk=docs[0].pk).doc_number == ""

    api_error(post_json(clerk, "/api/documents/numbering/blank", {"number": "揭东府办〔2026〕2号", "reason": "x"}), 409,
              "number_in_use")
    r = post_json(clerk, "/api/documents/numbering/blank", {"number": "揭东府办〔2026〕4号", "reason": "纸质"})
    assert r.status_code == 201 and r.json()["state"] == "blank"

    api_error(post_json(clerk, "/api/documents/numbering/backfill",
                        {"number": "揭东府办〔2026〕1号", "document": late.pk, "reason": "x"}), 409, "number_voided")
    r = post_json(clerk, "/api/documents/numbering/backfill",
                  {"number": "揭东府办〔2026〕5号", "document": late.pk, "reason": "补登"})
    assert r.status_code == 200 and r.json()["state"] == "backfilled" and r.json()["document_id"] == late.pk
    assert OfficialDocument.objects.get(pk=late.pk).doc_number == "揭东府办〔2026〕5号"

    api_error(post_json(api(cast.zhangwei), "/api/documents/numbering/blank",
                        {"number": "揭东府办〔2026〕6号", "reason": "x"}), 404, "not_found")
    assert [a.action for a in AuditEntry.objects.filter(action__startswith="docnumber.", actor=cast.liuyang)
            .order_by("id")][-4:] == ["docnumber.allocate", "docnumber.void", "docnumber.blank", "docnumber.backfill"]


@pytest.mark.parametrize("code_of", ["agency", "series", "used", "unknown"])
def test_allocation_facts_agree_with_the_selectors_they_replace(cast, code_of):
    """The one-query read of the 文号 hot path gives what owner_of_code, number_format_of, sequence_for and
    live_entry_of give one by one."""
    from documents.models import DocNumberSeries
    from documents.selectors.numbering import (
        allocation_facts,
        live_entry_of,
        number_format_of,
        owner_of_code,
        sequence_for,
    )

    office = Agency.objects.get(doc_code="揭东府办")
    doc = do_create_document(actor=cast.zhangwei, agency=office, title="一次查询的编号事实")
    code = {"agency": "揭东府办", "series": "揭东府办测纪", "used": "揭东府办", "unknown": "无此代字"}[code_of]
    if code_of == "series":
        DocNumberSeries.objects.create(agency=office, name="常务会议纪要", code=code, doc_types=["minutes"],
                                       number_format="〔{年}〕{号}号")
    if code_of == "used":
        do_allocate_doc_number(cast.liuyang, doc, code=code, year=2031)
    facts = allocation_facts(doc.pk, code, 2031)
    owner = owner_of_code(code)
    sequence = sequence_for(code, 2031)
    live = live_entry_of(doc)
    assert facts.number_format == number_format_of(code)
    assert facts.owner_id == (owner.pk if owner else None)
    assert facts.sequence_id == (sequence.pk if sequence else None)
    assert facts.live_entry_id == (live.pk if live else None)
