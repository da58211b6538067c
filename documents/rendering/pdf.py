"""GB/T 9704-2012 PDF rendering with reportlab, at the DOCX's geometry (STACK.md §13 "reportlab 5.1.0").

The body flows through one frame on a 28.95 pt grid (22 lines × 28 字); the 版头 (标志, 发文字号, red rule) and the
page numbers are drawn with canvas calls at the positions LibreOffice gives the DOCX, so both outputs line up.
Fonts are TrueType files from documents.rendering.fonts, embedded as subsets.
"""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from reportlab.lib.colors import Color, black
from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY, TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus.doctemplate import BaseDocTemplate, PageTemplate
from reportlab.platypus.flowables import Flowable, KeepTogether, PageBreak, Spacer
from reportlab.platypus.frames import Frame
from reportlab.platypus.paragraph import Paragraph
from reportlab.platypus.tables import Table, TableStyle

from documents.rendering import geometry as g
from documents.rendering import linebreak
from documents.rendering.fonts import FontSet, resolve_fonts
from documents.rendering.layout import (
    RenderedPdf,
    SealAnchor,
    SignatureBlock,
    layout_signatures,
    seal_center_from_line_top,
)
from documents.rendering.merge import Box, pdf_page_count, place_pages
from documents.rendering.spec import DocumentSpec, TableBlock, format_cn_date, numbered_blocks
from documents.rendering.text import clean_spec, lines_paragraph, paragraph, styled_paragraph

PAGE_W, PAGE_H = A4
PITCH = g.LINE_PITCH_TWIPS / 20  # 28.95 pt
# platypus has no character spacing: scale full-width advances so 28 fit in 156 mm (measured; 0.987064 is exact
# but leaves no room for float fuzz at the line end).
FULL_WIDTH_SCALE = 0.98705
FULL_WIDTH_UNITS = 900  # charWidths entries at or above this (per 1000 em) are the full-width glyphs
ADV = g.BODY_SIZE_PT * FULL_WIDTH_SCALE  # one 字 in the body: 15.79 pt

LEFT = 28 * mm
TOP = 37 * mm  # 版心 top, from the page top
# LO centres a 16 pt line's font box (hhea ascent + descent) in its 28.95 pt grid line: for the 仿宋 stand-in AR PL
# UMing CN (917/−155 per 1024) the baseline is 21.02 pt below the line top (it was 21.82 pt measured with UKai,
# 997/−133: (A − D)/2 differs by 0.80 pt); platypus puts the first baseline fontSize below the frame top, so the
# frame sits 5.02 pt lower to land on the same baselines. Lines in another face (楷体 二级标题, 黑体 一级标题) are
# placed by LO by that face's box, up to 1.4 pt higher than here (黑体); the grid, 22 lines and 28 字 are the same.
LO_BASELINE_IN_LINE = 21.02
# A 22 pt UMing title line: LO puts its baseline 23.22 pt below the grid line's top (measured on the 标题 and the
# 附件标题), platypus 22 pt below the shifted frame's line top, i.e. 27.82 pt: draw titles 4.60 pt higher.
LO_TITLE_BASELINE_IN_LINE = 23.22
TITLE_RAISE = g.TITLE_SIZE_PT + (LO_BASELINE_IN_LINE - g.BODY_SIZE_PT) - LO_TITLE_BASELINE_IN_LINE
FRAME_SHIFT = LO_BASELINE_IN_LINE - g.BODY_SIZE_PT
FRAME_H = g.CONTENT_H_MM * mm
FRAME_Y = PAGE_H - TOP - FRAME_H - FRAME_SHIFT
WIDTH = g.CONTENT_W_PT
RED = Color(1, 0, 0)

HEADING_FONTS = {0: g.FONT_FANGSONG, 1: g.FONT_HEITI, 2: g.FONT_KAITI, 3: g.FONT_FANGSONG, 4: g.FONT_FANGSONG}

PAGE_NUMBER_BASELINE_MM = 297 - g.twips_to_mm(g.FOOTER_DISTANCE_TWIPS) - g.FOOTER_BASELINE_ABOVE_MM  # 270.82
HEAVY_RULE = 0.35 * mm
LIGHT_RULE = 0.25 * mm


def _patch_line_breaking() -> None:
    linebreak.install()  # 标点禁则 without hanging punctuation, as LibreOffice breaks the DOCX


