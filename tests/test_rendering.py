"""GB/T 9704-2012: 发文字号 parse/format, DOCX rendering and the conformance checker (DOMAIN.md §1, Appendix A.1)."""

from __future__ import annotations

import datetime
import io
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from docx import Document
from docx.oxml.ns import qn
from docx.shared import RGBColor, Twips
from docx.table import Table
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from documents.checker import check_gbt9704
from documents.numbering import DocNumber, format_doc_number, parse_doc_number
from documents.rendering import BodyBlock, DocumentSpec, format_cn_date, render_docx
from documents.rendering.docx import cn_ordinal

ROOT = Path(__file__).resolve().parent.parent

# ---------------------------------------------------------------- 发文字号

codes = st.text(
    alphabet=st.sampled_from("揭东府办区委发政函卫健教财人社ABCZ"), min_size=1, max_size=8
)
years = st.integers(min_value=1000, max_value=9999)
seqs = st.integers(min_value=1, max_value=10**6)


# A loaded CI machine draws the few valid inputs slowly: the property is what is tested, not generation speed.
@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(codes, years, seqs)
def test_parse_inverts_format(code: str, year: int, seq: int) -> None:
    text = format_doc_number(code, year, seq)
    assert text == f"{code}〔{year}〕{seq}号"
    assert parse_doc_number(text) == DocNumber(code, year, seq)


@given(codes, years, seqs, st.integers(min_value=1, max_value=3))
def test_leading_zeros_rejected(code: str, year: int, seq: int, zeros: int) -> None:
    with pytest.raises(ValueError, match="虚位"):
        parse_doc_number(f"{code}〔{year}〕{'0' * zeros}{seq}号")


@given(codes, years, seqs, st.sampled_from(["[]", "()", "（）", "【】", "［］"]))
def test_wrong_brackets_rejected(code: str, year: int, seq: int, brackets: str) -> None:
    with pytest.raises(ValueError, match="六角括号"):
        parse_doc_number(f"{code}{brackets[0]}{year}{brackets[1]}{seq}号")


