"""PDF rendering (documents.rendering.pdf): fonts embedded, text order and the 22 × 28 grid, read back with poppler."""

from __future__ import annotations

import datetime
import itertools
import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from documents.checker import check_gbt9704
from documents.rendering import AttachmentPage, BodyBlock, DocumentSpec, TableBlock, render_docx
from documents.rendering.fonts import STANDIN_NOTE, STANDINS, resolve_fonts
from documents.rendering.pdf import render_pdf

pytestmark = pytest.mark.skipif(
    not all(shutil.which(t) for t in ("pdffonts", "pdftotext", "pdfinfo")),
    reason="poppler-utils (pdffonts/pdftotext/pdfinfo) not installed: `make test-deps` installs it",
)

MM = 72 / 25.4
PITCH = 28.95
LEFT, RIGHT = 28 * MM, 184 * MM  # 版心 edges
PAGE_W = 595.2756
# One 50-字 sentence without punctuation, so every full line is exactly 28 ideographs (no hanging marks).
SENTENCE = "各单位要高度重视政务服务标准化建设工作切实加强组织领导明确责任分工细化工作措施确保各项任务落到实处"
LONG = SENTENCE * 18 + "。"  # ~900 字: fills the rest of page 1, all of page 2, part of page 3


def _spec(**kw: object) -> DocumentSpec:
    base: dict[str, object] = dict(
        issuer_mark="揭阳市揭东区人民政府办公室文件",
        doc_number="揭东府办〔2026〕5号",
        title="关于加强政务服务工作的通知",
        main_recipients=["各镇人民政府", "区直各单位"],
        body=[BodyBlock("现将有关事项通知如下。"), BodyBlock("总体要求", 1), BodyBlock(LONG),
              BodyBlock("压实责任", 2), BodyBlock("具体措施", 3), BodyBlock("细则", 4), BodyBlock("抓好落实。")],
        attachments=["检查表", "汇总表"],
        signature="揭东区人民政府办公室",
        date=datetime.date(2026, 11, 27),
        notes="此件公开发布",
        cc=["区委办公室", "区人大常委会办公室"],
        printing_org="揭阳市揭东区人民政府办公室",
    )
    base.update(kw)
    return DocumentSpec(**base)  # type: ignore[arg-type]


@dataclass
class Line:
    x_min: float
    y_min: float
    x_max: float
    y_max: float
    words: list[str]

    @property
    def text(self) -> str:
        return "".join(self.words)


def _run(*args: str) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def _lines(pdf: Path) -> list[list[Line]]:
    """Per page, the text lines pdftotext -bbox-layout reports (top to bottom)."""
    pages: list[list[Line]] = []
    attr = r'xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)"'
    for page in _run("pdftotext", "-bbox-layout", str(pdf), "-").split("<page ")[1:]:
        lines = []
        for block in re.findall(r"<line " + attr + r">(.*?)</line>", page, re.S):
            words = re.findall(r"<word [^>]*>(.*?)</word>", block[4])
            lines.append(Line(*map(float, block[:4]), words))
        pages.append(sorted(lines, key=lambda ln: ln.y_min))
    return pages


def _write(tmp_path: Path, spec: DocumentSpec, name: str, **kw: object) -> Path:
    # Every spec rendered here also renders to a DOCX that passes the GB/T 9704 checker.
    assert [(r.rule, r.measured) for r in check_gbt9704(render_docx(spec, **kw)) if not r.passed] == []  # type: ignore[arg-type]
    path = tmp_path / name
    path.write_bytes(render_pdf(spec, **kw))  # type: ignore[arg-type]
    return path


def _assert_all_embedded(pdf: Path) -> None:
    rows = _run("pdffonts", str(pdf)).splitlines()[2:]
    assert len(rows) >= 2, rows  # 仿宋/小标宋/宋体 (one stand-in face), 黑体 at least
    assert not any("Helvetica" in row for row in rows), rows
    for row in rows:
        cols = row.split()
        emb, sub = cols[-5], cols[-4]
        assert (emb, sub) == ("yes", "yes"), row


