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

from documents.rendering import BodyBlock, DocumentSpec, render_docx
from documents.rendering import geometry as g
from documents.rendering.libreoffice import ConversionError, docx_to_pdf

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
    )


def run(*cmd: str, data: bytes | None = None) -> bytes:
    return subprocess.run(cmd, input=data, capture_output=True, check=True, timeout=60).stdout


@pytest.fixture(scope="module")
def pdf(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("layout") / "notice.pdf"
    path.write_bytes(docx_to_pdf(render_docx(long_notice())))
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
        pitches = [b.baseline - a.baseline for a, b in itertools.pairwise(lines)]
        assert all(abs(p - PITCH_PT) <= 0.3 for p in pitches), pitches
        # First baseline 126.70 pt (em top 39.74 mm), so the 22nd line's em box ends inside the 225 mm 版心.
        assert lines[0].baseline == pytest.approx(126.70, abs=0.3)
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