@given(codes, years, seqs)
def test_di_rejected(code: str, year: int, seq: int) -> None:
    with pytest.raises(ValueError, match="第"):
        parse_doc_number(f"{code}〔{year}〕第{seq}号")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("揭东府办2026年5号", "六角括号"),
        ("揭东府办〔26〕5号", "4位"),
        ("揭东府办〔二〇二六〕5号", "4位"),
        ("揭东府办〔2026〕5", "号"),
        ("揭东府办〔2026〕0号", "虚位"),
        ("揭东府办〔2026〕五号", "阿拉伯数字"),
        ("〔2026〕5号", "机关代字"),
        (" 揭东府办〔2026〕5号", "空白"),
        ("", "为空"),
    ],
)
def test_malformed_numbers_named(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_doc_number(text)


@pytest.mark.parametrize(("code", "year", "seq"), [("", 2026, 1), ("揭东 府", 2026, 1), ("揭东", 26, 1), ("揭东", 2026, 0)])
def test_format_rejects_bad_parts(code: str, year: int, seq: int) -> None:
    with pytest.raises(ValueError):
        format_doc_number(code, year, seq)


# ---------------------------------------------------------------- rendering

def notice() -> DocumentSpec:
    return DocumentSpec(
        issuer_mark="揭阳市揭东区人民政府办公室文件",
        doc_number="揭东府办〔2026〕5号",
        title="揭阳市揭东区人民政府办公室关于做好2026年冬季安全生产工作的通知",
        main_recipients=["各镇人民政府", "区府直属各单位"],
        body=[
            BodyBlock("为切实做好今冬安全生产工作，经区人民政府同意，现将有关事项通知如下。"),
            BodyBlock("总体要求", 1),
            BodyBlock("压实责任", 2),
            BodyBlock("各单位要落实安全生产主体责任，主要负责人是第一责任人。"),
            BodyBlock("排查隐患", 3),
            BodyBlock("重点场所", 4),
            BodyBlock("工作措施", 1),
            BodyBlock("各镇要于12月10日前报送排查情况。"),
        ],
        attachments=["冬季安全生产检查表", "各镇联系人名单"],
        signature="揭阳市揭东区人民政府办公室",
        date=datetime.date(2026, 11, 27),
        notes="此件公开发布",
        cc=["区委办公室", "区人大常委会办公室", "区政协办公室"],
        printing_org="揭阳市揭东区人民政府办公室",
        printing_date=datetime.date(2026, 11, 28),
    )


def request_upward() -> DocumentSpec:
    return DocumentSpec(
        issuer_mark="揭阳市揭东区人民政府文件",
        doc_number="揭东府〔2026〕12号",
        title="揭阳市揭东区人民政府关于拨付防汛应急资金的请示",
        main_recipients=["揭阳市人民政府"],
        body=[BodyBlock("今年汛期我区受灾较重，恳请市人民政府拨付防汛应急资金。"), BodyBlock("妥否，请批示。")],
        attachments=["资金测算表"],
        signature="揭阳市揭东区人民政府",
        date=datetime.date(2026, 1, 5),
        upward=True,
        signers=["陈志明"],
        cc=["揭阳市财政局"],
        printing_org="揭阳市揭东区人民政府办公室",
    )


def failures(data: bytes, **kw) -> set[str]:
    return {r.rule for r in check_gbt9704(data, **kw) if not r.passed}


def mutate(data: bytes, change: Callable[[Document], None]) -> bytes:
    doc = Document(io.BytesIO(data))
    change(doc)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def replace_text(old: str, new: str) -> Callable[[Document], None]:
    def change(doc) -> None:
        hits = 0
        for t in doc.element.body.iter(qn("w:t")):
            if old in (t.text or ""):
                t.text = t.text.replace(old, new)
                hits += 1
        assert hits, old

    return change


@pytest.mark.parametrize("make", [notice, request_upward])
def test_rendered_documents_pass_every_rule(make) -> None:
    results = check_gbt9704(render_docx(make()))
    assert [(r.rule, r.measured) for r in results if not r.passed] == []
    rules = {r.rule for r in results}
    assert len(results) >= 28
    # The Appendix A.1 items this checker claims are all present.
    for needle in ("幅面", "天头", "订口", "版心宽", "版心高", "22行", "28字", "正文3号仿宋", "标志红色", "35 mm",
                   "发文字号格式", "红色分隔线156", "4 mm", "标题2号", "结构层次", "成文日期阿拉伯", "右空四字",
                   "— N —", "单页码居右", "7 mm", "版记分隔线", "抄送", "印发"):
        assert any(needle in r for r in rules), needle


def test_upward_document_has_signer_rule() -> None:
    rules = {r.rule: r for r in check_gbt9704(render_docx(request_upward()))}
    signer = next(r for name, r in rules.items() if "签发人" in name)
    assert signer.passed and "陈志明" in signer.measured
    assert rules["7.2.4 上行文发文字号居左空一字"].passed


def test_read_back_fonts_sizes_and_order() -> None:
    doc = Document(io.BytesIO(render_docx(notice())))
    normal = doc.styles["Normal"]
    assert normal.font.name == "仿宋_GB2312"
    assert normal.font.size.pt == 16
    assert normal.element.rPr.rFonts.get(qn("w:eastAsia")) == "仿宋_GB2312"
    assert normal.element.rPr.find(qn("w:spacing")).get(qn("w:val")) == "-5"
    sect = doc.sections[0]
    assert (round(sect.page_width.mm), round(sect.page_height.mm)) == (210, 297)
    assert sect._sectPr.find(qn("w:docGrid")).get(qn("w:linePitch")) == "579"

    texts = [p.text for p in doc.paragraphs if p.text.strip()]
    assert texts[:4] == [
        "揭阳市揭东区人民政府办公室文件",
        "揭东府办〔2026〕5号",
        "揭阳市揭东区人民政府办公室\n关于做好2026年冬季安全生产工作的通知",  # 回行 after the 发文机关 (§7.3.1)
        "各镇人民政府、区府直属各单位：",
    ]
    assert texts[4].startswith("为切实做好")
    assert texts[5:10] == ["一、总体要求", "（一）压实责任", "各单位要落实安全生产主体责任，主要负责人是第一责任人。",
                           "1.排查隐患", "（1）重点场所"]
    assert texts[10] == "二、工作措施"
    assert texts[12:] == ["附件：1.冬季安全生产检查表", "2.各镇联系人名单", "揭阳市揭东区人民政府办公室",
                          "2026年11月27日", "（此件公开发布）"]

    def style_font(p) -> tuple[str, float]:
        return p.style.element.rPr.rFonts.get(qn("w:eastAsia")), p.style.font.size.pt

    by_text = {p.text: p for p in doc.paragraphs}
    mark = by_text["揭阳市揭东区人民政府办公室文件"]
    assert style_font(mark)[0] == "方正小标宋简体" and str(mark.style.font.color.rgb) == "FF0000"
    assert style_font(by_text[texts[2]]) == ("方正小标宋简体", 22)
    assert style_font(by_text["一、总体要求"])[0] == "黑体"
    assert style_font(by_text["（一）压实责任"])[0] == "楷体_GB2312"
    assert style_font(by_text["1.排查隐患"])[0] == "仿宋_GB2312"

    # The 版记 table sits in a text box anchored to the bottom of the 版心 (not in the flow).
    boxed = doc.element.body.findall(f".//{qn('w:txbxContent')}/{qn('w:tbl')}")
    assert len(boxed) == 1 and not doc.tables
    colophon = Table(boxed[0], doc._body)
    assert colophon.rows[0].cells[0].text == "抄送：区委办公室，区人大常委会办公室，区政协办公室。"
    assert colophon.rows[1].cells[0].text == "揭阳市揭东区人民政府办公室\t2026年11月28日印发"
    footer_text = "".join(t.text for t in sect.footer.paragraphs[0]._p.iter(qn("w:t")))
    assert footer_text == "— 1 —"
    assert sect.even_page_footer.paragraphs[0].alignment == 0  # LEFT
    assert doc.settings.odd_and_even_pages_header_footer


def test_dates_and_ordinals() -> None:
    assert format_cn_date(datetime.date(2026, 1, 5)) == "2026年1月5日"
    assert format_cn_date(datetime.date(2026, 11, 27)) == "2026年11月27日"
    assert [cn_ordinal(n) for n in (1, 9, 10, 12, 20, 21, 99)] == ["一", "九", "十", "十二", "二十", "二十一", "九十九"]


# ---------------------------------------------------------------- broken documents


def _wrong_top_margin(doc) -> None:
    doc.sections[0]._sectPr.find(qn("w:pgMar")).set(qn("w:top"), "2400")  # 42.3 mm


def _wrong_left_margin(doc) -> None:
    doc.sections[0]._sectPr.find(qn("w:pgMar")).set(qn("w:left"), "1800")  # 31.8 mm


@pytest.mark.parametrize(
    ("change", "rules"),
    [
        (_wrong_top_margin, {"5.2.1 天头（上白边）", "5.2.1 版心高（不含页码）", "5.2.3 每面22行",
                             "7.2.7 分隔线在发文字号下4 mm"}),
        (_wrong_left_margin, {"5.2.1 订口（左白边）", "5.2.1 版心宽", "5.2.3 每行28字"}),
        (replace_text("〔2026〕", "[2026]"), {"7.2.4 发文字号格式"}),
        (replace_text("〔2026〕5号", "〔2026〕05号"), {"7.2.4 发文字号格式"}),
        (replace_text("〔2026〕5号", "〔2026〕第5号"), {"7.2.4 发文字号格式"}),
        (replace_text("〔2026〕5号", "2026年5号"), {"7.2.4 发文字号格式"}),
        (replace_text("2026年11月27日", "2026年11月07日"), {"7.3.5.4 成文日期阿拉伯数字、不编虚位"}),
        (replace_text("区政协办公室。", "区政协办公室"), {"7.4.2 抄送以“。”结尾、4号仿宋"}),
    ],
)
def test_broken_notice_caught_by_named_rule(change, rules: set[str]) -> None:
    assert failures(mutate(render_docx(notice()), change)) == rules


def test_format_failure_names_the_problem() -> None:
    data = mutate(render_docx(notice()), replace_text("〔2026〕5号", "〔2026〕05号"))
    result = next(r for r in check_gbt9704(data) if r.rule == "7.2.4 发文字号格式")
    assert "05号" in result.measured and "虚位" in result.measured


def test_missing_signer_on_upward_caught() -> None:
    def drop_signer(doc) -> None:
        for r in list(doc.element.body.iter(qn("w:r"))):
            text = "".join(t.text or "" for t in r.iter(qn("w:t")))
            if "签发人" in text or "陈志明" in text:
                r.getparent().remove(r)

    data = mutate(render_docx(request_upward()), drop_signer)
    assert failures(data) == {"7.2.6 上行文标注签发人（“签发人”仿宋、姓名楷体）"}
    # A 通知 declared 上行文 by the caller is caught the same way.
    assert "7.2.6 上行文标注签发人（“签发人”仿宋、姓名楷体）" in failures(render_docx(notice()), upward=True)


def test_mark_position_and_colour_caught() -> None:
    def move_and_blacken(doc) -> None:
        mark = next(p for p in doc.paragraphs if p.style.name == "GB Mark")
        mark.paragraph_format.space_before = Twips(2400)  # 标志 ~9 mm lower than 35 mm (spacing is on the paragraph)
        doc.styles["GB Mark"].font.color.rgb = RGBColor(0, 0, 0)

    bad = failures(mutate(render_docx(notice()), move_and_blacken))
    assert {"7.2.5 发文机关标志红色", "7.2.5 标志上边缘距版心上边缘35 mm"} <= bad


# ---------------------------------------------------------------- manage.py check_gbt9704


def test_command_reports_and_exits(tmp_path: Path) -> None:
    good = tmp_path / "good.docx"
    good.write_bytes(render_docx(notice()))
    bad = tmp_path / "bad.docx"
    bad.write_bytes(mutate(render_docx(notice()), replace_text("〔2026〕", "[2026]")))

    out = io.StringIO()
    call_command("check_gbt9704", str(good), stdout=out)
    assert "不符 0 项" in out.getvalue() and "7.2.4 发文字号格式" in out.getvalue()

    out = io.StringIO()
    with pytest.raises(CommandError, match=re.escape("7.2.4 发文字号格式")):
        call_command("check_gbt9704", str(bad), stdout=out)
    assert "[2026]" in out.getvalue() and "六角括号" in out.getvalue()

    env = dict(os.environ)
    ok = subprocess.run([sys.executable, "manage.py", "check_gbt9704", str(good)], cwd=ROOT, env=env,
                        capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    broken = subprocess.run([sys.executable, "manage.py", "check_gbt9704", str(bad)], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert broken.returncode != 0
    assert "发文字号格式" in broken.stderr


def test_command_rejects_non_docx(tmp_path: Path) -> None:
    junk = tmp_path / "junk.docx"
    junk.write_bytes(b"not a zip")
    with pytest.raises(CommandError, match="无法读取 DOCX"):
        call_command("check_gbt9704", str(junk), stdout=io.StringIO())
