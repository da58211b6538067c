"""Real GB/T 9704 layout: render a long 通知, convert it with LibreOffice, measure the PDF with poppler.

Positions come from `pdftotext -bbox-layout`. Its boxes for UKai/UMing run from baseline − 0.95 em to
baseline + 0.35 em (STACK.md §13), so we assert pitches and positions derived from baselines, not raw box edges.
The red rule is found in a `pdftoppm` raster of page 1.
"""

from __future__ import annotations

import datetime
import io
import itertools
import re
import shutil
import subprocess
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from documents.checker import check_gbt9704
from documents.rendering import BodyBlock, DocumentSpec, render_docx
from documents.rendering import geometry as g
from documents.rendering.libreoffice import ConversionError, docx_to_pdf, docxs_to_pdfs
from documents.rendering.pdf import render_pdf
from documents.rendering.spec import format_cn_date
from tests.test_rendering_formats import SAMPLES, Word, page_texts, pdf_pages, pdf_words, red_rows

pytestmark = [
    pytest.mark.layout,
    pytest.mark.skipif(
        not Path("/usr/bin/soffice").exists(), reason="需要 /usr/bin/soffice（libreoffice-writer-nogui）"
    ),
]

XHTML = "{http://www.w3.org/1999/xhtml}"
PT_PER_MM = 72 / 25.4
BOX_ASCENT_EM, BOX_HEIGHT_EM = 0.95, 1.30  # poppler box for UKai/UMing: baseline − 0.95 em … + 0.35 em
PITCH_PT = g.LINE_PITCH_TWIPS / 20  # 28.95
KAI_DROP_PT = 0.80  # (A − D)/2 of UKai (997/−133) minus UMing's (917/−155), per 1024 units, at 16 pt

# No punctuation, digits or Latin letters: every full line is then exactly 28 ideographs (no hanging marks, no
# CJK↔Latin gaps; STACK §13).
SENTENCE = (
    "各单位要按照统一部署认真组织开展安全生产大检查全面排查整治各类风险隐患切实落实企业主体责任和部门监管责任"
)


@dataclass(frozen=True)
class Line:
    text: str
    x0: float
    x1: float
    y0: float
    y1: float

    @property
    def size(self) -> float:
        return (self.y1 - self.y0) / BOX_HEIGHT_EM

    @property
    def baseline(self) -> float:
        return self.y0 + BOX_ASCENT_EM * self.size


def long_notice() -> DocumentSpec:
    return DocumentSpec(
        issuer_mark="揭阳市揭东区人民政府办公室文件",
        doc_number="揭东府办〔2026〕5号",
        title="揭阳市揭东区人民政府办公室关于做好冬季安全生产工作的通知",
        main_recipients=["各镇人民政府", "区府直属各单位"],
        body=[
            BodyBlock("总体要求", 1),
            *[BodyBlock(SENTENCE * 3) for _ in range(5)],
            BodyBlock("压实责任", 2),
            *[BodyBlock(SENTENCE * 3) for _ in range(5)],
        ],
        signature="揭阳市揭东区人民政府办公室",
        date=datetime.date(2026, 11, 27),
        cc=["区委办公室"],
        printing_org="揭阳市揭东区人民政府办公室",
    )


def run(*cmd: str, data: bytes | None = None) -> bytes:
    return subprocess.run(cmd, input=data, capture_output=True, check=True, timeout=60).stdout