def _assert_in_order(text: str, parts: list[str]) -> None:
    pos = 0
    for part in parts:
        found = text.find(part, pos)
        assert found >= 0, f"{part!r} missing or out of order after position {pos}"
        pos = found + len(part)


def _page_number_line(page: list[Line]) -> Line:
    return page[-1]  # the footer is the lowest line on every page


def test_notice_pdf_fonts_order_grid_and_page_numbers(tmp_path: Path) -> None:
    pdf = _write(tmp_path, _spec(), "notice.pdf", fonts=resolve_fonts(font_dir="", fonts_json=""))
    _assert_all_embedded(pdf)

    text = re.sub(r"\s+", "", _run("pdftotext", "-layout", str(pdf), "-"))
    _assert_in_order(text, [
        "揭阳市揭东区人民政府办公室文件", "揭东府办〔2026〕5号", "关于加强政务服务工作的通知",
        "各镇人民政府、区直各单位：", "现将有关事项通知如下。", "一、总体要求", SENTENCE[:20],
        "（一）压实责任", "1.具体措施", "（1）细则", "抓好落实。", "附件：1.检查表", "2.汇总表",
        "揭东区人民政府办公室", "2026年11月27日", "（此件公开发布）",
        "抄送：区委办公室，区人大常委会办公室。", "揭阳市揭东区人民政府办公室", "2026年11月27日印发",
    ])

    pages = _lines(pdf)
    assert len(pages) >= 3
    # Page 2 is body text only: 22 lines on a 28.95 pt pitch, full lines 28 ideographs from 28 to 184 mm.
    body2 = pages[1][:-1]
    assert len(body2) == 22, [ln.text for ln in body2]
    pitches = [b.y_min - a.y_min for a, b in itertools.pairwise(body2)]
    assert all(abs(p - PITCH) < 0.05 for p in pitches), pitches
    full = [ln for ln in body2 if ln.x_min < LEFT + 1]
    assert len(full) >= 20
    for ln in full:
        assert len(ln.text) == 28, ln.text
        assert abs(ln.x_min - LEFT) < 0.3 and abs(ln.x_max - RIGHT) < 0.3, (ln.x_min / MM, ln.x_max / MM)

    # Page 1: 主送 on grid line 12 (版头 lines 0–7, 空二行, title, 空一行) down to the last grid line 21, each on the
    # same baselines as page 2's lines 12–21 (same font, so the same box tops).
    page1 = pages[0]
    first_body = next(i for i, ln in enumerate(page1) if ln.text.startswith("各镇人民政府"))
    body1 = [ln for ln in page1[first_body:-1] if ln.x_min < LEFT + 1 or ln.text.startswith(("现将", SENTENCE[:4]))]
    grid = [ln.y_min for ln in body2]
    assert abs(body1[0].y_min - grid[12]) < 0.05
    assert abs(body1[-1].y_min - grid[21]) < 0.05  # page 1 is filled to its 22nd line
    for ln in body1:
        assert min(abs(ln.y_min - y) for y in grid) < 0.05, ln.text

    # 发文机关标志 and 发文字号 centred on the 版心; 发文字号 with its em top at 110.95 mm (poppler's box top for 16 pt
    # UKai coincided with the em top at 111.23 mm, STACK §13; the 仿宋 stand-in UMing sits 0.80 pt higher in LO's
    # grid line, and the PDF follows LO: see pdf.LO_BASELINE_IN_LINE).
    mark = next(ln for ln in page1 if "文件" in ln.text)
    number = next(ln for ln in page1 if "〔2026〕" in ln.text)
    for ln in (mark, number):
        assert abs((ln.x_min + ln.x_max) / 2 - (LEFT + RIGHT) / 2) < 0.5, (ln.x_min, ln.x_max)
    assert abs(number.y_min / MM - 110.95) < 0.1

    # "— N —": odd pages right (居右空一字), even pages left (居左空一字).
    for n, page in enumerate(pages, start=1):
        footer = _page_number_line(page)
        assert footer.words == ["—", str(n), "—"], footer.words
        if n % 2:
            assert abs(footer.x_max - (RIGHT - 14)) < 0.5, footer.x_max
        else:
            assert abs(footer.x_min - (LEFT + 14)) < 0.5, footer.x_min

    info = _run("pdfinfo", str(pdf))
    assert re.search(r"^Subject:\s+" + STANDIN_NOTE, info, re.M), info
    assert STANDIN_NOTE in re.search(r"^Keywords:(.*)$", info, re.M).group(1)  # type: ignore[union-attr]
    assert "仿宋_GB2312→AR PL UMing CN" in info and "楷体_GB2312→AR PL UKai CN" in info


