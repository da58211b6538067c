"""GB/T 9704-2012 geometry shared by the DOCX renderer and the checker.

Numbers come from DOMAIN.md §1.1–§1.5 (the standard) and STACK.md §13 (what LibreOffice 7.4 does with them,
measured). Units: twips (1/20 pt) for OOXML sizes, EMU (1/36000 mm) for drawings.
"""

from __future__ import annotations

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
