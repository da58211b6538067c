"""GB/T 9704-2012 PDF rendering with reportlab, at the DOCX's geometry (STACK.md §13 "reportlab 5.1.0").

The body flows through one frame on a 28.95 pt grid (22 lines × 28 字); the 版头 (标志, 发文字号, red rule) and the
page numbers are drawn with canvas calls at the positions LibreOffice gives the DOCX, so both outputs line up.
Fonts are TrueType files from documents.rendering.fonts, embedded as subsets.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

from reportlab.lib import textsplit
from reportlab.lib.colors import Color, black
from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY, TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import paragraph as rl_paragraph
from reportlab.platypus.doctemplate import BaseDocTemplate, PageTemplate
from reportlab.platypus.flowables import Flowable, KeepTogether, Spacer
from reportlab.platypus.frames import Frame
from reportlab.platypus.paragraph import Paragraph

from documents.rendering import geometry as g
from documents.rendering.fonts import FontSet, resolve_fonts
from documents.rendering.spec import DocumentSpec, format_cn_date, numbered_body

PAGE_W, PAGE_H = A4
PITCH = g.LINE_PITCH_TWIPS / 20  # 28.95 pt
# platypus has no character spacing: scale full-width advances so 28 fit in 156 mm (measured; 0.987064 is exact
# but leaves no room for float fuzz at the line end).
FULL_WIDTH_SCALE = 0.98705
FULL_WIDTH_UNITS = 900  # charWidths entries at or above this (per 1000 em) are the full-width glyphs
ADV = g.BODY_SIZE_PT * FULL_WIDTH_SCALE  # one 字 in the body: 15.79 pt

LEFT = 28 * mm
TOP = 37 * mm  # 版心 top, from the page top
# LO centres a 16 pt line in its 28.95 pt grid line (baseline 21.82 pt below the line top); platypus puts the
# first baseline fontSize below the frame top, so the frame sits 5.82 pt lower to land on the same baselines.
LO_BASELINE_IN_LINE = 21.82
FRAME_SHIFT = LO_BASELINE_IN_LINE - g.BODY_SIZE_PT
FRAME_H = g.CONTENT_H_MM * mm
FRAME_Y = PAGE_H - TOP - FRAME_H - FRAME_SHIFT
WIDTH = g.CONTENT_W_PT
RED = Color(1, 0, 0)

HEADING_FONTS = {0: g.FONT_FANGSONG, 1: g.FONT_HEITI, 2: g.FONT_KAITI, 3: g.FONT_FANGSONG, 4: g.FONT_FANGSONG}

# Marks that must not start a line; reportlab's set is Japanese-oriented and lacks these (STACK §13).
_EXTRA_CANNOT_START = "，；：？！”》"
PAGE_NUMBER_BASELINE_MM = 297 - g.twips_to_mm(g.FOOTER_DISTANCE_TWIPS) - g.FOOTER_BASELINE_ABOVE_MM  # 270.82
HEAVY_RULE = 0.35 * mm
LIGHT_RULE = 0.25 * mm


def _patch_line_breaking() -> None:
    for module in (textsplit, rl_paragraph):
        current = module.ALL_CANNOT_START
        missing = "".join(ch for ch in _EXTRA_CANNOT_START if ch not in current)
        if missing:
            module.ALL_CANNOT_START = current + missing


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


def _line_baseline_y(line: int) -> float:
    """Page y (from the bottom) of grid line `line`'s baseline for a body-size line; 0-based from the 版心 top."""
    return PAGE_H - (TOP + line * PITCH + LO_BASELINE_IN_LINE)


def _em_top_baseline_y(em_top_mm: float, size: float) -> float:
    return PAGE_H - (em_top_mm * mm + g.EM_ASCENT * size)


class _Colophon(Flowable):
    """版记 drawn at the bottom of the 版心 of the page it lands on: takes the rest of the frame (or moves on)."""

    def __init__(self, rows: list[tuple[str, str]], font: str) -> None:
        super().__init__()
        self.rows = rows
        self.font = font
        size = g.COLOPHON_SIZE_PT
        self._cc: Paragraph | None = None
        self._heights: list[float] = []
        for kind, text in rows:
            if kind == "cc":
                # 回行时与冒号后的首字对齐: first line at one 字, continuation after "抄送：".
                style = ParagraphStyle("oa-colophon-cc", fontName=font, fontSize=size, leading=PITCH,
                                       leftIndent=4 * size, firstLineIndent=-3 * size, rightIndent=size,
                                       wordWrap="CJK", alignment=TA_LEFT)
                self._cc = Paragraph(text, style)
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
        size = g.COLOPHON_SIZE_PT
        y = FRAME_SHIFT  # local y of the 版心 bottom edge
        c.setStrokeColor(black)
        c.setLineWidth(HEAVY_RULE)
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
            c.line(0, y, WIDTH, y)


