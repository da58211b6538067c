"""GB/T 9704-2012 geometry shared by the DOCX renderer and the checker.

Numbers come from DOMAIN.md §1.1–§1.5 (the standard) and STACK.md §13 (what LibreOffice 7.4 does with them,
measured). Units: twips (1/20 pt) for OOXML sizes, EMU (1/36000 mm) for drawings.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

TWIPS_PER_MM = 1440 / 25.4
EMU_PER_MM = 36000
PT_PER_MM = 72 / 25.4


def mm_to_twips(mm: float) -> int:
    return round(mm * TWIPS_PER_MM)


def twips_to_mm(twips: float) -> float:
    return twips / TWIPS_PER_MM


# Page and margins (GB/T 9704 §5.1, §5.2.1): A4, 天头 37, 订口 28, 版心 156 × 225 → bottom 35, right 26.
PAGE_W_TWIPS, PAGE_H_TWIPS = 11906, 16838
MARGIN_TOP_TWIPS, MARGIN_BOTTOM_TWIPS = 2098, 1984
MARGIN_LEFT_TWIPS, MARGIN_RIGHT_TWIPS = 1587, 1474
CONTENT_W_MM, CONTENT_H_MM = 156.0, 225.0
CONTENT_W_PT = CONTENT_W_MM * PT_PER_MM

# Grid (§5.2.3): 22 lines × 28 chars. LO needs linePitch 579 (28.95 pt; 580 gives 21 lines) and −0.25 pt character
# spacing (−5 twentieths) so a 16 pt ideograph advances 15.75 pt and 28 fit in 442.2 pt.
LINE_PITCH_TWIPS = 579
LINE_PITCH_MM = twips_to_mm(LINE_PITCH_TWIPS)
BODY_SIZE_PT = 16
CHAR_SPACING_TWENTIETHS = -5
CHAR_ADVANCE_PT = BODY_SIZE_PT + CHAR_SPACING_TWENTIETHS / 20  # one 字 in the body
LINES_PER_PAGE = 22
CHARS_PER_LINE = 28

# Fonts by name only (§1.7); the licensed files are a deployment concern.
FONT_FANGSONG = "仿宋_GB2312"
FONT_XIAOBIAOSONG = "方正小标宋简体"
FONT_HEITI = "黑体"
FONT_KAITI = "楷体_GB2312"
FONT_SONGTI = "宋体"
RED = "FF0000"

# 发文机关标志 (§7.2.5): em top 35 mm below the 版心 top. Paragraph-flow method of STACK §13: the 标志 is the
# first paragraph, off the grid, with an exact line L; LO puts the baseline at 0.8·L and the em top is
# 0.879·S above it (UMing metrics), so space_before = 35 mm − (0.8·L − 0.879·S).
MARK_OFFSET_MM = 35.0
MARK_LINE_TWIPS = 1050
MARK_MAX_SIZE_PT = 42
MARK_BASELINE_FRACTION = 0.8
EM_ASCENT = 0.879
MARK_BLOCK_PITCHES = 6  # 标志 block padded to whole pitches so LO's relative grid stays aligned

# 发文字号 on grid line 7 (0-based) after the 6-pitch 标志 block and one empty line: em box 111.21–116.85 mm.
DOC_NUMBER_LINE = 7
DOC_NUMBER_EM_BOTTOM_MM_LINE7 = 116.85
RED_RULE_GAP_MM = 4.0
RED_RULE_WIDTH_EMU = round(CONTENT_W_MM * EMU_PER_MM)  # 5616000
RED_RULE_LINE_EMU = 19050  # 1.5 pt, common practice; the standard fixes no thickness

TITLE_SIZE_PT = 22  # 二号
COLOPHON_SIZE_PT = 14  # 四号
PAGE_NUMBER_SIZE_PT = 14

# Page numbers (§7.5): the 一字线 7 mm below the 版心. With w:footer=1404 LO draws the dash at 268.9–269.07 mm.
FOOTER_DISTANCE_TWIPS = 1404
FOOTER_LINE_TWIPS = 400
FOOTER_BASELINE_ABOVE_MM = 1.41  # baseline = page bottom − w:footer − 1.41 mm (measured, 14 pt at exact 400)
DASH_ABOVE_BASELINE_EM = 0.369
PAGE_NUMBER_GAP_MM = 7.0

# 版记 rules (§7.4.1): 0.35 mm heavy (w:sz 8 = 1 pt), 0.25 mm light (w:sz 6 = 0.75 pt); w:sz is in eighths of a pt.
COLOPHON_HEAVY_SZ = 8
COLOPHON_LIGHT_SZ = 6

# 署名/成文日期 (§7.3.5.1): 成文日期右空四字.
DATE_RIGHT_INDENT_PT = 4 * BODY_SIZE_PT
# LO adds 0.2 em at each CJK↔digit boundary (STACK §13), needed to centre 署名 over the date.
LATIN_DIGIT_ADVANCE_PT = 8.0
CJK_LATIN_GAP_PT = 3.2


def mark_space_before_twips(size_pt: float) -> int:
    offset_pt = MARK_OFFSET_MM * PT_PER_MM
    return round((offset_pt - (MARK_BASELINE_FRACTION * MARK_LINE_TWIPS / 20 - EM_ASCENT * size_pt)) * 20)


def mark_line_and_before(size_pt: float, lines_above: int) -> tuple[int, int]:
    """(exact line, space before) in twips for the 标志 paragraph below `lines_above` grid lines (份号 etc.).

    The usual line is MARK_LINE_TWIPS; when the 份号/密级/紧急程度 lines leave too little room above a small 标志,
    the line is shortened so the paragraph starts right after them with the em top still 35 mm down.
    """
    offset_pt = MARK_OFFSET_MM * PT_PER_MM - lines_above * LINE_PITCH_TWIPS / 20
    line = MARK_LINE_TWIPS
    before = round((offset_pt - (MARK_BASELINE_FRACTION * line / 20 - EM_ASCENT * size_pt)) * 20)
    if before < 0:
        line = math.floor((offset_pt + EM_ASCENT * size_pt) / MARK_BASELINE_FRACTION * 20)
        before = round((offset_pt - (MARK_BASELINE_FRACTION * line / 20 - EM_ASCENT * size_pt)) * 20)
    return line, before


def mark_em_top_mm(space_before_twips: float, line_twips: float, size_pt: float) -> float:
    """Distance from the 版心 top to the 标志's em top under LO's exact-line model."""
    pt = space_before_twips / 20 + MARK_BASELINE_FRACTION * line_twips / 20 - EM_ASCENT * size_pt
    return pt / PT_PER_MM


def text_width_pt(text: str, size_pt: float = BODY_SIZE_PT, spacing_pt: float = CHAR_SPACING_TWENTIETHS / 20) -> float:
    """Estimated advance of a short line (署名, 成文日期): full-width CJK, half-width digits, LO's CJK↔digit gaps."""
    scale = size_pt / BODY_SIZE_PT
    width = 0.0
    prev_ascii: bool | None = None
    for ch in text:
        is_ascii = ch.isascii()
        width += (LATIN_DIGIT_ADVANCE_PT * scale if is_ascii else size_pt) + spacing_pt
        if prev_ascii is not None and prev_ascii != is_ascii:
            width += CJK_LATIN_GAP_PT * scale
        prev_ascii = is_ascii
    return width


