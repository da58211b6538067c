"""Seal anchors (GB/T 9704 §7.3.5.1) from render_pdf_with_layout, checked against the text poppler finds in the PDF."""

from __future__ import annotations

import datetime
import math
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from documents.checker import check_gbt9704
from documents.rendering import BodyBlock, DocumentSpec, RenderedPdf, SealAnchor, render_docx
from documents.rendering.pdf import render_pdf, render_pdf_with_layout
from tests.test_rendering_formats import merge_gaps

pytestmark = pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils (pdftotext) not installed")

MM = 72 / 25.4
PITCH = 28.95
LEFT, RIGHT = 28 * MM, 184 * MM  # 版心 edges
PAGE_H = 841.8898
SEAL_R = 21 * MM  # the common 42 mm seal
SENTENCE = "各单位要高度重视政务服务标准化建设工作切实加强组织领导明确责任分工细化工作措施确保各项任务落到实处"


@dataclass(frozen=True)
class Word:
    page: int
    text: str
    x0: float
    top: float  # from the page top, as pdftotext reports
    x1: float
    bottom: float

CENTRE_TOL = 1.5  # pt (0.5 mm)


def words(pdf: bytes, tmp_path: Path) -> list[Word]:
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", "-bbox", str(path), "-"], check=True, capture_output=True, text=True).stdout
    found = []
    for page, chunk in enumerate(out.split("<page ")[1:]):
        for m in re.finditer(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>',
                             chunk):
            x0, top, x1, bottom = map(float, m.groups()[:4])
            found.append(Word(page, m[5], x0, top, x1, bottom))
    return merge_gaps(found)


def find(ws: list[Word], text: str) -> Word:
    hits = [w for w in ws if w.text == text]
    assert len(hits) == 1, (text, hits)
    return hits[0]


def circle_hits_box(a: SealAnchor, w: Word, r: float = SEAL_R) -> bool:
    """Does a seal of radius r at the anchor overlap the word's box? (PDF y is measured from the bottom.)"""
    cy_top = PAGE_H - a.center_y_pt
    dx = max(w.x0 - a.center_x_pt, 0, a.center_x_pt - w.x1)
    dy = max(w.top - cy_top, 0, cy_top - w.bottom)
    return math.hypot(dx, dy) < r


def seal_top_from_page_top(a: SealAnchor, r: float = SEAL_R) -> float:
    return PAGE_H - (a.center_y_pt + r)


def spec(**kw: object) -> DocumentSpec:
    base: dict[str, object] = dict(
        issuer_mark="揭阳市揭东区人民政府办公室文件", doc_number="揭东府办〔2026〕5号",
        title="关于加强政务服务工作的通知", main_recipients=["各镇人民政府"],
        body=[BodyBlock("现将有关事项通知如下。"), BodyBlock(SENTENCE[:24] + "。")],
        signature="揭阳市揭东区人民政府办公室", date=datetime.date(2026, 11, 27),
        cc=["区委办公室"], printing_org="揭东区人民政府办公室秘书科",
    )
    base.update(kw)
    return DocumentSpec(**base)  # type: ignore[arg-type]


def assert_conforms(s: DocumentSpec) -> None:
    failed = [(r.rule, r.measured) for r in check_gbt9704(render_docx(s)) if not r.passed]
    assert failed == []


def last_line_above(ws: list[Word], below: Word) -> Word:
    """The lowest text above `below` on its page (the last line of 正文 or 附件说明 before a 署名)."""
    return max((w for w in ws if w.page == below.page and w.bottom < below.top), key=lambda w: w.bottom)


def assert_one_line_rule(a: SealAnchor, last_text: Word, r: float = SEAL_R) -> None:
    # 印章顶端应当上距正文（或附件说明）一行之内: below the last line of text, less than one line down.
    gap = seal_top_from_page_top(a, r) - last_text.bottom
    assert 0 < gap < PITCH, gap


def test_single_agency_anchor_over_signature_and_date(tmp_path: Path) -> None:
    s = spec()
    assert_conforms(s)
    rendered = render_pdf_with_layout(s)
    assert isinstance(rendered, RenderedPdf) and rendered.page_count == 1
    assert rendered.data == render_pdf(s)  # render_pdf is the same document's bytes
    ws = words(rendered.data, tmp_path)
    [a] = rendered.seal_anchors
    sig, date = find(ws, "揭阳市揭东区人民政府办公室"), find(ws, "2026年11月27日")
    assert a.page == 0 and a.agency == "揭阳市揭东区人民政府办公室"
    # Centred on the date (右空四字), with 署名 centred over it.
    # Both outputs set the text's real width against the right indent the layout computed from LibreOffice's width
    # estimate (layout.py), so the centres are within half that estimate's error (~1 pt) of the seal's.
    assert abs(a.center_x_pt - (date.x0 + date.x1) / 2) < CENTRE_TOL
    assert abs(a.center_x_pt - (sig.x0 + sig.x1) / 2) < CENTRE_TOL
    assert abs((RIGHT - date.x1) - 64) < 0.5
    # The seal presses both, and both sit below its centre (居印章中心偏下).
    assert circle_hits_box(a, sig) and circle_hits_box(a, date)
    assert sig.top > PAGE_H - a.center_y_pt and date.top > sig.top
    # Both lines lie inside a 42 mm seal: the 署名 vertically, the date entirely.
    assert date.bottom < PAGE_H - a.center_y_pt + SEAL_R
    last_body = last_line_above(ws, sig)
    assert last_body.text.endswith(SENTENCE[20:24] + "。")
    assert_one_line_rule(a, last_body)
    # max_diameter: a 45 mm 县级人民政府 seal fits; the largest allowed seal still does not cover the body text.
    assert 45 * MM <= a.max_diameter_pt < 50 * MM
    assert seal_top_from_page_top(a, a.max_diameter_pt / 2) >= last_body.bottom
    assert a.center_x_pt + a.max_diameter_pt / 2 <= RIGHT