def render_pdf(spec: DocumentSpec, fonts: FontSet | None = None) -> bytes:
    """Render the 公文 as PDF bytes. Stand-in fonts are named in Subject/Keywords ("本文件使用替代字体…")."""
    _patch_line_breaking()
    fonts = fonts or resolve_fonts()
    rl = {name: _register(f.path, f.subfont_index) for name, f in fonts.fonts.items()}
    fs, kai, xbs, song = rl[g.FONT_FANGSONG], rl[g.FONT_KAITI], rl[g.FONT_XIAOBIAOSONG], rl[g.FONT_SONGTI]

    def style(name: str, font: str, size: float = g.BODY_SIZE_PT, **kw: object) -> ParagraphStyle:
        return ParagraphStyle(name, fontName=font, fontSize=size, leading=PITCH, wordWrap="CJK",
                              allowOrphans=1, allowWidows=1, **kw)  # orphan control left 21-line pages

    # --- 版头 geometry (page 1, canvas) ---
    rows = ["　".join(spec.signers[i : i + 2]) for i in range(0, len(spec.signers), 2)] if spec.upward else []
    extra_rows = max(len(rows) - 1, 0)
    mark_size = min(g.MARK_MAX_SIZE_PT, int(g.CONTENT_W_PT // max(len(spec.issuer_mark), 1)))
    number_line = g.DOC_NUMBER_LINE + extra_rows
    rule_y = _line_baseline_y(number_line) - (1 - g.EM_ASCENT) * g.BODY_SIZE_PT - g.RED_RULE_GAP_MM * mm

    def first_page(c: Canvas, doc: BaseDocTemplate) -> None:
        c.saveState()
        c.setFillColor(RED)
        c.setFont(xbs, mark_size)
        c.drawCentredString(LEFT + WIDTH / 2, _em_top_baseline_y(TOP / mm + g.MARK_OFFSET_MM, mark_size), spec.issuer_mark)
        c.setFillColor(black)
        if spec.upward:
            label = "签发人："
            widest = max((len(r) for r in rows), default=0) + len(label)
            tab_x = LEFT + WIDTH - ADV * (widest + 1)  # 签发人 block 居右空一字
            for i, row in enumerate(rows):
                y = _line_baseline_y(g.DOC_NUMBER_LINE + i)
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
        c.restoreState()
        page_number(c, doc)

    def page_number(c: Canvas, doc: BaseDocTemplate) -> None:
        # "— N —", 宋体 四号; 单页居右空一字, 双页居左空一字 (§7.5).
        c.saveState()
        c.setFont(song, g.PAGE_NUMBER_SIZE_PT)
        text = f"— {doc.page} —"
        y = PAGE_H - PAGE_NUMBER_BASELINE_MM * mm
        if doc.page % 2:
            c.drawRightString(LEFT + WIDTH - g.PAGE_NUMBER_SIZE_PT, y, text)
        else:
            c.drawString(LEFT + g.PAGE_NUMBER_SIZE_PT, y, text)
        c.restoreState()

    # --- flow ---
    story: list[Flowable] = [Spacer(WIDTH, (number_line + 1 + 2) * PITCH)]  # 版头 lines, then 空二行
    story.append(Paragraph(spec.title, style("oa-title", xbs, g.TITLE_SIZE_PT, alignment=TA_CENTER)))
    story.append(Spacer(WIDTH, PITCH))
    if spec.main_recipients:
        story.append(Paragraph("、".join(spec.main_recipients) + "：", style("oa-recipients", fs)))
    body_styles = {lvl: style(f"oa-body-{lvl}", rl[font], alignment=TA_JUSTIFY, firstLineIndent=2 * ADV)
                   for lvl, font in HEADING_FONTS.items()}
    flow_body: list[Flowable] = [Paragraph(text, body_styles[lvl]) for lvl, text in numbered_body(spec.body)]

    if spec.attachments:
        flow_body.append(Spacer(WIDTH, PITCH))
        label = "附件："
        name_start = ADV * (2 + len(label))
        many = len(spec.attachments) > 1
        for i, name in enumerate(spec.attachments, start=1):
            ordinal = f"{i}." if many else ""
            hang = pdfmetrics.stringWidth(ordinal, fs, g.BODY_SIZE_PT)
            first = (2 * ADV if i == 1 else name_start) - (name_start + hang)
            flow_body.append(Paragraph((label if i == 1 else "") + ordinal + name,
                                       style(f"oa-att-{i}", fs, leftIndent=name_start + hang, firstLineIndent=first)))

    # 署名 + 成文日期: 正文下空二行; date 右空四字, 署名 centred over it; kept on one page with the last paragraph.
    date_text = format_cn_date(spec.date)
    date_w = pdfmetrics.stringWidth(date_text, fs, g.BODY_SIZE_PT)
    sig_w = pdfmetrics.stringWidth(spec.signature, fs, g.BODY_SIZE_PT)
    sig_indent = g.DATE_RIGHT_INDENT_PT + (date_w - sig_w) / 2
    date_indent = g.DATE_RIGHT_INDENT_PT
    if sig_indent < 0:
        date_indent -= sig_indent
        sig_indent = 0
    tail: list[Flowable] = [
        Spacer(WIDTH, 2 * PITCH),
        Paragraph(spec.signature, style("oa-signature", fs, alignment=TA_RIGHT, rightIndent=sig_indent)),
        Paragraph(date_text, style("oa-date", fs, alignment=TA_RIGHT, rightIndent=date_indent)),
    ]
    story.extend(flow_body[:-1])
    story.append(KeepTogether(flow_body[-1:] + tail))
    if spec.notes:
        text = spec.notes if spec.notes.startswith("（") else f"（{spec.notes}）"
        story.append(Paragraph(text, style("oa-notes", fs, firstLineIndent=2 * ADV)))

    colophon: list[tuple[str, str]] = []
    if spec.cc:
        colophon.append(("cc", "抄送：" + "，".join(spec.cc) + "。"))
    if spec.printing_org:
        colophon.append(("print", f"{spec.printing_org}\t{format_cn_date(spec.printing_date or spec.date)}印发"))
    if colophon:
        story.append(_Colophon(colophon, fs))

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
    return buf.getvalue()
