"""Placement of 署名, 成文日期 and seals (GB/T 9704 §7.3.5), shared by the DOCX and PDF renderers.

Pure arithmetic on text widths: the caller passes a width function (LibreOffice's estimate for DOCX, the embedded
font's metrics for PDF), so both outputs put the same text on the same grid lines at the same x.

Coordinates inside a `SignatureBlock` are points from the 版心's left edge (x) and whole grid lines from the first
署名 line (line 0); the PDF renderer turns them into page coordinates and `SealAnchor`s.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from documents.rendering import geometry as g


@dataclass(frozen=True)
class SealAnchor:
    """Where one round seal's centre goes on the rendered PDF (GB/T 9704 §7.3.5.1)."""

    page: int  # 0-based page index
    agency: str  # the 署名 this seal belongs to
    center_x_pt: float  # PDF user space, origin bottom-left
    center_y_pt: float
    max_diameter_pt: float  # largest seal that stays in the 版心, off the text above and clear of other seals


@dataclass(frozen=True)
class RenderedPdf:
    data: bytes
    page_count: int
    seal_anchors: list[SealAnchor]


# The common seal of a 县级 body is 42 mm (45 mm for a 县级人民政府); the layout is planned for 42 mm and
# `max_diameter_pt` says how much larger a seal may be at each anchor.
SEAL_NOMINAL_DIAMETER_PT = 42 * g.PT_PER_MM
SEAL_GAP_PT = 2 * g.PT_PER_MM  # between neighbouring seals in a row: 互不相交或相切
SEAL_CLEARANCE_PT = 1 * g.PT_PER_MM  # max_diameter leaves at least this much between two seals
# Seal centre 0.25 line below the top of the first 署名 line (STACK §13, measured in LO with the UKai body), less
# the 0.80 pt the 仿宋 stand-in UMing sits higher in its grid line (pdf.LO_BASELINE_IN_LINE): 署名 and 成文日期 then
# sit just below the centre and a 42 mm seal's top falls 2 mm into the blank lines, i.e. within one line of the 正文.
SEAL_CENTER_BELOW_LINE_TOP = 0.25 - 0.80 / (g.LINE_PITCH_TWIPS / 20)
SEALED_BLANK_LINES = 2  # 正文（或附件说明）下空二行 before the 署名 when sealed (room for the upper half of the seal)
UNSEALED_BLANK_LINES = 1  # §7.3.5.2: 正文（或附件说明）下空一行
ROW_LINES = 5  # 联合行文: 署名 rows this many lines apart, so two 42 mm seals (4.1 lines) neither touch nor overlap
ZI = g.BODY_SIZE_PT  # one 字 for the 右空N字 indents (DATE_RIGHT_INDENT_PT is 4 of these)


@dataclass(frozen=True)
class PlacedText:
    text: str
    line: int  # grid line from the first 署名 line
    x0: float  # left edge, pt from the 版心 left
    width: float
    role: str  # "signature" or "date"
    align: str  # how the DOCX should express it: "right" (right indent), "left" (left indent) or "center" (tab)

    @property
    def x1(self) -> float:
        return self.x0 + self.width

    @property
    def center(self) -> float:
        return self.x0 + self.width / 2


@dataclass(frozen=True)
class SealSlot:
    agency: str
    line: int  # the 署名 line this seal presses
    center_x: float  # pt from the 版心 left
    max_diameter: float


@dataclass(frozen=True)
class SignatureBlock:
    blank_lines: int  # empty grid lines between the last 正文/附件说明 line and line 0
    line_count: int  # lines from line 0 to the date line inclusive
    texts: list[PlacedText]
    seals: list[SealSlot]

    def rows(self) -> list[list[PlacedText]]:
        out: list[list[PlacedText]] = [[] for _ in range(self.line_count)]
        for t in self.texts:
            out[t.line].append(t)
        return out


def seal_center_from_line_top(pitch: float) -> float:
    """Distance from a 署名 line's top down to the seal centre."""
    return SEAL_CENTER_BELOW_LINE_TOP * pitch


def _vertical_limit(pitch: float) -> float:
    # The seal may fill the blank lines but not rise over the line box of the text above them.
    return 2 * (SEALED_BLANK_LINES * pitch + seal_center_from_line_top(pitch))