TABLE = TableBlock([["单位", "责任人", "备注"], ["区应急管理局", "张三"], ["", "", ""]], header=True)


@pytest.mark.parametrize("variant", [
    dict(body=[BodyBlock("总体要求", 1), TABLE, BodyBlock("抓好落实。")]),
    dict(layout="letter", issuer_mark="揭阳市揭东区人民政府办公室", cc=[], printing_org="", body=[TABLE]),
    dict(attachment_pages=[AttachmentPage("检查表", [TABLE]), AttachmentPage("汇总表", [BodyBlock("见下表。"), TABLE])]),
], ids=["table", "letter-table", "attachment-tables"])
def test_every_font_is_embedded_tables_included(tmp_path: Path, variant: dict) -> None:
    # reportlab's Table sets its cell style's font (Helvetica unless FONTNAME says otherwise) before drawing even
    # Paragraph cells: that used to add an unembedded Helvetica to every PDF with a table.
    pdf = _write(tmp_path, _spec(**variant), "fonts.pdf")
    _assert_all_embedded(pdf)


def test_upward_pdf_signers_left_number(tmp_path: Path) -> None:
    spec = _spec(upward=True, signers=["张三", "李四", "王五"], title="关于申请专项经费的请示",
                 body=[BodyBlock("现将有关情况请示如下。"), BodyBlock("申请事由", 1), BodyBlock("妥否，请批示。")],
                 attachments=[], cc=[])
    pdf = _write(tmp_path, spec, "upward.pdf")
    _assert_all_embedded(pdf)
    text = re.sub(r"\s+", "", _run("pdftotext", "-layout", str(pdf), "-"))
    _assert_in_order(text, ["揭阳市揭东区人民政府办公室文件", "签发人：张三", "揭东府办〔2026〕5号", "王五",
                            "关于申请专项经费的请示", "一、申请事由", "妥否，请批示。", "2026年11月27日"])
    page1 = _lines(pdf)[0]
    signer = next(ln for ln in page1 if "签发人" in ln.text)
    number_row = next(ln for ln in page1 if "〔2026〕" in ln.text)
    assert abs(number_row.x_min - (LEFT + 16 * 0.98705)) < 0.3  # 发文字号居左空一字
    # Two names a row: the 发文字号 shares the last row, one pitch below the first, and the names end one 字 in.
    assert abs(number_row.y_min - signer.y_min - PITCH) < 0.3
    assert abs(signer.x_max - (RIGHT - 16 * 0.98705)) < 16
    footer = _page_number_line(page1)
    assert footer.words == ["—", "1", "—"]
    assert footer.x_min > PAGE_W / 2


def test_comma_never_starts_a_line_nor_hangs(tmp_path: Path) -> None:
    # First line holds 26 字 after the 2-字 indent. A "，" as the 27th character may neither open line 2 nor hang in
    # the right margin (§5.2.3, 标点禁则): the 26th character goes down with it, as LibreOffice breaks the DOCX.
    text = SENTENCE[:26] + "，" + SENTENCE[:30] + "；" + SENTENCE[:27] + "。"
    pdf = _write(tmp_path, _spec(body=[BodyBlock(text)], attachments=[]), "comma.pdf")
    lines = _lines(pdf)[0]
    texts = ["".join(ln.words) for ln in lines]
    start = next(i for i, t in enumerate(texts) if t.startswith(SENTENCE[:25]))
    assert texts[start] == SENTENCE[:25] and texts[start + 1].startswith(SENTENCE[25] + "，")
    assert not any(t.startswith(("，", "；", "。")) for t in texts)
    right = (28 + 156) * 72 / 25.4
    assert all(ln.x_max <= right + 0.3 for ln in lines), [(t, ln.x_max) for t, ln in zip(texts, lines, strict=True)]