def mark_size_pt(chars: int, max_pt: float = MARK_MAX_SIZE_PT) -> int:
    """Largest whole size up to max_pt that keeps `chars` full-width characters on one 156 mm line."""
    return int(min(max_pt, CONTENT_W_PT // max(chars, 1)))


def mark_lines_below(em_bottom_pt: float) -> int:
    """Grid line of the 发文字号 when the 标志 ends at em_bottom_pt below the 版心 top: 标志下空二行.

    The single 42 pt 标志 ends at 141.2 pt (4.88 lines), so the 发文字号 is on line 7, as DOC_NUMBER_LINE.
    """
    return math.ceil(em_bottom_pt / (LINE_PITCH_TWIPS / 20) - 1e-6) + 2


# 份号 → 密级和保密期限 → 紧急程度 (§7.2.1–7.2.3): one per line from grid line 0, 顶格; they fit above the 标志,
# whose em top is 3.4 lines down.
HEADER_MARK_FONTS = {"copy": FONT_FANGSONG, "secrecy": FONT_HEITI, "urgency": FONT_HEITI}

# 联合行文 标志 (§7.2.5): names stacked (主办机关 first), the suffix ("文件") to their right, centred on them.
JOINT_LINE_FACTOR = 1.25  # name line pitch as a multiple of the size
JOINT_SUFFIX_GAP_EM = 0.5


@dataclass(frozen=True)
class JointMark:
    size: float
    names: list[str]
    suffix: str
    line_pt: float  # pitch between the names' em tops
    names_x0_pt: float  # name column's left edge, from the 版心 left
    names_w_pt: float  # names are centred in this column
    suffix_x0_pt: float
    name_em_tops_pt: list[float]  # from the 版心 top
    suffix_em_top_pt: float
    em_bottom_pt: float  # of the last name

    @property
    def number_line(self) -> int:
        return mark_lines_below(self.em_bottom_pt)

    def char_spacing_pt(self, name: str) -> float:
        """Extra advance after each character but the last, so every name spans the column (分散对齐)."""
        return (self.names_w_pt - len(name) * self.size) / (len(name) - 1) if len(name) > 1 else 0.0


def joint_mark(names: list[str], suffix: str) -> JointMark:
    longest = max(len(n) for n in names)
    extra = (len(suffix) + JOINT_SUFFIX_GAP_EM) if suffix else 0
    size = int(min(MARK_MAX_SIZE_PT, CONTENT_W_PT // (longest + extra)))
    names_w = longest * size
    total = names_w + extra * size
    x0 = (CONTENT_W_PT - total) / 2
    line = JOINT_LINE_FACTOR * size
    top = MARK_OFFSET_MM * PT_PER_MM
    tops = [top + i * line for i in range(len(names))]
    bottom = tops[-1] + size
    return JointMark(size=size, names=list(names), suffix=suffix, line_pt=line, names_x0_pt=x0, names_w_pt=names_w,
                     suffix_x0_pt=x0 + names_w + JOINT_SUFFIX_GAP_EM * size,
                     name_em_tops_pt=tops, suffix_em_top_pt=(top + bottom) / 2 - size / 2, em_bottom_pt=bottom)


# Text boxes (wps) for the 联合行文 and 信函 标志: an exact line L inside a box with zero insets puts the baseline at
# 0.8·L below the box top (STACK §13), so box top = em top − (0.8·L − 0.879·S).
def box_line_twips(size_pt: float) -> int:
    return round(size_pt * 1.25 * 20)


def box_top_for_em_top_pt(em_top_pt: float, size_pt: float) -> float:
    return em_top_pt - (MARK_BASELINE_FRACTION * box_line_twips(size_pt) / 20 - EM_ASCENT * size_pt)


# 信函格式 (§10.1).
LETTER_MARK_TOP_MM = 30.0  # 标志上边缘至上页边
LETTER_RULE_LENGTH_MM = 170.0
LETTER_RULE_X0_MM = (210 - LETTER_RULE_LENGTH_MM) / 2
LETTER_RULE_GAP_MM = 4.0  # 标志下4 mm
LETTER_BOTTOM_RULE_MM = 297 - 20.0  # 距下页边20 mm: the lower (thick) line's bottom edge
# The standard fixes neither weight; common practice (文武线): thick 2.25 pt, thin 0.75 pt, 0.75 mm apart.
LETTER_THICK_PT = 2.25
LETTER_THIN_PT = 0.75
LETTER_DOUBLE_GAP_MM = 0.75
LETTER_NUMBER_GAP_PT = 7 / 8 * BODY_SIZE_PT  # 发文字号 below the first double line by 7/8 of a 3号 character
OFFGRID_EM_TOP_PT = MARK_BASELINE_FRACTION * LINE_PITCH_TWIPS / 20 - EM_ASCENT * BODY_SIZE_PT  # 9.10 pt


@dataclass(frozen=True)
class LetterHead:
    mark_size: float
    mark_em_top_mm: float  # from the page top
    rules: list[tuple[float, float]]  # (centre y mm from the page top, weight pt), top pair then bottom pair
    first_rule_bottom_mm: float
    number_em_top_mm: float
    before_twips: int  # space before the first header line (off-grid, exact LINE_PITCH), from the 版心 top
    block_pitches: int  # grid lines the header block takes (the last line padded to a whole pitch)
    lines: int  # header text lines (发文字号 with 份号, then 密级/紧急程度)

    @property
    def after_twips(self) -> int:
        return self.block_pitches * LINE_PITCH_TWIPS - self.before_twips - self.lines * LINE_PITCH_TWIPS


def letter_head(mark_chars: int, header_lines: int) -> LetterHead:
    size = mark_size_pt(mark_chars)
    mark_bottom = LETTER_MARK_TOP_MM + size / PT_PER_MM
    thick, thin, gap = LETTER_THICK_PT / PT_PER_MM, LETTER_THIN_PT / PT_PER_MM, LETTER_DOUBLE_GAP_MM
    top_thick = mark_bottom + LETTER_RULE_GAP_MM + thick / 2  # 上粗下细
    top_thin = top_thick + thick / 2 + gap + thin / 2
    first_bottom = top_thin + thin / 2
    bottom_thick = LETTER_BOTTOM_RULE_MM - thick / 2  # 上细下粗
    bottom_thin = bottom_thick - thick / 2 - gap - thin / 2
    number_top = first_bottom + LETTER_NUMBER_GAP_PT / PT_PER_MM
    before = round(((number_top - 37.0) * PT_PER_MM - OFFGRID_EM_TOP_PT) * 20)
    lines = max(header_lines, 1)
    pitches = math.ceil((before + lines * LINE_PITCH_TWIPS) / LINE_PITCH_TWIPS - 1e-9)
    return LetterHead(size, LETTER_MARK_TOP_MM,
                      [(top_thick, LETTER_THICK_PT), (top_thin, LETTER_THIN_PT),
                       (bottom_thin, LETTER_THIN_PT), (bottom_thick, LETTER_THICK_PT)],
                      first_bottom, number_top, before, pitches, lines)


# 正文 tables (§8 gives no type rules; 附件格式同正文): 3号仿宋 cells (header row 黑体) on the line grid, 0.5 pt
# borders, 1 mm side padding, column widths by content.
TABLE_BORDER_SZ = 4  # eighths of a point
TABLE_PAD_MM = 1.0
# Rows snap to the grid (§5.2.3: 22 lines on every page, table pages too). Left to itself LibreOffice makes each row
# its grid lines plus the border width (0.45–0.57 pt), so a page holding a table lost its 22nd line. The DOCX gives
# every row an exact height of whole pitches, `table_row_lines`; LO then draws the table's top border outside the
# first row (measured: the text after the table sat 0.5 pt low), so the first row is one border width shorter.
TABLE_BORDER_TWIPS = TABLE_BORDER_SZ * 20 // 8  # 10 twips = 0.5 pt
# A row taller than this is left to grow and split across pages (an exact-height row cannot break).
TABLE_MAX_EXACT_LINES = LINES_PER_PAGE - 2

# 标点禁则: marks that may not start a line, and marks that may not end one.
NO_LINE_START = "，。、；：？！）》」』”’〉】〕…—·％‰"
NO_LINE_END = "（《「『“‘〈【〔"
# Widest of the two renderers' advances, so a line the estimate says fits also fits in LibreOffice (15.75 pt) and
# in the PDF (15.79 pt).
_WRAP_CJK_PT = BODY_SIZE_PT * 0.98705
_WRAP_ASCII_PT = LATIN_DIGIT_ADVANCE_PT


def wrapped_lines(text: str, width_pt: float) -> int:
    """Lines a 16 pt paragraph of `text` takes at `width_pt`, erring on the side of one too many.

    Breaks anywhere between ideographs, not inside a run of ASCII letters and digits (unless it is longer than the
    line), with LO's 0.2 em CJK↔Latin gaps, and 标点禁则: a closing mark that does not fit takes the character before
    it to the next line (LibreOffice would rather hang it; counting a line too many only leaves a cell's last grid
    line empty, counting one too few would clip it).
    """
    tokens = [m.group() for m in re.finditer(r"[A-Za-z0-9.,%+\-/:@_#&]+|\s+|.", text.strip())]
    if not tokens:
        return 1

    def advance(tok: str) -> float:
        return sum(_WRAP_ASCII_PT if ch.isascii() else _WRAP_CJK_PT for ch in tok)

    lines, line = 1, []  # tokens on the current line

    def width_of(toks: list[str]) -> float:
        w, prev = 0.0, None
        for t in toks:
            asc = t[0].isascii()
            w += advance(t) + (CJK_LATIN_GAP_PT if prev is not None and prev != asc and not t.isspace() else 0.0)
            prev = asc
        return w

    for tok in tokens:
        if width_of([*line, tok]) <= width_pt + 1e-6:
            line.append(tok)
            continue
        if tok.isspace():  # a space at the break is dropped
            lines, line = lines + 1, []
            continue
        carried: list[str] = []
        if tok in NO_LINE_START and line:
            carried.insert(0, line.pop())
        while line and line[-1] in NO_LINE_END:
            carried.insert(0, line.pop())
        lines += 1
        line = [*carried, tok]
        while width_of(line) > width_pt + 1e-6 and len(line) == 1 and len(tok) > 1:  # one ASCII run too long
            fit = max(1, int(width_pt // _WRAP_ASCII_PT))
            tok = tok[fit:]
            lines += 1
            line = [tok]
    return lines


def table_row_lines(rows: list[list[str]], widths: list[float]) -> list[int]:
    """Grid lines each table row takes: its tallest cell's `wrapped_lines` inside the cell margins."""
    pad = 2 * TABLE_PAD_MM * PT_PER_MM
    return [max(wrapped_lines(cell, w - pad) for cell, w in zip(row + [""] * (len(widths) - len(row)), widths,
                                                                  strict=True))
            for row in rows]


def table_column_widths(rows: list[list[str]], total_pt: float = CONTENT_W_PT) -> list[float]:
    """Column widths in pt summing to total_pt: each column's cell margins plus a share of the rest proportional to
    its longest cell (2–14 字), so a 2-字 heading such as "序号" is not broken by the margins."""
    cols = max(len(r) for r in rows)
    want = []
    for c in range(cols):
        longest = max((len(r[c]) for r in rows if c < len(r)), default=1)
        want.append(min(max(longest, 2), 14))
    pad = 2 * TABLE_PAD_MM * PT_PER_MM
    scale = (total_pt - cols * pad) / sum(want)
    return [w * scale + pad for w in want]


# 纪要 出席/请假/列席 (§10.3): "出席：" 黑体 at 左空二字, names 仿宋; continuation lines align after the colon.
ATTENDANCE_LABEL_CHARS = 3  # "出席："