def layout_signatures(
    signatures: list[str],
    date_text: str,
    *,
    sealed: bool,
    width: Callable[[str], float],
    content_width: float = g.CONTENT_W_PT,
    pitch: float = g.LINE_PITCH_TWIPS / 20,
) -> SignatureBlock:
    """Place the 署名(s) and the 成文日期 per §7.3.5.1 (sealed) or §7.3.5.2 (not sealed).

    Without any 署名 (a 纪要 may have none) the date alone is set 右空二字.
    """
    if not signatures:
        if sealed:
            raise ValueError("加盖印章的公文须有发文机关署名")
        w = width(date_text)
        return SignatureBlock(UNSEALED_BLANK_LINES, 1,
                              [PlacedText(date_text, 0, content_width - 2 * ZI - w, w, "date", "right")], [])
    if sealed:
        return _sealed(signatures, date_text, width, content_width, pitch)
    return _unsealed(signatures, date_text, width, content_width)


def _sealed(signatures: list[str], date_text: str, width: Callable[[str], float], w_total: float,
            pitch: float) -> SignatureBlock:
    # 成文日期右空四字; the last seal presses the last 署名 and the date, so its column is centred on the date.
    date_w = width(date_text)
    widths = [width(s) for s in signatures]
    x_right = w_total - g.DATE_RIGHT_INDENT_PT - date_w / 2
    widest_right = widths[-1] if len(signatures) == 1 else max(widths)  # any 署名 may land in the right column
    overflow = max(x_right + widest_right / 2 - w_total, x_right + date_w / 2 - w_total, 0.0)
    x_right -= overflow  # a very long 署名 cannot centre over a 右空四字 date inside the 版心: move both left
    d = SEAL_NOMINAL_DIAMETER_PT
    n = len(signatures)
    if n == 1:
        step, per_row = 0.0, 1
    else:
        # Uniform columns (整齐): wide enough for two seals with a gap and for the widest 署名 plus one 字.
        step = max(d + SEAL_GAP_PT, max(widths) + ZI)
        half = max(d, max(widths)) / 2
        per_row = max(1, min(n, int((x_right - half) // step) + 1))
    rows = [signatures[i : i + per_row] for i in range(0, n, per_row)]
    texts: list[PlacedText] = []
    seals: list[SealSlot] = []
    vertical = _vertical_limit(pitch)
    index = 0
    for r, row in enumerate(rows):
        line = r * ROW_LINES
        for c, name in enumerate(row):
            col = len(row) - 1 - c  # rows fill from the right: the last seal sits on the date
            cx = x_right - col * step
            w = widths[index]
            align = "right" if len(row) == 1 else "center"
            texts.append(PlacedText(name, line, cx - w / 2, w, "signature", align))
            # Inside the 版心 horizontally; below the text over the first row; clear of the seals beside and
            # above/below (rows are ROW_LINES apart, columns `step`).
            limits = [2 * cx, 2 * (w_total - cx), vertical]
            if len(row) > 1:
                limits.append(step - SEAL_CLEARANCE_PT)
            if len(rows) > 1:
                limits.append(ROW_LINES * pitch - SEAL_CLEARANCE_PT)
            seals.append(SealSlot(name, line, cx, min(limits)))
            index += 1
    date_line = (len(rows) - 1) * ROW_LINES + 1
    texts.append(PlacedText(date_text, date_line, x_right - date_w / 2, date_w, "date", "right"))
    return SignatureBlock(SEALED_BLANK_LINES, date_line + 1, texts, seals)


def _unsealed(signatures: list[str], date_text: str, width: Callable[[str], float],
              w_total: float) -> SignatureBlock:
    # §7.3.5.2: 署名右空二字 (联合行文: 主办机关 first, the others below it); the date on the next line with its
    # first 字 two 字 right of the (last) 署名's; a date longer than that is set 右空二字 and the 署名 move left.
    date_w = width(date_text)
    widths = [width(s) for s in signatures]
    right = 2 * ZI
    date_x0 = w_total - right - widths[-1] + 2 * ZI
    shift = max(0.0, date_x0 + date_w - (w_total - 2 * ZI))
    right += shift
    date_x0 -= shift
    texts = [PlacedText(name, i, w_total - right - w, w, "signature", "right")
             for i, (name, w) in enumerate(zip(signatures, widths, strict=True))]
    date_align = "right" if shift > 0 else "left"
    texts.append(PlacedText(date_text, len(signatures), date_x0, date_w, "date", date_align))
    return SignatureBlock(UNSEALED_BLANK_LINES, len(signatures) + 1, texts, [])