def _register(path: Path, index: int) -> str:
    """Register one TTF/TTC face once per process and put its full-width glyphs on the 28-per-line grid."""
    digest = hashlib.sha256(f"{path}:{index}".encode()).hexdigest()[:10]
    name = f"OA-{digest}"
    if name not in pdfmetrics.getRegisteredFontNames():
        try:
            pdfmetrics.registerFont(TTFont(name, str(path), subfontIndex=index))
        except TTFError as exc:
            raise ValueError(f"字体 {path}（子字体 {index}）无法嵌入：须为 TrueType 轮廓（CFF/OTF 不支持）：{exc}") from exc
    # registerFont keeps its own instance; patch the one getFont returns, exactly once (it may be shared).
    face = pdfmetrics.getFont(name).face
    if not getattr(face, "_oa_grid_scaled", False):
        for code, width in list(face.charWidths.items()):
            if width >= FULL_WIDTH_UNITS:
                face.charWidths[code] = width * FULL_WIDTH_SCALE
        face._oa_grid_scaled = True
    return name


def _script_runs(text: str) -> list[str]:
    """`text` cut where it changes between ASCII (digits, Latin) and CJK."""
    return [m.group() for m in re.finditer(r"[\x00-\x7f]+|[^\x00-\x7f]+", text)]


def _spaced_width(text: str, font: str, size: float = g.BODY_SIZE_PT) -> float:
    """Advance of a short line as a word processor sets it: LibreOffice (and Word) add 0.2 em at every
    CJK↔Latin/digit boundary (STACK §13), so "2026年11月27日" is 16 pt wider than its glyphs. The PDF draws the same
    gaps (`_draw_spaced`), so 署名 centred over the date and the seals land where they do in the DOCX."""
    runs = _script_runs(text)
    gaps = max(len(runs) - 1, 0) * g.CJK_LATIN_GAP_PT * size / g.BODY_SIZE_PT
    return sum(pdfmetrics.stringWidth(r, font, size) for r in runs) + gaps


def _draw_spaced(c: Canvas, x: float, y: float, text: str, font: str, size: float = g.BODY_SIZE_PT) -> None:
    for run in _script_runs(text):
        c.drawString(x, y, run)
        x += pdfmetrics.stringWidth(run, font, size) + g.CJK_LATIN_GAP_PT * size / g.BODY_SIZE_PT


def _line_baseline_y(line: int) -> float:
    """Page y (from the bottom) of grid line `line`'s baseline for a body-size line; 0-based from the 版心 top."""
    return PAGE_H - (TOP + line * PITCH + LO_BASELINE_IN_LINE)


def _em_top_baseline_y(em_top_mm: float, size: float) -> float:
    return PAGE_H - (em_top_mm * mm + g.EM_ASCENT * size)


@dataclass
class _Probe:
    """Pages seen while building: where the last content ended and where the 版记 landed (1-based)."""

    content_end_page: int = 0
    colophon_page: int = 0
    attachment_first_pages: dict[int, int] = field(default_factory=dict)  # attachment index → first placeholder


class _Placeholder(Flowable):
    """A whole 版心 left empty for one page of an uploaded 附件 (merge.place_pages draws it in afterwards)."""

    def __init__(self, probe: _Probe, index: int) -> None:
        super().__init__()
        self.probe = probe
        self.index = index

    def wrap(self, avail_w: float, avail_h: float) -> tuple[float, float]:
        # A point short of the frame: the _Marker after the last one still lands on this page (the content's end),
        # so the 版记 is planned after it (own page, or blank page + 版记 page) as after any other content.
        self.width, self.height = avail_w, max(avail_h - 1, 0)
        return self.width, self.height

    def split(self, avail_w: float, avail_h: float) -> list[Flowable]:
        return []

    def draw(self) -> None:
        self.probe.attachment_first_pages.setdefault(self.index, self.canv.getPageNumber())


class _Marker(Flowable):
    """Zero-size flowable that records the page the flow has reached."""

    def __init__(self, probe: _Probe) -> None:
        super().__init__()
        self.probe = probe
        self.width = self.height = 0

    def wrap(self, avail_w: float, avail_h: float) -> tuple[float, float]:
        return 0, 0

    def draw(self) -> None:
        self.probe.content_end_page = self.canv.getPageNumber()