@pytest.fixture(scope="module")
def pdf(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("layout") / "notice.pdf"
    data = render_docx(long_notice())
    assert [(r.rule, r.measured) for r in check_gbt9704(data) if not r.passed] == []
    path.write_bytes(docx_to_pdf(data))
    return path


@pytest.fixture(scope="module")
def pages(pdf: Path) -> list[list[Line]]:
    root = ET.fromstring(run("pdftotext", "-bbox-layout", str(pdf), "-"))
    out = []
    for page in root.iter(f"{XHTML}page"):
        lines = []
        for el in page.iter(f"{XHTML}line"):
            text = "".join(w.text or "" for w in el.iter(f"{XHTML}word"))
            lines.append(Line(text, *(float(el.get(k)) for k in ("xMin", "xMax", "yMin", "yMax"))))
        out.append(lines)
    return out


def body_lines(page: list[Line]) -> list[Line]:
    """16 pt lines (正文, headings, 署名) — not the 标志, title or 14 pt page number."""
    return [ln for ln in page if abs(ln.size - g.BODY_SIZE_PT) < 0.2]


def test_document_spans_several_pages(pages) -> None:
    assert len(pages) >= 3


def test_full_body_pages_have_22_lines_at_grid_pitch(pages) -> None:
    # Every page between the first and the last is pure body text.
    for page in pages[1:-1]:
        lines = body_lines(page)
        assert len(lines) == g.LINES_PER_PAGE, [ln.text for ln in lines]
        # LO centres each face's font box in the grid line: the 楷体 二级标题 (UKai) sits 0.80 pt below the 仿宋
        # (UMing) lines of the same grid (documents.rendering.pdf.LO_BASELINE_IN_LINE).
        grid = [ln.baseline - (KAI_DROP_PT if ln.text.startswith("（一）") else 0) for ln in lines]
        pitches = [b - a for a, b in itertools.pairwise(grid)]
        assert all(abs(p - PITCH_PT) <= 0.3 for p in pitches), pitches
        # First baseline 125.90 pt (126.70 with UKai; the 仿宋 stand-in UMing sits 0.80 pt higher), so the 22nd line's em box ends inside the 225 mm 版心.
        assert lines[0].baseline == pytest.approx(125.90, abs=0.3)
        last_em_bottom_mm = (lines[-1].baseline + 0.121 * g.BODY_SIZE_PT) / PT_PER_MM
        assert last_em_bottom_mm <= 37 + 225


def test_page_one_body_stays_on_the_grid(pages) -> None:
    # The 版头 block is a whole number of pitches, so page 1's last body line sits on the same grid line 21
    # as on the other pages instead of losing a line (STACK §13 "relative grid").
    first, full = body_lines(pages[0]), body_lines(pages[1])
    assert first[-1].baseline == pytest.approx(full[-1].baseline, abs=0.3)


def test_full_lines_hold_28_ideographs(pages) -> None:
    left_mm, right_mm = 28.0, 28.0 + 156.0
    full = [ln for page in pages for ln in body_lines(page) if len(ln.text) == g.CHARS_PER_LINE]
    assert len(full) >= 40
    # No body line is longer than 28, and every 28-character line spans the 156 mm 版心.
    assert max(len(ln.text) for page in pages for ln in body_lines(page)) == g.CHARS_PER_LINE
    for ln in full:
        assert set(ln.text) <= set(SENTENCE)
        assert ln.x0 / PT_PER_MM == pytest.approx(left_mm, abs=0.3)
        assert ln.x1 / PT_PER_MM == pytest.approx(right_mm, abs=0.6)
        assert (ln.x1 - ln.x0) / g.CHARS_PER_LINE == pytest.approx(g.CHAR_ADVANCE_PT, abs=0.05)


def test_issuer_mark_em_top_is_72_mm_from_page_top(pages) -> None:
    mark = next(ln for ln in pages[0] if ln.text == "揭阳市揭东区人民政府办公室文件")
    # The renderer shrinks a long 标志 to fit one line: 442.2 pt // 15 characters = 29 pt.
    assert mark.size == pytest.approx(29, abs=0.1)
    em_top_mm = (mark.baseline - g.EM_ASCENT * mark.size) / PT_PER_MM
    assert em_top_mm == pytest.approx(37 + 35, abs=1.0)
    assert (mark.x0 + mark.x1) / 2 / PT_PER_MM == pytest.approx(28 + 78, abs=1.0)  # centred in the 版心


def test_page_numbers_alternate_sides(pages) -> None:
    def number(page: list[Line], n: int) -> Line:
        hits = [ln for ln in page if re.fullmatch(rf"—\s*{n}\s*—", ln.text)]
        assert len(hits) == 1, [ln.text for ln in page]
        return hits[0]

    for n, page in enumerate(pages, start=1):
        ln = number(page, n)
        if n % 2:  # 单页码居右空一字: em box ends one 4号 character (4.94 mm) inside the 版心's right edge
            assert ln.x1 / PT_PER_MM == pytest.approx(184 - 4.94, abs=0.5)
        else:  # 双页码居左空一字
            assert ln.x0 / PT_PER_MM == pytest.approx(28 + 4.94, abs=0.5)
        # 一字线 7 mm below the 版心 (at 269 mm): the 14 pt numbers' baseline is 1.82 mm below the dash.
        assert ln.size == pytest.approx(g.PAGE_NUMBER_SIZE_PT, abs=0.2)
        assert ln.baseline / PT_PER_MM == pytest.approx(262 + 7 + 1.82, abs=0.5)


def test_fonts_are_the_aliased_ones_and_embedded(pdf: Path) -> None:
    rows = run("pdffonts", str(pdf)).decode().splitlines()[2:]
    fonts = {row.split()[0].split("+")[-1]: row.split() for row in rows}
    assert {"UKaiCN", "UMingCN", "WenQuanYiZenHei"} <= set(fonts), rows
    for cols in fonts.values():
        emb, sub = cols[-5], cols[-4]
        assert (emb, sub) == ("yes", "yes"), cols


def test_red_rule_156_mm_below_doc_number(pdf: Path, pages) -> None:
    dpi = 100
    png = run("pdftoppm", "-r", str(dpi), "-f", "1", "-l", "1", "-png", str(pdf))
    img = Image.open(io.BytesIO(png)).convert("RGB")
    px, (w, h) = img.load(), img.size

    def longest_red_run(y: int) -> tuple[int, int]:
        best, start = (0, 0), None
        for x in range(w + 1):
            red = x < w and (lambda r, gg, b: r > 180 and gg < 90 and b < 90)(*px[x, y])
            if red and start is None:
                start = x
            elif not red and start is not None:
                best = max(best, (x - start, start))
                start = None
        return best

    rows = {y: longest_red_run(y) for y in range(h)}
    rule_rows = [y for y, (length, _) in rows.items() if length * 25.4 / dpi > 100]
    assert rule_rows, "no red horizontal run longer than 100 mm on page 1"
    length, x0 = rows[rule_rows[0]]
    assert length * 25.4 / dpi == pytest.approx(156, abs=1.0)
    assert x0 * 25.4 / dpi == pytest.approx(28, abs=0.5)
    rule_mm = (rule_rows[0] + rule_rows[-1] + 1) / 2 * 25.4 / dpi
    assert (rule_rows[-1] - rule_rows[0] + 1) * 25.4 / dpi < 1.5  # one thin rule, not a filled block
    number = next(ln for ln in pages[0] if ln.text.startswith("揭东府办"))
    em_bottom_mm = (number.baseline + 0.121 * number.size) / PT_PER_MM
    assert rule_mm - em_bottom_mm == pytest.approx(g.RED_RULE_GAP_MM, abs=0.5)


# ---------------------------------------------------------------- the other formats, through LibreOffice


@pytest.fixture(scope="module")
def samples(tmp_path_factory) -> dict[str, tuple[Path, Path]]:
    """Our PDF and LibreOffice's PDF of each representative DOCX (文件格式 with 份号/密级/紧急程度, table, 附件 pages
    and a blank page before the 版记; 信函; 纪要; 联合行文; 请示): one soffice run converts them all."""
    tmp = tmp_path_factory.mktemp("formats")
    specs = {name: make() for name, make in SAMPLES.items()}
    converted = docxs_to_pdfs([render_docx(spec) for spec in specs.values()])
    out = {}
    for (name, spec), lo_pdf in zip(specs.items(), converted, strict=True):
        ours, theirs = tmp / f"{name}.pdf", tmp / f"{name}-lo.pdf"
        ours.write_bytes(render_pdf(spec))
        theirs.write_bytes(lo_pdf)
        out[name] = (ours, theirs)
    return out


@pytest.mark.parametrize("name", list(SAMPLES))
def test_libreoffice_page_count_equals_ours(samples, name: str) -> None:
    ours, theirs = samples[name]
    assert pdf_pages(theirs) == pdf_pages(ours)


def _all_words(pdf: Path) -> list[Word]:
    return pdf_words(pdf.read_bytes(), pdf.parent, f"{pdf.stem}-words.pdf")


@pytest.mark.parametrize("name", list(SAMPLES))
def test_libreoffice_puts_signatures_and_date_where_we_do(samples, name: str) -> None:
    # 署名 and 成文日期 (§7.3.5): same page, same x within 1 mm, same baseline within 1 mm in both outputs (联合行文:
    # every 署名 of every row). Ours are em boxes, LibreOffice's poppler boxes (baseline − 0.95 em … + 0.35 em).
    spec = SAMPLES[name]()
    ours, theirs = (_all_words(p) for p in samples[name])
    texts = [*spec.signatures, format_cn_date(spec.date)]

    def body_size(words: list[Word], text: str, box_em: float) -> Word:
        # 16 pt: the 署名 block, not a 14 pt 印发机关 of the same name in the 版记.
        [hit] = [w for w in words if w.text == text and abs((w.bottom - w.top) / box_em - g.BODY_SIZE_PT) < 0.5]
        return hit

    for text in texts:
        a, b = body_size(ours, text, 1.0), body_size(theirs, text, BOX_HEIGHT_EM)
        assert a.page == b.page, text
        assert abs(a.x0 - b.x0) / PT_PER_MM < 1.0 and abs(a.x1 - b.x1) / PT_PER_MM < 1.0, (text, a, b)
        base_a = a.top + g.EM_ASCENT * (a.bottom - a.top)
        base_b = b.top + BOX_ASCENT_EM / BOX_HEIGHT_EM * (b.bottom - b.top)
        assert abs(base_a - base_b) / PT_PER_MM < 1.0, (text, base_a, base_b)
    if name == "joint":  # the 署名 side by side in one row, in issuing order, in both
        row = sorted((w for w in theirs if w.text in spec.signatures), key=lambda w: w.x0)
        assert [w.text for w in row] == spec.signatures and len({round(w.top) for w in row}) == 1


@pytest.mark.parametrize("name", list(SAMPLES))
def test_libreoffice_keeps_every_glyph_inside_the_version_heart(samples, name: str) -> None:
    # 28 字 a line with 标点禁则 and no hanging punctuation: nothing to the right of the 版心 (184 mm), and no line
    # starts with a closing mark.
    _, theirs = samples[name]
    words = _all_words(theirs)
    assert max(w.x1 for w in words) / PT_PER_MM <= 184.0 + 0.2, max(words, key=lambda w: w.x1)
    assert not any(w.text.startswith(("，", "。", "；", "：", "）", "”", "、")) and w.x0 / PT_PER_MM < 29 for w in words)


def test_libreoffice_and_ours_break_the_punctuated_lines_alike(samples) -> None:
    # The 请示 body puts ，。“”（） at line ends: both outputs give the same lines (no 29th hanging glyph in either).
    ours, theirs = samples["request"]
    lo = [ln.text.replace(" ", "") for page in _layout_lines(theirs) for ln in page if len(ln.text) > 20]
    rl = [ln.text.replace(" ", "") for page in _layout_lines(ours) for ln in page if len(ln.text) > 20]
    body_lo = [t for t in lo if set(t) & set("，。“”（）；")]
    assert body_lo and body_lo == [t for t in rl if set(t) & set("，。“”（）；")]
    assert all(len(t) <= g.CHARS_PER_LINE for t in body_lo)


def test_libreoffice_table_page_holds_22_lines(samples) -> None:
    # §5.2.3 on a page with a table: rows are whole grid lines, so page 1 of the 文件格式 sample is full to line 22
    # (the third table row) and the 正文 after the table on page 2 is back on the grid.
    _, theirs = samples["full"]
    pages = _layout_lines(theirs)
    body = [ln for ln in pages[0] if abs(ln.size - g.BODY_SIZE_PT) < 0.2]
    grid = [(ln.baseline - 37 * PT_PER_MM - 21.82) / PITCH_PT for ln in body]
    assert all(abs(k - round(k)) < 0.05 for k in grid), grid
    assert round(max(grid)) == g.LINES_PER_PAGE - 1  # the 22nd line (0-based 21) holds the last row on page 1
    after = next(ln for ln in pages[1] if ln.text.startswith("二、工作要求"))
    k = (after.baseline - 37 * PT_PER_MM - 21.82) / PITCH_PT
    assert abs(k - round(k)) < 0.05 and round(k) == 2


def test_libreoffice_blank_page_and_unnumbered_colophon(samples) -> None:
    ours, theirs = samples["full"]
    lo, rl = page_texts(theirs), page_texts(ours)
    assert len(lo) == len(rl) == 6
    for n in range(1, 5):  # 正文 and 附件 pages numbered continuously
        assert lo[n - 1].endswith(f"—{n}—") and rl[n - 1].endswith(f"—{n}—")
    assert lo[2].startswith("附件1") and lo[3].startswith("附件2")
    assert lo[4] == "" == rl[4]  # blank page, no number
    # The 正文 table breaks at the same row, its header repeated on page 2.
    assert lo[1].startswith("组别牵头单位检查范围第四组") and rl[1].startswith("组别牵头单位检查范围第四组")
    assert lo[5].startswith("抄送：") and lo[5].endswith("印发")  # 版记 page, no number
    assert re.sub(r"\s", "", lo[5]) == rl[5]


def _layout_lines(pdf: Path) -> list[list[Line]]:
    root = ET.fromstring(run("pdftotext", "-bbox-layout", str(pdf), "-"))
    return [[Line("".join(w.text or "" for w in el.iter(f"{XHTML}word")),
                  *(float(el.get(k)) for k in ("xMin", "xMax", "yMin", "yMax")))
             for el in page.iter(f"{XHTML}line")] for page in root.iter(f"{XHTML}page")]


def _lo_words(pdf: Path, page: int) -> list[Line]:
    root = ET.fromstring(run("pdftotext", "-f", str(page), "-l", str(page), "-bbox", str(pdf), "-"))
    return [Line(w.text or "", *(float(w.get(k)) for k in ("xMin", "xMax", "yMin", "yMax")))
            for w in root.iter(f"{XHTML}word")]


def test_libreoffice_places_the_new_header_elements(samples) -> None:
    # 文件格式: 份号 on grid line 1 (baseline 125.90 pt), 顶格; 标志 still 35 mm below the 版心 top.
    full = _lo_words(samples["full"][1], 1)
    copy = next(w for w in full if w.text == "000028")
    assert copy.baseline == pytest.approx(125.90, abs=0.3) and copy.x0 / PT_PER_MM == pytest.approx(28, abs=0.3)
    mark = next(w for w in full if w.text == "揭阳市揭东区人民政府办公室文件")
    assert (mark.baseline - g.EM_ASCENT * mark.size) / PT_PER_MM == pytest.approx(72, abs=0.5)
    # 联合行文: the first name's em top 35 mm below the 版心 top, the names 分散对齐 to one column.
    joint = _lo_words(samples["joint"][1], 1)
    first = next(w for w in joint if w.text == "揭阳市揭东区财政局")
    assert (first.baseline - g.EM_ASCENT * first.size) / PT_PER_MM == pytest.approx(72, abs=0.5)
    third = [w for w in joint if w.y0 > first.y1 and w.size == pytest.approx(first.size, abs=0.2)]
    assert third and min(w.x0 for w in third) == pytest.approx(first.x0, abs=0.5)
    # 信函: 标志 em top 30 mm from the page top; the red double lines 170 mm long, as in our PDF.
    letter = _lo_words(samples["letter"][1], 1)
    lmark = next(w for w in letter if w.text == "揭阳市揭东区人民政府办公室")
    assert (lmark.baseline - g.EM_ASCENT * lmark.size) / PT_PER_MM == pytest.approx(30, abs=0.5)
    dpi = 200
    ours, theirs = (red_rows(p, 1, dpi) for p in samples["letter"])
    long_ours = sorted(y for y, (n, _) in ours.items() if n * 25.4 / dpi > 150)
    long_lo = sorted(y for y, (n, _) in theirs.items() if n * 25.4 / dpi > 150)
    assert long_lo and abs(len(long_lo) - len(long_ours)) <= 2
    assert abs(long_lo[0] - long_ours[0]) <= 1 and abs(long_lo[-1] - long_ours[-1]) <= 1
    assert all(theirs[y][0] * 25.4 / dpi == pytest.approx(170, abs=0.5) for y in long_lo)


def test_libreoffice_table_spans_the_version_heart(samples) -> None:
    dpi = 100
    png = run("pdftoppm", "-r", str(dpi), "-f", "1", "-l", "1", "-png", "-gray", str(samples["full"][1]))
    img = Image.open(io.BytesIO(png)).convert("L")
    px, (w, h) = img.load(), img.size
    # Vertical black lines taller than one grid line: the table's outer and inner borders.
    columns = [x for x in range(w) if max(
        (sum(1 for _ in run_) for dark, run_ in itertools.groupby(px[x, y] < 110 for y in range(h)) if dark),
        default=0) * 25.4 / dpi > 20]
    assert columns
    assert columns[0] * 25.4 / dpi == pytest.approx(28, abs=0.5)
    assert columns[-1] * 25.4 / dpi == pytest.approx(184, abs=0.5)


def test_libreoffice_colophon_last_rule_on_the_version_heart_bottom(samples) -> None:
    # 版记 page (6): three rules 156 mm long; the last one on the 版心's bottom edge (37 + 225 = 262 mm), as in ours.
    dpi = 200

    def rules(pdf: Path) -> list[float]:
        png = run("pdftoppm", "-r", str(dpi), "-f", "6", "-l", "6", "-png", "-gray", str(pdf))
        img = Image.open(io.BytesIO(png)).convert("L")
        px, (w, h) = img.load(), img.size
        ys = [y for y in range(h) if sum(1 for x in range(w) if px[x, y] < 128) * 25.4 / dpi > 150]
        groups = [list(g_) for _, g_ in itertools.groupby(ys, key=lambda y, c=itertools.count(): y - next(c))]
        return [(grp[0] + grp[-1] + 1) / 2 * 25.4 / dpi for grp in groups]

    theirs, ours = rules(samples["full"][1]), rules(samples["full"][0])
    assert len(theirs) == len(ours) == 3
    assert theirs[-1] == pytest.approx(262, abs=0.3) and ours[-1] == pytest.approx(262, abs=0.3)
    assert all(a == pytest.approx(b, abs=0.3) for a, b in zip(theirs, ours, strict=True))


def minimal_docx() -> bytes:
    return render_docx(long_notice())


def test_missing_soffice_raises_chinese_error(monkeypatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(ConversionError, match="未找到 LibreOffice"):
        docx_to_pdf(minimal_docx())


def test_non_docx_input_is_refused() -> None:
    # LibreOffice would import these bytes as a plain-text document and "succeed".
    with pytest.raises(ConversionError, match="不是 DOCX"):
        docx_to_pdf(b"not a docx at all")


def test_failing_soffice_raises_chinese_error(monkeypatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: "/bin/false")
    with pytest.raises(ConversionError, match="LibreOffice 转换失败（退出码 1"):
        docx_to_pdf(minimal_docx())


def test_timeout_kills_soffice_and_raises(monkeypatch, tmp_path) -> None:
    fake = tmp_path / "soffice"
    pid_file = tmp_path / "child.pid"
    # Like /usr/bin/soffice, the script leaves the real work to a child process.
    fake.write_text(f"#!/bin/sh\nsleep 30 &\necho $! > {pid_file}\nwait\n")
    fake.chmod(0o755)
    monkeypatch.setattr(shutil, "which", lambda name: str(fake))
    with pytest.raises(ConversionError, match="超时"):
        docx_to_pdf(minimal_docx(), timeout_s=1.0)
    stat = Path(f"/proc/{pid_file.read_text().strip()}/stat")
    for _ in range(50):  # the kill is delivered asynchronously
        if not stat.exists() or stat.read_text().split(") ")[1].startswith(("Z", "X")):
            break
        time.sleep(0.05)
    else:
        pytest.fail("the child of soffice survived the timeout")