def test_anchor_follows_the_signature_to_page_two(tmp_path: Path) -> None:
    # ~550 字 of body push the 署名 onto page 2; the last paragraph moves with it (keep together).
    s = spec(body=[BodyBlock(SENTENCE * 11 + "。"), BodyBlock("特此通知。")], attachments=["检查表"])
    assert_conforms(s)
    rendered = render_pdf_with_layout(s)
    assert rendered.page_count == 2
    ws = words(rendered.data, tmp_path)
    [a] = rendered.seal_anchors
    sig = find(ws, "揭阳市揭东区人民政府办公室")
    assert a.page == sig.page == 1
    assert circle_hits_box(a, sig) and circle_hits_box(a, find(ws, "2026年11月27日"))
    attachment_line = find(ws, "附件：检查表")  # 印章顶端上距附件说明一行之内
    assert attachment_line.page == 1
    assert_one_line_rule(a, attachment_line)


@pytest.mark.parametrize(
    ("signatures", "per_row"),
    [
        (["揭东区财政局", "揭东区教育局"], 2),
        (["揭东区财政局", "揭东区教育局", "揭东区卫健局"], 3),
        (["揭东区财政局", "揭东区教育局", "揭东区卫健局", "揭东区民政局"], 3),
        (["揭阳市揭东区人民政府办公室", "揭阳市揭东区财政局"], 1),  # long 署名: one per row
    ],
)
def test_joint_anchors_one_per_agency(tmp_path: Path, signatures: list[str], per_row: int) -> None:
    names = [n.replace("揭东区", "揭阳市揭东区") for n in signatures]
    s = spec(signature=signatures[0], co_signatures=signatures[1:], issuer_names=names,
             doc_number="揭东财〔2026〕3号")
    assert_conforms(s)
    rendered = render_pdf_with_layout(s)
    ws = words(rendered.data, tmp_path)
    anchors = rendered.seal_anchors
    assert [a.agency for a in anchors] == signatures
    date = find(ws, "2026年11月27日")
    for a in anchors:
        sig = find(ws, a.agency)
        assert a.page == sig.page == anchors[0].page  # a block of two rows (9 lines) moves to page 2 whole
        assert abs(a.center_x_pt - (sig.x0 + sig.x1) / 2) < CENTRE_TOL  # 居中下压发文机关署名
        assert circle_hits_box(a, sig) and sig.top > PAGE_H - a.center_y_pt
        # Each row stays inside the 版心, with the seals it may carry.
        assert LEFT - 0.01 <= a.center_x_pt - SEAL_R and a.center_x_pt + SEAL_R <= RIGHT + 0.01
        assert LEFT - 0.01 <= a.center_x_pt - a.max_diameter_pt / 2
        assert a.center_x_pt + a.max_diameter_pt / 2 <= RIGHT + 0.01
        assert a.max_diameter_pt >= 42 * MM
    # The last seal presses the last 署名 and the date; the date is 右空四字.
    assert circle_hits_box(anchors[-1], date) and abs((RIGHT - date.x1) - 64) < 0.5
    # Rows: the first `per_row` share a line; 主办机关 first (top-left), the last one bottom-right.
    rows = sorted({round(a.center_y_pt, 2) for a in anchors}, reverse=True)
    assert len(rows) == math.ceil(len(anchors) / per_row)
    assert sum(1 for a in anchors if round(a.center_y_pt, 2) == rows[0]) == per_row
    assert anchors[-1].center_y_pt == min(a.center_y_pt for a in anchors)
    assert anchors[-1].center_x_pt == max(a.center_x_pt for a in anchors)
    # No two seals intersect or touch, at 42 mm and at their maximum diameters.
    for i, a in enumerate(anchors):
        for b in anchors[i + 1 :]:
            dist = math.hypot(a.center_x_pt - b.center_x_pt, a.center_y_pt - b.center_y_pt)
            assert dist > 2 * SEAL_R
            assert dist > (a.max_diameter_pt + b.max_diameter_pt) / 2
    # 首排印章顶端上距正文一行之内.
    last_body = last_line_above(ws, find(ws, anchors[0].agency))
    assert last_body.text.endswith("。")
    for a in anchors:
        if round(a.center_y_pt, 2) == rows[0]:
            assert_one_line_rule(a, last_body)


def test_unsealed_and_minutes_get_no_anchors(tmp_path: Path) -> None:
    s = spec(sealed=False)
    assert_conforms(s)
    rendered = render_pdf_with_layout(s)
    assert rendered.seal_anchors == []
    ws = words(rendered.data, tmp_path)
    sig, date = find(ws, "揭阳市揭东区人民政府办公室"), find(ws, "2026年11月27日")
    # §7.3.5.2: 署名右空二字, 成文日期 on the next line with its first 字 two 字 right of the 署名's.
    assert abs((RIGHT - sig.x1) - 32) < 0.5
    assert abs(date.x0 - sig.x0 - 32) < CENTRE_TOL
    assert abs(date.top - sig.top - PITCH) < 0.05
    # 正文下空一行 (not two).
    last_body = last_line_above(ws, sig)
    assert abs(sig.top - last_body.top - 2 * PITCH) < 0.05

    minutes = spec(layout="minutes", issuer_mark="揭阳市揭东区人民政府常务会议纪要", doc_number="",
                   main_recipients=[], sealed=True, attendance=[("出席", ["张三", "李四"])])
    assert_conforms(minutes)
    assert render_pdf_with_layout(minutes).seal_anchors == []