class _GridTable(Flowable):
    """A platypus Table whose row boxes sit on LibreOffice's grid lines rather than on the shifted frame's.

    The frame is FRAME_SHIFT lower than the 版心 so Paragraph baselines match LO; a table drawn FRAME_SHIFT higher
    (with its cell text padded down as much) keeps those baselines and puts the borders on the grid-line edges.
    """

    def __init__(self, table: Table) -> None:
        super().__init__()
        self.table = table

    def wrap(self, avail_w: float, avail_h: float) -> tuple[float, float]:
        self.width, self.height = self.table.wrap(avail_w, avail_h)
        return self.width, self.height

    def split(self, avail_w: float, avail_h: float) -> list[Flowable]:
        parts = self.table.split(avail_w, avail_h)
        if not parts and avail_h >= FRAME_H and not self.table.splitInRow:
            # A row taller than a whole page (a very long cell) would stop the build: split inside it, as LO does.
            self.table.splitInRow = 1
            self.table.repeatRows = 0  # a header row that tall cannot be repeated on every page
            parts = self.table.split(avail_w, avail_h)
        return [_GridTable(part) for part in parts]

    def drawOn(self, canvas: Canvas, x: float, y: float, _sW: float = 0) -> None:
        self.table.drawOn(canvas, x, y + FRAME_SHIFT, _sW)


class _Raised(Flowable):
    """Draws a Paragraph `dy` higher than the flow puts it (split across pages like the Paragraph)."""

    def __init__(self, inner: Flowable, dy: float) -> None:
        super().__init__()
        self.inner = inner
        self.dy = dy

    def wrap(self, avail_w: float, avail_h: float) -> tuple[float, float]:
        self.width, self.height = self.inner.wrap(avail_w, avail_h)
        return self.width, self.height

    def split(self, avail_w: float, avail_h: float) -> list[Flowable]:
        return [_Raised(part, self.dy) for part in self.inner.split(avail_w, avail_h)]

    def drawOn(self, canvas: Canvas, x: float, y: float, _sW: float = 0) -> None:
        self.inner.drawOn(canvas, x, y + self.dy, _sW)


class _Colophon(Flowable):
    """版记 drawn at the bottom of the 版心 of the page it lands on: takes the rest of the frame (or moves on)."""

    def __init__(self, rows: list[tuple[str, str]], font: str, probe: _Probe, *, rules: bool = True) -> None:
        super().__init__()
        self.rows = rows
        self.font = font
        self.probe = probe
        self.rules = rules  # 信函: 版记不加分隔线
        size = g.COLOPHON_SIZE_PT
        self._cc: Paragraph | None = None
        self._heights: list[float] = []
        for kind, text in rows:
            if kind == "cc":
                # 回行时与冒号后的首字对齐: first line at one 字, continuation after "抄送：".
                style = ParagraphStyle("oa-colophon-cc", fontName=font, fontSize=size, leading=PITCH,
                                       leftIndent=4 * size, firstLineIndent=-3 * size, rightIndent=size,
                                       wordWrap="CJK", alignment=TA_LEFT)
                self._cc = paragraph(text, style)  # 抄送 is user text: never markup
                _, h = self._cc.wrap(WIDTH, 10 * PAGE_H)
                self._heights.append(max(h, PITCH))
            else:
                self._heights.append(PITCH)
        # The 版心 bottom is FRAME_SHIFT above the frame bottom (the frame sits lower to match LO's baselines).
        self.needed = sum(self._heights) + FRAME_SHIFT

    def wrap(self, avail_w: float, avail_h: float) -> tuple[float, float]:
        self.width = avail_w
        self.height = avail_h if avail_h >= self.needed else self.needed
        return self.width, self.height

    def split(self, avail_w: float, avail_h: float) -> list[Flowable]:
        return []  # never split: move whole to the next page

    def draw(self) -> None:
        c = self.canv
        self.probe.colophon_page = c.getPageNumber()
        size = g.COLOPHON_SIZE_PT
        y = FRAME_SHIFT  # local y of the 版心 bottom edge
        c.setStrokeColor(black)
        c.setLineWidth(HEAVY_RULE)
        if self.rules:
            c.line(0, y, WIDTH, y)
        # Rows bottom-up: 印发 is the last row, 抄送 above it.
        for i, ((kind, text), h) in reversed(list(enumerate(zip(self.rows, self._heights, strict=True)))):
            c.setFillColor(black)
            if kind == "cc" and self._cc is not None:
                # platypus puts the baseline fontSize below each line top; move it so the em box is centred.
                shift = PITCH / 2 - (1.5 - g.EM_ASCENT) * size
                self._cc.drawOn(c, 0, y + (h - self._cc.height) - shift)
            else:
                org, when = text.split("\t")
                base = y + (h - size) / 2 + (1 - g.EM_ASCENT) * size
                c.setFont(self.font, size)
                c.drawString(size, base, org)
                c.drawRightString(WIDTH - size, base, when)  # 印发日期右空一字
            y += h
            c.setLineWidth(HEAVY_RULE if i == 0 else LIGHT_RULE)
            if self.rules:
                c.line(0, y, WIDTH, y)