def test_configured_fonts_drop_the_standin_note(tmp_path: Path, settings) -> None:
    # Point OA_FONTS at files for all five names: they count as configured, so no 替代字体 note.
    settings.FONTS = json.dumps({name: [str(path), index] for name, (path, index, _) in STANDINS.items()})
    settings.FONT_DIR = ""
    fonts = resolve_fonts()
    assert fonts.standins == [] and fonts.note() == ""
    pdf = _write(tmp_path, _spec(), "licensed.pdf", fonts=fonts)
    _assert_all_embedded(pdf)
    assert STANDIN_NOTE not in _run("pdfinfo", str(pdf))


def test_font_dir_scan_and_bad_config(tmp_path: Path) -> None:
    zenhei = STANDINS["黑体"][0]
    (tmp_path / "SimHei.TTF").symlink_to(zenhei)
    fonts = resolve_fonts(font_dir=str(tmp_path), fonts_json="")
    assert fonts.fonts["黑体"].path == tmp_path / "SimHei.TTF" and not fonts.fonts["黑体"].standin
    assert {f.name for f in fonts.standins} == {"仿宋_GB2312", "楷体_GB2312", "方正小标宋简体", "宋体"}
    assert "黑体" not in fonts.note() and fonts.note().startswith(STANDIN_NOTE)
    with pytest.raises(ValueError, match="不是公文字体"):
        resolve_fonts(font_dir="", fonts_json='{"Arial": "/x.ttf"}')
    with pytest.raises(ValueError, match="不存在"):
        resolve_fonts(font_dir="", fonts_json='{"黑体": "/nonexistent/simhei.ttf"}')
    with pytest.raises(ValueError, match="JSON"):
        resolve_fonts(font_dir="", fonts_json="黑体=/x.ttf")


def _font_names(pdf: Path) -> set[str]:
    return {row.split()[0].split("+")[-1] for row in _run("pdffonts", str(pdf)).splitlines()[2:]}


def test_standins_keep_the_heading_hierarchy(tmp_path: Path) -> None:
    # 正文 仿宋, 一级 黑体, 二级 楷体, 标题 小标宋: with stand-ins, 仿宋 and 楷体 must still be two faces.
    from documents.rendering.libreoffice import FONT_ALIASES

    fonts = resolve_fonts(font_dir="", fonts_json="").fonts
    face = {name: (f.path, f.subfont_index) for name, f in fonts.items()}
    assert face["仿宋_GB2312"] != face["楷体_GB2312"]
    assert face["黑体"] not in (face["仿宋_GB2312"], face["楷体_GB2312"])
    assert FONT_ALIASES["仿宋_GB2312"] != FONT_ALIASES["楷体_GB2312"]  # LibreOffice's rendering of the DOCX too
    assert FONT_ALIASES["仿宋_GB2312"] == fonts["仿宋_GB2312"].standin_family

    plain = dict(attachments=[], cc=[], notes="")
    body_only = _write(tmp_path, _spec(body=[BodyBlock("现将有关事项通知如下。")], **plain), "body.pdf")
    level2 = _write(tmp_path, _spec(body=[BodyBlock("现将有关事项通知如下。"), BodyBlock("压实责任", 2)], **plain),
                    "level2.pdf")
    level1 = _write(tmp_path, _spec(body=[BodyBlock("现将有关事项通知如下。"), BodyBlock("总体要求", 1)], **plain),
                    "level1.pdf")
    base = _font_names(body_only)
    assert base == {"UMingCN-0"}  # title, 发文字号, body, 署名 and page numbers: the 宋/仿宋 stand-in only
    assert _font_names(level2) - base == {"UKaiCN-0"}  # the 二级标题 alone brings the 楷体 face
    assert _font_names(level1) - base == {"WenQuanYiZenHei-0"}  # the 一级标题 the 黑体 face