class _Signatures(Flowable):
    """署名(s) and 成文日期 on whole grid lines, placed by layout_signatures; records where each seal's centre goes."""

    def __init__(self, block: SignatureBlock, font: str, anchors: list[SealAnchor]) -> None:
        super().__init__()
        self.block = block
        self.font = font
        self.anchors = anchors
        self.width = WIDTH
        self.height = block.line_count * PITCH

    def wrap(self, avail_w: float, avail_h: float) -> tuple[float, float]:
        return self.width, self.height

    def _baseline(self, line: int) -> float:
        # Same baseline as a Paragraph on that line: fontSize below the line's top in the (shifted) frame.
        return self.height - line * PITCH - g.BODY_SIZE_PT

    def drawOn(self, canvas: Canvas, x: float, y: float, _sW: float = 0) -> None:
        self._origin = (x, y)
        super().drawOn(canvas, x, y, _sW)

    def draw(self) -> None:
        c = self.canv
        c.setFillColor(black)
        c.setFont(self.font, g.BODY_SIZE_PT)
        for t in self.block.texts:
            # The DOCX expresses each position as a right indent, a centre tab or a left indent, so LibreOffice
            # aligns the text's real width on that edge or centre; do the same with the PDF font's width.
            w = _spaced_width(t.text, self.font)
            x = {"right": t.x1 - w, "center": t.center - w / 2}.get(t.align, t.x0)
            _draw_spaced(c, x, self._baseline(t.line), t.text, self.font)
        x, y = self._origin
        page = c.getPageNumber() - 1
        for seal in self.block.seals:
            # The grid line's top is LO_BASELINE_IN_LINE above its baseline (the frame is shifted to match LO).
            line_top = y + self._baseline(seal.line) + LO_BASELINE_IN_LINE
            self.anchors.append(SealAnchor(page=page, agency=seal.agency, center_x_pt=x + seal.center_x,
                                           center_y_pt=line_top - seal_center_from_line_top(PITCH),
                                           max_diameter_pt=seal.max_diameter))


COLOPHON_SAME_PAGE = "same"  # 版记 at the bottom of the last content page
COLOPHON_OWN_PAGE = "own"  # 版记 alone on the next page (after an odd page: it is the back of that sheet)
COLOPHON_AFTER_BLANK = "blank"  # last content page even: a blank page, then the 版记 page, neither numbered (§7.5)


@dataclass(frozen=True)
class ColophonPlan:
    mode: str  # one of the COLOPHON_* values ("" when there is no 版记)
    content_pages: int  # pages up to the end of the last content (正文, 附注 or 附件)
    unnumbered: frozenset[int] = field(default_factory=frozenset)  # 1-based pages without a page number


def render_pdf(spec: DocumentSpec, fonts: FontSet | None = None) -> bytes:
    """Render the 公文 as PDF bytes. Stand-in fonts are named in Subject/Keywords ("本文件使用替代字体…")."""
    return render_pdf_with_layout(spec, fonts).data


def render_pdf_with_layout(spec: DocumentSpec, fonts: FontSet | None = None) -> RenderedPdf:
    """Render the 公文 and report its page count and where each seal goes (none when the spec is not sealed)."""
    fonts = fonts or resolve_fonts()
    return _render_planned(spec, fonts)[0]


def plan_colophon(spec: DocumentSpec, fonts: FontSet | None = None) -> ColophonPlan:
    """Where the 版记 goes, decided by laying the document out (the DOCX renderer follows the same plan)."""
    return _render_planned(spec, fonts or resolve_fonts(), merge=False)[1]


def _render_planned(spec: DocumentSpec, fonts: FontSet, *, merge: bool = True) -> tuple[RenderedPdf, ColophonPlan]:
    spec = clean_spec(spec)  # every string printed as plain text (documents.rendering.text)
    rendered, probe = _build(spec, fonts, blank_before_colophon=False, unnumbered=frozenset())
    if not probe.colophon_page:
        plan = ColophonPlan("", probe.content_end_page)
    elif probe.colophon_page == probe.content_end_page:
        plan = ColophonPlan(COLOPHON_SAME_PAGE, probe.content_end_page)
    elif probe.content_end_page % 2:
        plan = ColophonPlan(COLOPHON_OWN_PAGE, probe.content_end_page)
    else:
        # 版记页前有空白页的，空白页和版记页均不编排页码 (§7.5).
        n = probe.content_end_page
        unnumbered = frozenset({n + 1, n + 2})
        rendered, probe = _build(spec, fonts, blank_before_colophon=True, unnumbered=unnumbered)
        plan = ColophonPlan(COLOPHON_AFTER_BLANK, n, unnumbered)
    if merge and any(p.digest for p in spec.attachment_pages):
        rendered = _merge_attachments(spec, rendered, probe)
    return rendered, plan


def _merge_attachments(spec: DocumentSpec, rendered: RenderedPdf, probe: _Probe) -> RenderedPdf:
    """Draw each uploaded 附件's pages into the 版心 of the placeholder pages the build left for them, and record
    which uploaded files (SHA-256) the PDF holds."""
    pages = spec.attachment_pages
    placements = [(probe.attachment_first_pages[i] - 1, pages[i].pdf) for i in sorted(probe.attachment_first_pages)]
    box = Box(x0=LEFT, top=PAGE_H - TOP, width=WIDTH, height=FRAME_H)
    data = place_pages(rendered.data, placements, box, [p.digest for p in pages if p.digest])
    return RenderedPdf(data=data, page_count=rendered.page_count, seal_anchors=rendered.seal_anchors)


def _header_font(kind: str, rl: dict[str, str]) -> str:
    return rl[g.HEADER_MARK_FONTS[kind]]


def _build(spec: DocumentSpec, fonts: FontSet, *, blank_before_colophon: bool,
           unnumbered: frozenset[int]) -> tuple[RenderedPdf, _Probe]:
    _patch_line_breaking()
    rl = {name: _register(f.path, f.subfont_index) for name, f in fonts.fonts.items()}
    fs, kai, xbs, song, hei = (rl[g.FONT_FANGSONG], rl[g.FONT_KAITI], rl[g.FONT_XIAOBIAOSONG], rl[g.FONT_SONGTI],
                               rl[g.FONT_HEITI])
    probe = _Probe()
    letter = spec.layout == "letter"

    def style(name: str, font: str, size: float = g.BODY_SIZE_PT, **kw: object) -> ParagraphStyle:
        return ParagraphStyle(name, fontName=font, fontSize=size, leading=PITCH, wordWrap="CJK",
                              allowOrphans=1, allowWidows=1, **kw)  # orphan control left 21-line pages

    para = paragraph  # user text, escaped: see documents.rendering.text

    header_marks = spec.header_marks()

    # --- 版头 geometry (page 1, canvas) ---
    rows = ["　".join(spec.signers[i : i + 2]) for i in range(0, len(spec.signers), 2)] if spec.upward else []
    extra_rows = max(len(rows) - 1, 0)
    joint = g.joint_mark(spec.issuer_names, spec.issuer_mark_suffix) if spec.issuer_names else None
    first_line = joint.number_line if joint else g.DOC_NUMBER_LINE  # 发文字号 (or first 签发人 row): 标志下空二行
    number_line = first_line + extra_rows
    rule_y = _line_baseline_y(number_line) - (1 - g.EM_ASCENT) * g.BODY_SIZE_PT - g.RED_RULE_GAP_MM * mm
    head = g.letter_head(len(spec.issuer_mark), len(header_marks) or 1) if letter else None

    def draw_header_marks(c: Canvas) -> None:
        # 份号 → 密级和保密期限 → 紧急程度, 顶格, one per line from line 0 (§7.2.1–7.2.3).
        for i, (kind, text) in enumerate(header_marks):
            c.setFont(_header_font(kind, rl), g.BODY_SIZE_PT)
            c.drawString(LEFT, _line_baseline_y(i), text)

    def draw_standard_head(c: Canvas) -> None:
        draw_header_marks(c)
        c.setFillColor(RED)
        if joint is None:
            size = g.mark_size_pt(len(spec.issuer_mark))
            c.setFont(xbs, size)
            c.drawCentredString(LEFT + WIDTH / 2, _em_top_baseline_y(TOP / mm + g.MARK_OFFSET_MM, size),
                                spec.issuer_mark)
        else:
            # 联合行文: names stacked (主办机关 first), the suffix right of them, centred on the names (§7.2.5).
            c.setFont(xbs, joint.size)
            for name, top in zip(joint.names, joint.name_em_tops_pt, strict=True):
                # 分散对齐 to the longest name: each character at its own x (a lone character is centred).
                y = _em_top_baseline_y(TOP / mm + top / g.PT_PER_MM, joint.size)
                step = joint.size + joint.char_spacing_pt(name)
                x0 = LEFT + joint.names_x0_pt + (0 if len(name) > 1 else (joint.names_w_pt - joint.size) / 2)
                for i, ch in enumerate(name):
                    c.drawString(x0 + i * step, y, ch)
            if joint.suffix:
                c.drawString(LEFT + joint.suffix_x0_pt,
                             _em_top_baseline_y(TOP / mm + joint.suffix_em_top_pt / g.PT_PER_MM, joint.size),
                             joint.suffix)
        c.setFillColor(black)
        if spec.upward:
            label = "签发人："
            widest = max((len(r) for r in rows), default=0) + len(label)
            tab_x = LEFT + WIDTH - ADV * (widest + 1)  # 签发人 block 居右空一字
            for i, row in enumerate(rows):
                y = _line_baseline_y(first_line + i)
                c.setFont(fs, g.BODY_SIZE_PT)
                c.drawString(tab_x, y, label if i == 0 else "")
                c.setFont(kai, g.BODY_SIZE_PT)  # 签发人姓名用楷体
                c.drawString(tab_x + pdfmetrics.stringWidth(label, fs, g.BODY_SIZE_PT), y, row)
            c.setFont(fs, g.BODY_SIZE_PT)
            c.drawString(LEFT + ADV, _line_baseline_y(number_line), spec.doc_number)  # 居左空一字
        else:
            c.setFont(fs, g.BODY_SIZE_PT)
            c.drawCentredString(LEFT + WIDTH / 2, _line_baseline_y(number_line), spec.doc_number)
        c.setStrokeColor(RED)
        c.setLineWidth(g.RED_RULE_LINE_EMU / 12700)  # EMU → pt: 1.5 pt
        c.line(LEFT, rule_y, LEFT + WIDTH, rule_y)

    def draw_letter_head(c: Canvas) -> None:
        assert head is not None
        c.setFillColor(RED)
        c.setFont(xbs, head.mark_size)
        c.drawCentredString(LEFT + WIDTH / 2, _em_top_baseline_y(head.mark_em_top_mm, head.mark_size),
                            spec.issuer_mark)
        c.setStrokeColor(RED)
        x0 = g.LETTER_RULE_X0_MM * mm
        for y_mm, weight in head.rules:  # 上粗下细 under the 标志, 上细下粗 20 mm above the page bottom
            c.setLineWidth(weight)
            c.line(x0, PAGE_H - y_mm * mm, x0 + g.LETTER_RULE_LENGTH_MM * mm, PAGE_H - y_mm * mm)
        c.setFillColor(black)
        # First line: 份号 (or the first of 密级/紧急程度) 顶格 left, 发文字号 顶格 right, 7/8 字 below the double line.
        base = _em_top_baseline_y(head.number_em_top_mm, g.BODY_SIZE_PT)
        for i, (kind, text) in enumerate(header_marks):
            c.setFont(_header_font(kind, rl), g.BODY_SIZE_PT)
            c.drawString(LEFT, base - i * PITCH, text)
        c.setFont(fs, g.BODY_SIZE_PT)
        c.drawRightString(LEFT + WIDTH, base, spec.doc_number)

    def first_page(c: Canvas, doc: BaseDocTemplate) -> None:
        c.saveState()
        if letter:
            draw_letter_head(c)
        else:
            draw_standard_head(c)
        c.restoreState()
        if not letter:  # 信函首页不显示页码 (§10.1)
            page_number(c, doc)

    def page_number(c: Canvas, doc: BaseDocTemplate) -> None:
        # "— N —", 宋体 四号; 单页居右空一字, 双页居左空一字 (§7.5).
        if doc.page in unnumbered:
            return
        c.saveState()
        c.setFont(song, g.PAGE_NUMBER_SIZE_PT)
        text = f"— {doc.page} —"
        y = PAGE_H - PAGE_NUMBER_BASELINE_MM * mm
        if doc.page % 2:
            c.drawRightString(LEFT + WIDTH - g.PAGE_NUMBER_SIZE_PT, y, text)
        else:
            c.drawString(LEFT + g.PAGE_NUMBER_SIZE_PT, y, text)
        c.restoreState()

    body_styles = {lvl: style(f"oa-body-{lvl}", rl[font], alignment=TA_JUSTIFY, firstLineIndent=2 * ADV)
                   for lvl, font in HEADING_FONTS.items()}
    cell_style = style("oa-cell", fs)
    head_cell_style = style("oa-cell-head", hei, alignment=TA_CENTER)

    def table(block: TableBlock, rows: slice = slice(None)) -> Flowable:
        widths = g.table_column_widths(block.rows)  # from every row, so the parts of a split table line up
        # Rows of whole grid lines, as the DOCX's exact row heights (a very tall row is left to grow and split).
        heights = [n * PITCH if n <= g.TABLE_MAX_EXACT_LINES else None
                   for n in g.table_row_lines(block.rows, widths)][rows]
        data = []
        for r, row in list(enumerate(block.rows))[rows]:
            st = head_cell_style if block.header and r == 0 else cell_style
            data.append([para(row[c] if c < len(row) else "", st) for c in range(len(widths))])
        head = block.header and rows.start in (None, 0)
        pad = g.TABLE_PAD_MM * mm
        t = Table(data, colWidths=widths, rowHeights=heights, repeatRows=1 if head else 0, hAlign="LEFT",
                  style=TableStyle([
                      ("GRID", (0, 0), (-1, -1), g.TABLE_BORDER_SZ / 8, black),
                      # Table._drawCell calls setFont(cell style font) even for Paragraph cells: the default would
                      # put an unembedded Helvetica into every PDF with a table.
                      ("FONTNAME", (0, 0), (-1, -1), fs),
                      ("VALIGN", (0, 0), (-1, -1), "TOP"),
                      ("LEFTPADDING", (0, 0), (-1, -1), pad), ("RIGHTPADDING", (0, 0), (-1, -1), pad),
                      # Text down by the frame shift, rows whole pitches: see _GridTable.
                      ("TOPPADDING", (0, 0), (-1, -1), FRAME_SHIFT),
                      ("BOTTOMPADDING", (0, 0), (-1, -1), -FRAME_SHIFT),
                  ]))
        return _GridTable(t)

    def blocks(body: list, *, split_last_row: bool = False) -> list[Flowable]:
        out: list[Flowable] = []
        items = numbered_blocks(body)
        for i, item in enumerate(items):
            if not isinstance(item, TableBlock):
                out.append(para(item[1], body_styles[item[0]]))
            elif split_last_row and i == len(items) - 1 and len(item.rows) > 1 + item.header:
                # A table ending the 正文: only its last row is kept with the 署名 (the DOCX keeps that row's
                # paragraphs with the next), so the rest may stay on the previous page as in LibreOffice.
                out += [table(item, slice(None, -1)), table(item, slice(-1, None))]
            else:
                out.append(table(item))
        return out

    # --- flow ---
    if letter:
        assert head is not None
        story: list[Flowable] = [Spacer(WIDTH, (head.block_pitches + 2) * PITCH)]  # 与其上最后一个要素相距二行
    else:
        story = [Spacer(WIDTH, (number_line + 1 + 2) * PITCH)]  # 版头 lines, then 空二行
    # 标题 (§7.3.1): the lines chosen by documents.rendering.titles, each on its own grid line, as in the DOCX.
    title_style = style("oa-title", xbs, g.TITLE_SIZE_PT, alignment=TA_CENTER)
    story.append(_Raised(lines_paragraph(spec.title_lines(), title_style), TITLE_RAISE))
    story.append(Spacer(WIDTH, PITCH))
    if spec.main_recipients:
        story.append(para("、".join(spec.main_recipients) + "：", style("oa-recipients", fs)))
    flow_body = blocks(spec.body, split_last_row=True)

    if spec.attachments:
        flow_body.append(Spacer(WIDTH, PITCH))
        label = "附件："
        name_start = ADV * (2 + len(label))
        many = len(spec.attachments) > 1
        for i, name in enumerate(spec.attachments, start=1):
            ordinal = f"{i}." if many else ""
            hang = pdfmetrics.stringWidth(ordinal, fs, g.BODY_SIZE_PT)
            first = (2 * ADV if i == 1 else name_start) - (name_start + hang)
            flow_body.append(para((label if i == 1 else "") + ordinal + name,
                                  style(f"oa-att-{i}", fs, leftIndent=name_start + hang, firstLineIndent=first)))

    if spec.attendance:
        # 纪要 (§10.3): 正文或附件说明下空一行左空二字; "出席：" 黑体, names 仿宋, 回行与冒号后首字对齐.
        flow_body.append(Spacer(WIDTH, PITCH))
        hang = g.ATTENDANCE_LABEL_CHARS * ADV
        att_style = style("oa-attendance", fs, leftIndent=2 * ADV + hang, firstLineIndent=-hang)
        for label, names in spec.attendance:
            flow_body.append(styled_paragraph([(hei, f"{label}："), (None, "、".join(names))], att_style))

    # 署名 + 成文日期 (§7.3.5): kept on one page with the last paragraph so a seal never sits on a page without 正文.
    anchors: list[SealAnchor] = []
    block = layout_signatures(spec.signatures, format_cn_date(spec.date), sealed=spec.is_sealed,
                              width=g.text_width_pt)  # the DOCX's model: one layout for both outputs
    tail: list[Flowable] = [Spacer(WIDTH, block.blank_lines * PITCH), _Signatures(block, fs, anchors)]
    story.extend(flow_body[:-1])
    story.append(KeepTogether(flow_body[-1:] + tail))
    if spec.notes:
        text = spec.notes if spec.notes.startswith("（") else f"（{spec.notes}）"
        story.append(para(text, style("oa-notes", fs, firstLineIndent=2 * ADV)))

    # 附件 (§7.3.7): each on a new page; "附件N" 黑体 顶格 line 1, title 小标宋 centred on line 3; numbers continue.
    label_style = style("oa-att-label", hei)
    att_title_style = style("oa-att-title", xbs, g.TITLE_SIZE_PT, alignment=TA_CENTER)
    # An uploaded 附件 (page.pdf): its pages follow the title page, one placeholder 版心 each (merged afterwards).
    for index, (label, page) in enumerate(spec.attachment_page_labels()):
        story += [PageBreak(), para(label, label_style), Spacer(WIDTH, PITCH),
                  _Raised(para(page.title, att_title_style), TITLE_RAISE),
                  Spacer(WIDTH, PITCH), *blocks(page.body)]
        if page.pdf:
            for _ in range(pdf_page_count(page.pdf)):
                story += [PageBreak(), _Placeholder(probe, index)]

    colophon: list[tuple[str, str]] = []
    if spec.cc:
        colophon.append(("cc", "抄送：" + "，".join(spec.cc) + "。"))
    if spec.printing_org and not letter:  # 信函的版记不加印发机关和印发日期
        colophon.append(("print", f"{spec.printing_org}\t{format_cn_date(spec.printing_date or spec.date)}印发"))
    story.append(_Marker(probe))
    if colophon:
        if blank_before_colophon:
            story += [PageBreak(), PageBreak()]  # a blank page, then the 版记 page
        story.append(_Colophon(colophon, fs, probe, rules=not letter))

    buf = io.BytesIO()
    note = fonts.note()
    kind = "上行文" if spec.upward else "公文"
    doc = BaseDocTemplate(
        buf, pagesize=A4, title=spec.title, author=spec.signature, creator="OA documents.rendering.pdf",
        subject=note or kind, keywords=[kind] + ([note] if note else []), lang="zh-CN", invariant=1,
        initialFontName=fs,  # else every page starts with an unembedded Helvetica,
        leftMargin=LEFT, rightMargin=PAGE_W - LEFT - WIDTH, topMargin=TOP, bottomMargin=35 * mm,
    )
    frame = Frame(LEFT, FRAME_Y, WIDTH, FRAME_H, leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0,
                  id="body")
    doc.addPageTemplates([
        PageTemplate("first", [frame], onPage=first_page, autoNextPageTemplate="later"),
        PageTemplate("later", [frame], onPage=page_number),
    ])
    doc.build(story)
    return RenderedPdf(data=buf.getvalue(), page_count=doc.page, seal_anchors=anchors), probe
