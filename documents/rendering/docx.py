"""GB/T 9704-2012 DOCX rendering with python-docx (geometry from STACK.md §13, rules from DOMAIN.md §1).

Every element gets its own paragraph style ("GB …") so the checker and later importers can find it; fonts are set
by name on the style, including w:eastAsia (python-docx's font.name sets only ascii/hAnsi).
"""

from __future__ import annotations

import io

from docx import Document
from docx.enum.section import WD_SECTION
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_TAB_ALIGNMENT
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor, Twips
from docx.styles.style import ParagraphStyle, StyleFactory
from docx.text.paragraph import Paragraph
from lxml import etree

from documents.rendering import geometry as g
from documents.rendering.fonts import FontSet
from documents.rendering.layout import layout_signatures
from documents.rendering.merge import page_pictures
from documents.rendering.spec import (
    BodyBlock,
    DocumentSpec,
    TableBlock,
    cn_ordinal,
    format_cn_date,
    heading_prefix,
    numbered_blocks,
)
from documents.rendering.text import clean_spec, xml_attr, xml_text

__all__ = ["cn_ordinal", "heading_prefix", "render_docx"]  # ordinals re-exported for existing imports

STYLE_MARK = "GB Mark"
STYLE_DOC_NUMBER = "GB DocNumber"
STYLE_TITLE = "GB Title"
STYLE_RECIPIENTS = "GB Recipients"
STYLE_BODY = "GB Body"
STYLE_HEADINGS = {1: "GB Heading 1", 2: "GB Heading 2", 3: "GB Heading 3", 4: "GB Heading 4"}
STYLE_ATTACHMENT = "GB Attachment"
STYLE_SIGNATURE = "GB Signature"
STYLE_DATE = "GB Date"
STYLE_NOTES = "GB Notes"
STYLE_COLOPHON = "GB Colophon"
STYLE_PAGE_NUMBER = "GB PageNumber"
STYLE_BLANK = "GB Blank"
STYLE_HEADER_MARK = "GB HeaderMark"  # a 份号/密级/紧急程度 line (standard and 纪要 layouts)
CHAR_HEADER_MARKS = {"copy": "GB CopyNumber Char", "secrecy": "GB Secrecy Char", "urgency": "GB Urgency Char"}
STYLE_TABLE_CELL = "GB TableCell"
STYLE_TABLE_HEAD = "GB TableHead"
STYLE_ATTACHMENT_LABEL = "GB AttachmentLabel"
STYLE_ATTACHMENT_TITLE = "GB AttachmentTitle"
STYLE_ATTACHMENT_PICTURE = "GB AttachmentPicture"  # one page of an uploaded 附件, as a picture in the 版心
# The picture's line is a little taller than the picture (font descent): leave room so it never spills a page.
ATTACHMENT_PICTURE_SLACK_MM = 8
STYLE_ATTENDANCE = "GB Attendance"
CHAR_ATTENDANCE_LABEL = "GB AttendanceLabel Char"
STYLE_BOX = "GB Box"  # paragraphs inside text boxes (版记 table's trailing paragraph)

HEADING_FONTS = {1: g.FONT_HEITI, 2: g.FONT_KAITI, 3: g.FONT_FANGSONG, 4: g.FONT_FANGSONG}
UPWARD_CATEGORY = "上行文"  # core_properties.category, so the checker knows to require 签发人
# core_properties.keywords carries the layout and whether the document is sealed, so the checker picks its rules.
KEYWORD_LAYOUT = "gbt9704-layout:"
KEYWORD_SEALED = "gbt9704-sealed:"


def layout_keywords(layout: str, sealed: bool) -> str:
    return f"{KEYWORD_LAYOUT}{layout} {KEYWORD_SEALED}{int(sealed)}"


def parse_layout_keywords(keywords: str) -> tuple[str | None, bool | None]:
    layout = sealed = None
    for token in (keywords or "").split():
        if token.startswith(KEYWORD_LAYOUT):
            layout = token[len(KEYWORD_LAYOUT) :]
        elif token.startswith(KEYWORD_SEALED):
            sealed = token[len(KEYWORD_SEALED) :] == "1"
    return layout, sealed


def set_fonts(rpr_owner, name: str) -> None:
    """Set ascii/hAnsi/eastAsia/cs to one font name on a run or style's rPr."""
    rpr = rpr_owner.get_or_add_rPr()
    rfonts = rpr.find(qn("w:rFonts"))
    if rfonts is None:
        rfonts = OxmlElement("w:rFonts")
        rpr.insert(0, rfonts)
    for attr in list(rfonts.attrib):
        if attr.endswith("Theme") or attr.endswith("theme"):
            del rfonts.attrib[attr]  # theme fonts win over explicit names in Word
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        rfonts.set(qn(attr), name)


# Successors in the OOXML schema sequence, so inserted children keep the order Word validates.
_RPR_AFTER_SPACING = ("w:w", "w:kern", "w:position", "w:sz", "w:szCs", "w:highlight", "w:u", "w:effect", "w:bdr",
                      "w:shd", "w:fitText", "w:vertAlign", "w:rtl", "w:cs", "w:em", "w:lang", "w:eastAsianLayout")
_PPR_AFTER_WIDOW = ("w:numPr", "w:suppressLineNumbers", "w:pBdr", "w:shd", "w:tabs", "w:suppressAutoHyphens",
                    "w:kinsoku", "w:wordWrap", "w:overflowPunct", "w:topLinePunct", "w:autoSpaceDE", "w:autoSpaceDN",
                    "w:bidi", "w:adjustRightInd", "w:snapToGrid", "w:spacing", "w:ind", "w:contextualSpacing",
                    "w:mirrorIndents", "w:suppressOverlap", "w:jc", "w:textDirection", "w:textAlignment",
                    "w:textboxTightWrap", "w:outlineLvl", "w:divId", "w:cnfStyle", "w:rPr", "w:sectPr",
                    "w:pPrChange")
_PPR_AFTER_SNAP = _PPR_AFTER_WIDOW[_PPR_AFTER_WIDOW.index("w:snapToGrid") + 1 :]


def _set_char_spacing(rpr_owner, twentieths: int) -> None:
    rpr = rpr_owner.get_or_add_rPr()
    sp = rpr.find(qn("w:spacing"))
    if sp is None:
        sp = OxmlElement("w:spacing")
        rpr.insert_element_before(sp, *_RPR_AFTER_SPACING)
    sp.set(qn("w:val"), str(twentieths))


def _exact_line(style: ParagraphStyle, twips: int, before: int = 0, after: int = 0) -> None:
    pf = style.paragraph_format
    pf.line_spacing = Twips(twips)  # a Length → lineRule="exact"
    pf.space_before = Twips(before)
    pf.space_after = Twips(after)


def _off_grid(style: ParagraphStyle) -> None:
    ppr = style.element.get_or_add_pPr()
    snap = OxmlElement("w:snapToGrid")
    snap.set(qn("w:val"), "0")
    ppr.insert_element_before(snap, *_PPR_AFTER_SNAP)


def _sid(name: str) -> str:
    """The styleId python-docx gives a custom style: its name without spaces."""
    return name.replace(" ", "")


# python-docx resolves a style *name* by scanning every style of the template (and the default style of its type)
# on each assignment: ~2 ms a paragraph. Our styles are created here with known ids, so set the ids directly.
def _para(container, text: str = "", style: str | None = None) -> Paragraph:
    p = container.add_paragraph(text)
    if style is not None:
        p._p.style = _sid(style)
    return p


def _set_style(p: Paragraph, style: str) -> None:
    p._p.style = _sid(style)


def _set_run_style(run, style: str) -> None:
    run._r.style = _sid(style)


def _add_style(doc, name: str, style_type):
    # Skips python-docx's duplicate-name scan; the names are ours and unique. styleId is _sid(name).
    return StyleFactory(doc.styles.element.add_style_of_type(name, style_type, False))


def _style(doc, name: str, font: str, size_pt: float, **kw) -> ParagraphStyle:
    st = _add_style(doc, name, WD_STYLE_TYPE.PARAGRAPH)
    st.element.basedOn_val = "Normal"
    st.font.size = Pt(size_pt)
    set_fonts(st.element, font)
    if kw.get("align") is not None:
        st.paragraph_format.alignment = kw["align"]
    return st


def _setup_defaults(doc) -> None:
    styles = doc.styles.element
    # python-docx's template carries theme fonts, 11 pt and after=200/line=276 (STACK §13); replace them.
    rpr_default = styles.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    rfonts = rpr_default.find(qn("w:rFonts"))
    for attr in list(rfonts.attrib):
        del rfonts.attrib[attr]
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        rfonts.set(qn(attr), g.FONT_FANGSONG)
    rpr_default.find(qn("w:sz")).set(qn("w:val"), str(g.BODY_SIZE_PT * 2))
    rpr_default.find(qn("w:szCs")).set(qn("w:val"), str(g.BODY_SIZE_PT * 2))
    lang = rpr_default.find(qn("w:lang"))
    lang.set(qn("w:val"), "zh-CN")
    lang.set(qn("w:eastAsia"), "zh-CN")
    spacing = styles.find(qn("w:docDefaults")).find(qn("w:pPrDefault")).find(qn("w:pPr")).find(qn("w:spacing"))
    for attr in list(spacing.attrib):
        del spacing.attrib[attr]
    spacing.set(qn("w:before"), "0")
    spacing.set(qn("w:after"), "0")
    spacing.set(qn("w:line"), str(g.LINE_PITCH_TWIPS))
    spacing.set(qn("w:lineRule"), "exact")

    normal = doc.styles["Normal"]
    normal.font.size = Pt(g.BODY_SIZE_PT)
    set_fonts(normal.element, g.FONT_FANGSONG)
    _set_char_spacing(normal.element, g.CHAR_SPACING_TWENTIETHS)
    _exact_line(normal, g.LINE_PITCH_TWIPS)
    widow = OxmlElement("w:widowControl")
    widow.set(qn("w:val"), "0")  # widow/orphan control left body pages with 21 lines (STACK §13)
    ppr = normal.element.get_or_add_pPr()
    ppr.insert_element_before(widow, *_PPR_AFTER_WIDOW)
    # 标点禁则 on, hanging punctuation off: LibreOffice otherwise hangs a ，or 。 falling in column 29 in the right
    # margin (ink to 189.3 mm, 5.3 mm past the 版心). LO 7.4 reads w:overflowPunct inverted (its import sets
    # "hanging punctuation" = (val == 0), STACK §13), so val="1" keeps every glyph inside the 版心 and the mark takes
    # the character before it to the next line; the PDF breaks the same way (linebreak.py). Word reads val="1" as
    # its default "allow hanging punctuation" (not verified here).
    for tag, successors in (("w:kinsoku", _PPR_AFTER_WIDOW[_PPR_AFTER_WIDOW.index("w:kinsoku") + 1 :]),
                            ("w:overflowPunct", _PPR_AFTER_WIDOW[_PPR_AFTER_WIDOW.index("w:overflowPunct") + 1 :])):
        el = OxmlElement(tag)
        el.set(qn("w:val"), "1")
        ppr.insert_element_before(el, *successors)

    doc.settings.odd_and_even_pages_header_footer = True


def _setup_section(doc) -> None:
    sec = doc.sections[0]
    sec.start_type = WD_SECTION.NEW_PAGE
    sec.page_width, sec.page_height = Twips(g.PAGE_W_TWIPS), Twips(g.PAGE_H_TWIPS)
    sec.top_margin, sec.bottom_margin = Twips(g.MARGIN_TOP_TWIPS), Twips(g.MARGIN_BOTTOM_TWIPS)
    sec.left_margin, sec.right_margin = Twips(g.MARGIN_LEFT_TWIPS), Twips(g.MARGIN_RIGHT_TWIPS)
    sec.header_distance = Twips(851)
    sec.footer_distance = Twips(g.FOOTER_DISTANCE_TWIPS)
    sectpr = sec._sectPr
    for old in sectpr.findall(qn("w:docGrid")):
        sectpr.remove(old)
    grid = OxmlElement("w:docGrid")
    grid.set(qn("w:type"), "lines")  # not linesAndChars: LO mishandles a negative charSpace (STACK §13)
    grid.set(qn("w:linePitch"), str(g.LINE_PITCH_TWIPS))
    sectpr.append(grid)


def _add_field_page(paragraph: Paragraph) -> None:
    for kind, text in (("begin", None), (None, " PAGE "), ("separate", None), (None, "1"), ("end", None)):
        run = paragraph.add_run()
        if kind:
            fc = OxmlElement("w:fldChar")
            fc.set(qn("w:fldCharType"), kind)
            run._r.append(fc)
        elif text == " PAGE ":
            it = OxmlElement("w:instrText")
            it.set(qn("xml:space"), "preserve")
            it.text = text
            run._r.append(it)
        else:
            run.text = text


def _setup_footers(doc, *, no_first_page_number: bool) -> None:
    st = _style(doc, STYLE_PAGE_NUMBER, g.FONT_SONGTI, g.PAGE_NUMBER_SIZE_PT)
    _set_char_spacing(st.element, 0)  # Normal carries −0.25 pt
    _exact_line(st, g.FOOTER_LINE_TWIPS)
    _off_grid(st)
    sec = doc.sections[0]
    if no_first_page_number:  # 信函首页不显示页码 (§10.1): titlePg with an empty first-page footer
        sec.different_first_page_header_footer = True
        sec.first_page_footer.is_linked_to_previous = False
    # 单页码居右空一字, 双页码居左空一字 (§7.5); one 字 of 四号 = 14 pt.
    for footer, odd in ((sec.footer, True), (sec.even_page_footer, False)):
        p = footer.paragraphs[0]
        _set_style(p, STYLE_PAGE_NUMBER)
        if odd:
            p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
            p.paragraph_format.right_indent = Pt(g.PAGE_NUMBER_SIZE_PT)
        else:
            p.alignment = WD_ALIGN_PARAGRAPH.LEFT
            p.paragraph_format.left_indent = Pt(g.PAGE_NUMBER_SIZE_PT)
        p.add_run("— ")
        _add_field_page(p)
        p.add_run(" —")


_NS = ('xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" '
       'xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing" '
       'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
       'xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape"')
_WPS_URI = "http://schemas.microsoft.com/office/word/2010/wordprocessingShape"


def _emu_mm(mm: float) -> int:
    return round(mm * g.EMU_PER_MM)


def _emu_pt(pt: float) -> int:
    return round(pt / g.PT_PER_MM * g.EMU_PER_MM)


class _Shapes:
    """Anchored drawings (lines, text boxes): they sit at page positions and do not disturb the grid (STACK §13)."""

    def __init__(self) -> None:
        self.next_id = 1

    def _anchor(self, paragraph: Paragraph, *, name: str, wsp: str, cx: int, cy: int, h_from: str, x: int,
                v_from: str, y: int | None = None, v_align: str | None = None, wrap: str = "<wp:wrapNone/>") -> None:
        shape_id, self.next_id = self.next_id, self.next_id + 1
        pos_v = f"<wp:align>{v_align}</wp:align>" if v_align else f"<wp:posOffset>{y}</wp:posOffset>"
        xml = f"""<w:r {_NS}><w:drawing>
  <wp:anchor distT="0" distB="0" distL="0" distR="0" simplePos="0" relativeHeight="{251659264 + shape_id}"
             behindDoc="0" locked="1" layoutInCell="1" allowOverlap="1">
   <wp:simplePos x="0" y="0"/>
   <wp:positionH relativeFrom="{h_from}"><wp:posOffset>{x}</wp:posOffset></wp:positionH>
   <wp:positionV relativeFrom="{v_from}">{pos_v}</wp:positionV>
   <wp:extent cx="{cx}" cy="{cy}"/>
   <wp:effectExtent l="0" t="0" r="0" b="0"/>
   {wrap}
   <wp:docPr id="{shape_id}" name={xml_attr(name)}/>
   <wp:cNvGraphicFramePr/>
   <a:graphic><a:graphicData uri="{_WPS_URI}">{wsp}</a:graphicData></a:graphic>
  </wp:anchor></w:drawing></w:r>"""
        paragraph._p.append(parse_xml(xml))

    def line(self, paragraph: Paragraph, *, name: str, y_mm: float, length_mm: float, weight_pt: float,
             x_mm: float = 0.0, h_from: str = "margin", colour: str = g.RED) -> None:
        # cy=0: posOffset is the line's centre.
        cx = _emu_mm(length_mm)
        wsp = f"""<wps:wsp><wps:cNvCnPr/><wps:spPr>
       <a:xfrm><a:off x="0" y="0"/><a:ext cx="{cx}" cy="0"/></a:xfrm>
       <a:prstGeom prst="line"><a:avLst/></a:prstGeom>
       <a:ln w="{_emu_pt(weight_pt)}"><a:solidFill><a:srgbClr val="{colour}"/></a:solidFill></a:ln>
      </wps:spPr><wps:bodyPr/></wps:wsp>"""
        self._anchor(paragraph, name=name, wsp=wsp, cx=cx, cy=0, h_from=h_from, x=_emu_mm(x_mm), v_from="page",
                     y=_emu_mm(y_mm))

    def text_box(self, paragraph: Paragraph, *, name: str, content: str, x_pt: float, width_pt: float,
                 height_pt: float, y_mm: float | None = None, v_from: str = "page", v_align: str | None = None,
                 wrap: str = "<wp:wrapNone/>") -> None:
        """A borderless box with zero insets at x_pt from the 版心 left; content is w:p/w:tbl XML."""
        cx, cy = _emu_pt(width_pt), _emu_pt(height_pt)
        wsp = f"""<wps:wsp><wps:cNvSpPr txBox="1"/><wps:spPr>
       <a:xfrm><a:off x="0" y="0"/><a:ext cx="{cx}" cy="{cy}"/></a:xfrm>
       <a:prstGeom prst="rect"><a:avLst/></a:prstGeom><a:noFill/><a:ln><a:noFill/></a:ln>
      </wps:spPr><wps:txbx><w:txbxContent>{content}</w:txbxContent></wps:txbx>
      <wps:bodyPr rot="0" vert="horz" wrap="square" lIns="0" tIns="0" rIns="0" bIns="0" anchor="t" anchorCtr="0">
       <a:noAutofit/></wps:bodyPr></wps:wsp>"""
        self._anchor(paragraph, name=name, wsp=wsp, cx=cx, cy=cy, h_from="margin", x=_emu_pt(x_pt), v_from=v_from,
                     y=None if y_mm is None else _emu_mm(y_mm), v_align=v_align, wrap=wrap)


def _mark_paragraph_xml(runs: list[tuple[str, float]], size: float, align: str) -> str:
    """A 标志 line for a text box: GB Mark style (red 小标宋), off the grid, exact line box_line_twips(size)."""
    half_points = round(size * 2)
    rs = "".join(
        f'<w:r><w:rPr><w:spacing w:val="{round(sp * 20)}"/><w:sz w:val="{half_points}"/>'
        f'<w:szCs w:val="{half_points}"/></w:rPr><w:t xml:space="preserve">{xml_text(text)}</w:t></w:r>'
        for text, sp in runs if text
    )
    return (f'<w:p {_NS}><w:pPr><w:pStyle w:val="{STYLE_MARK.replace(" ", "")}"/><w:snapToGrid w:val="0"/>'
            f'<w:spacing w:before="0" w:after="0" w:line="{g.box_line_twips(size)}" w:lineRule="exact"/>'
            f'<w:jc w:val="{align}"/></w:pPr>{rs}</w:p>')


def _title(doc, lines: list[str]) -> Paragraph:
    """标题 (§7.3.1): one paragraph, one run per line joined by explicit breaks, so LibreOffice and Word never re-break
    it (documents.rendering.titles chose the lines; the PDF prints the same ones)."""
    p = _para(doc, style=STYLE_TITLE)
    for n, line in enumerate(lines):
        run = p.add_run(line)
        if n < len(lines) - 1:
            run.add_break()
    return p


def _blank(doc) -> Paragraph:
    return _para(doc, style=STYLE_BLANK)


def _signer_rows(signers: list[str]) -> list[str]:
    # 一般每行排两个姓名 (§7.2.6).
    return ["　".join(signers[i : i + 2]) for i in range(0, len(signers), 2)]


def _styles(doc) -> None:
    """Every "GB …" style the renderer and the checker use, created up front."""
    center, left = WD_ALIGN_PARAGRAPH.CENTER, WD_ALIGN_PARAGRAPH.LEFT
    justify, right = WD_ALIGN_PARAGRAPH.JUSTIFY, WD_ALIGN_PARAGRAPH.RIGHT
    _style(doc, STYLE_BLANK, g.FONT_FANGSONG, g.BODY_SIZE_PT)
    _style(doc, STYLE_HEADER_MARK, g.FONT_FANGSONG, g.BODY_SIZE_PT, align=left)
    for kind, name in CHAR_HEADER_MARKS.items():
        cs = _add_style(doc, name, WD_STYLE_TYPE.CHARACTER)
        set_fonts(cs.element, g.HEADER_MARK_FONTS[kind])  # 份号 仿宋 digits; 密级、紧急程度 3号黑体
    st = _style(doc, STYLE_MARK, g.FONT_XIAOBIAOSONG, g.MARK_MAX_SIZE_PT, align=center)
    st.font.color.rgb = RGBColor.from_string(g.RED)
    _set_char_spacing(st.element, 0)
    _off_grid(st)
    _style(doc, STYLE_DOC_NUMBER, g.FONT_FANGSONG, g.BODY_SIZE_PT, align=center)
    _style(doc, STYLE_TITLE, g.FONT_XIAOBIAOSONG, g.TITLE_SIZE_PT, align=center)
    _style(doc, STYLE_RECIPIENTS, g.FONT_FANGSONG, g.BODY_SIZE_PT, align=left)
    body = _style(doc, STYLE_BODY, g.FONT_FANGSONG, g.BODY_SIZE_PT, align=justify)
    body.paragraph_format.first_line_indent = Pt(2 * g.CHAR_ADVANCE_PT)
    for level, font in HEADING_FONTS.items():
        hs = _style(doc, STYLE_HEADINGS[level], font, g.BODY_SIZE_PT, align=justify)
        hs.paragraph_format.first_line_indent = Pt(2 * g.CHAR_ADVANCE_PT)
    _style(doc, STYLE_TABLE_CELL, g.FONT_FANGSONG, g.BODY_SIZE_PT, align=left)
    _style(doc, STYLE_TABLE_HEAD, g.FONT_HEITI, g.BODY_SIZE_PT, align=center)
    _style(doc, STYLE_ATTACHMENT, g.FONT_FANGSONG, g.BODY_SIZE_PT, align=left)
    st = _style(doc, STYLE_ATTENDANCE, g.FONT_FANGSONG, g.BODY_SIZE_PT, align=left)
    hang = g.ATTENDANCE_LABEL_CHARS * g.CHAR_ADVANCE_PT  # 回行时与冒号后的首字对齐
    st.paragraph_format.left_indent = Pt(2 * g.CHAR_ADVANCE_PT + hang)
    st.paragraph_format.first_line_indent = Pt(-hang)
    cs = _add_style(doc, CHAR_ATTENDANCE_LABEL, WD_STYLE_TYPE.CHARACTER)
    set_fonts(cs.element, g.FONT_HEITI)  # “出席”等用3号黑体
    _style(doc, STYLE_SIGNATURE, g.FONT_FANGSONG, g.BODY_SIZE_PT, align=right)
    _style(doc, STYLE_DATE, g.FONT_FANGSONG, g.BODY_SIZE_PT, align=right)
    st = _style(doc, STYLE_NOTES, g.FONT_FANGSONG, g.BODY_SIZE_PT, align=left)
    st.paragraph_format.first_line_indent = Pt(2 * g.CHAR_ADVANCE_PT)
    _style(doc, STYLE_ATTACHMENT_LABEL, g.FONT_HEITI, g.BODY_SIZE_PT, align=left)  # “附件”及顺序号 3号黑体
    _style(doc, STYLE_ATTACHMENT_TITLE, g.FONT_XIAOBIAOSONG, g.TITLE_SIZE_PT, align=center)
    st = _style(doc, STYLE_ATTACHMENT_PICTURE, g.FONT_FANGSONG, 1, align=center)
    st.paragraph_format.line_spacing = 1.0  # single (auto): an exact line height would clip the picture
    st.paragraph_format.space_before = st.paragraph_format.space_after = Twips(0)
    st.paragraph_format.first_line_indent = Twips(0)
    _off_grid(st)
    st = _style(doc, STYLE_COLOPHON, g.FONT_FANGSONG, g.COLOPHON_SIZE_PT, align=left)
    _set_char_spacing(st.element, 0)
    st = _style(doc, STYLE_BOX, g.FONT_FANGSONG, 1)
    _exact_line(st, 20)  # 1 pt: the paragraph a text box needs after its table, and the 版记 box's anchor
    _off_grid(st)


def render_docx(spec: DocumentSpec, fonts: FontSet | None = None) -> bytes:
    """Render the 公文 as DOCX bytes.

    When there is a 版记, the page it lands on (and whether a blank page must precede it, §7.5) is decided by laying
    the document out with the PDF renderer, which uses the same geometry; `fonts` is passed on to it.
    """
    spec = clean_spec(spec)  # no control characters for lxml, no bidi overrides (documents.rendering.text)
    doc = Document()
    body_el = doc.element.body
    for p in list(body_el.iterchildren(qn("w:p"))):  # start from an empty body (the template may carry a paragraph)
        body_el.remove(p)
    _setup_defaults(doc)
    _setup_section(doc)
    _setup_footers(doc, no_first_page_number=spec.layout == "letter")
    doc.core_properties.title = spec.title[:255]  # the core property's limit; the 标题 itself is printed whole
    doc.core_properties.category = UPWARD_CATEGORY if spec.upward else "公文"
    doc.core_properties.keywords = layout_keywords(spec.layout, spec.is_sealed)
    doc.core_properties.language = "zh-CN"
    _styles(doc)
    shapes = _Shapes()

    if spec.layout == "letter":
        _letter_head(doc, spec, shapes)
    else:
        _standard_head(doc, spec, shapes)

    # 标题 (and 主送: 标题下空一行, 居左顶格, 最后标全角冒号).
    _title(doc, spec.title_lines())
    _blank(doc)
    if spec.main_recipients:
        _para(doc, "、".join(spec.main_recipients) + "：", STYLE_RECIPIENTS)

    last = _blocks(doc, spec.body)
    last = _attachment_note(doc, spec) or last
    last = _attendance(doc, spec) or last
    _signatures(doc, spec, last)

    # 附注: 居左空二字加圆括号, 成文日期下一行.
    if spec.notes:
        text = spec.notes if spec.notes.startswith("（") else f"（{spec.notes}）"
        _para(doc, text, STYLE_NOTES)

    for label, page in spec.attachment_page_labels():
        _attachment_page(doc, label, page.title, page.body)
        if page.pdf:
            _attachment_pictures(doc, page.pdf)

    if spec.cc or (spec.printing_org and spec.layout != "letter"):
        from documents.rendering.pdf import plan_colophon  # reportlab only when a 版记 needs placing

        _colophon(doc, spec, plan_colophon(spec, fonts).mode, shapes)

    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def _header_mark_run(p: Paragraph, kind: str, text: str) -> None:
    run = p.add_run(text)
    _set_run_style(run, CHAR_HEADER_MARKS[kind])


def _standard_head(doc, spec: DocumentSpec, shapes: _Shapes) -> None:
    """文件格式 and 纪要格式 版头: 份号/密级/紧急程度, 标志 35 mm below the 版心 top, 发文字号, red rule."""
    marks = spec.header_marks()
    paragraphs: list[Paragraph] = []
    for kind, text in marks:  # one per line from grid line 0, 顶格 (§7.2.1–7.2.3)
        p = _para(doc, style=STYLE_HEADER_MARK)
        _header_mark_run(p, kind, text)
        paragraphs.append(p)
    if spec.issuer_names:
        joint = g.joint_mark(spec.issuer_names, spec.issuer_mark_suffix)
        first_line = joint.number_line
        while len(paragraphs) < first_line:  # reserve the lines the boxes cover; they take no room themselves
            paragraphs.append(_blank(doc))
        _joint_mark_boxes(paragraphs[0], joint, shapes)
    else:
        # 标志: the first flow paragraph after the header lines, off the grid with an exact line; padded so the
        # block is 6 pitches (STACK §13 "relative grid"), then 空二行 to the 发文字号 on line 7.
        first_line = g.DOC_NUMBER_LINE
        size = g.mark_size_pt(len(spec.issuer_mark))
        line, before = g.mark_line_and_before(size, len(marks))
        after = (g.MARK_BLOCK_PITCHES - len(marks)) * g.LINE_PITCH_TWIPS - before - line
        mark = _para(doc, style=STYLE_MARK)
        pf = mark.paragraph_format
        pf.line_spacing, pf.space_before, pf.space_after = Twips(line), Twips(before), Twips(after)
        mark.add_run(spec.issuer_mark).font.size = Pt(size)
        _blank(doc)
    _doc_number(doc, spec, first_line, shapes)


def _joint_mark_boxes(anchor: Paragraph, joint: g.JointMark, shapes: _Shapes) -> None:
    # 联合行文 (§7.2.5): each name in its own box, 分散对齐 to the longest; the suffix centred on the names.
    top_mm = g.MARGIN_TOP_TWIPS / g.TWIPS_PER_MM
    height = g.box_line_twips(joint.size) / 20
    for name, em_top in zip(joint.names, joint.name_em_tops_pt, strict=True):
        if len(name) > 1:
            runs, align = [(name[:-1], joint.char_spacing_pt(name)), (name[-1], 0.0)], "left"
        else:
            runs, align = [(name, 0.0)], "center"
        y = top_mm + g.box_top_for_em_top_pt(em_top, joint.size) / g.PT_PER_MM
        shapes.text_box(anchor, name="发文机关标志", content=_mark_paragraph_xml(runs, joint.size, align),
                        x_pt=joint.names_x0_pt, width_pt=joint.names_w_pt + 2, height_pt=height, y_mm=y)
    if joint.suffix:
        y = top_mm + g.box_top_for_em_top_pt(joint.suffix_em_top_pt, joint.size) / g.PT_PER_MM
        shapes.text_box(anchor, name="发文机关标志", content=_mark_paragraph_xml([(joint.suffix, 0.0)], joint.size, "left"),
                        x_pt=joint.suffix_x0_pt, width_pt=len(joint.suffix) * joint.size + 2, height_pt=height, y_mm=y)


def _doc_number(doc, spec: DocumentSpec, first_line: int, shapes: _Shapes) -> None:
    """发文字号 on `first_line` (上行文: with 签发人 rows), then the red rule 4 mm below it."""
    left = WD_ALIGN_PARAGRAPH.LEFT
    rows = _signer_rows(spec.signers) if spec.upward else []
    if spec.upward and rows:
        label = "签发人："
        widest = max(len(r) for r in rows) + len(label)
        tab_pos = g.CONTENT_W_PT - g.CHAR_ADVANCE_PT * (widest + 1)  # 居右空一字
        for i, row in enumerate(rows):
            p = _para(doc, style=STYLE_DOC_NUMBER)
            p.alignment = left
            p.paragraph_format.left_indent = Pt(g.CHAR_ADVANCE_PT)  # 发文字号居左空一字
            # Tab stops are measured from the text column's edge, not from the indent.
            p.paragraph_format.tab_stops.add_tab_stop(Pt(tab_pos), WD_TAB_ALIGNMENT.LEFT)
            if i == len(rows) - 1:
                p.add_run(spec.doc_number)
            p.add_run("\t" + (label if i == 0 else "　" * len(label)))
            set_fonts(p.add_run(row)._r, g.FONT_KAITI)  # 签发人姓名用楷体
        number_para = p
    else:
        number_para = _para(doc, spec.doc_number, STYLE_DOC_NUMBER)
        if spec.upward:
            number_para.alignment = left
            number_para.paragraph_format.left_indent = Pt(g.CHAR_ADVANCE_PT)
    number_line = first_line + max(len(rows) - 1, 0)
    rule_y = g.DOC_NUMBER_EM_BOTTOM_MM_LINE7 + (number_line - g.DOC_NUMBER_LINE) * g.LINE_PITCH_MM \
        + g.RED_RULE_GAP_MM
    shapes.line(number_para, name="版头分隔线", y_mm=rule_y, length_mm=g.CONTENT_W_MM,
                weight_pt=g.RED_RULE_LINE_EMU / 12700)
    # 标题: 红色分隔线下空二行.
    _blank(doc)
    _blank(doc)


def _letter_head(doc, spec: DocumentSpec, shapes: _Shapes) -> None:
    """信函格式 (§10.1): 标志 30 mm from the page top, red double lines, 发文字号 顶格居右 under the first pair."""
    marks = spec.header_marks()
    head = g.letter_head(len(spec.issuer_mark), len(marks) or 1)
    lines: list[Paragraph] = []
    for i in range(head.lines):
        p = _para(doc, style=STYLE_DOC_NUMBER if i == 0 else STYLE_HEADER_MARK)
        pf = p.paragraph_format
        p.alignment = WD_ALIGN_PARAGRAPH.LEFT
        # Off the grid with exact lines, the first one positioned 7/8 字 below the double line; the block is padded
        # to whole pitches so the grid below stays aligned.
        ppr = p._p.get_or_add_pPr()
        snap = OxmlElement("w:snapToGrid")
        snap.set(qn("w:val"), "0")
        ppr.insert_element_before(snap, *_PPR_AFTER_SNAP)
        pf.line_spacing = Twips(g.LINE_PITCH_TWIPS)
        pf.space_before = Twips(head.before_twips if i == 0 else 0)
        pf.space_after = Twips(head.after_twips if i == head.lines - 1 else 0)
        if i < len(marks):
            _header_mark_run(p, *marks[i])
        if i == 0:
            pf.tab_stops.add_tab_stop(Pt(g.CONTENT_W_PT), WD_TAB_ALIGNMENT.RIGHT)  # 发文字号 顶格居版心右边缘
            p.add_run("\t" + spec.doc_number)
        lines.append(p)
    anchor = lines[0]
    size = head.mark_size
    box_top = g.box_top_for_em_top_pt(head.mark_em_top_mm * g.PT_PER_MM, size) / g.PT_PER_MM
    shapes.text_box(anchor, name="发文机关标志", content=_mark_paragraph_xml([(spec.issuer_mark, 0.0)], size, "center"),
                    x_pt=0, width_pt=g.CONTENT_W_PT, height_pt=g.box_line_twips(size) / 20, y_mm=box_top)
    for y_mm, weight in head.rules:
        shapes.line(anchor, name="信函红色双线", y_mm=y_mm, length_mm=g.LETTER_RULE_LENGTH_MM, weight_pt=weight,
                    x_mm=g.LETTER_RULE_X0_MM, h_from="page")
    # 标题与其上最后一个要素相距二行.
    _blank(doc)
    _blank(doc)


def _blocks(doc, body: list[BodyBlock | TableBlock]) -> Paragraph | None:
    """正文 paragraphs (左空二字, 回行顶格; ordinals generated) and tables.

    Returns the last paragraph, or — when the body ends with a table — the first paragraph of its last row, whose
    row then carries keep-with-next like a last paragraph would.
    """
    last = None
    for item in numbered_blocks(body):
        if isinstance(item, TableBlock):
            last = _table(doc, item).rows[-1].cells[0].paragraphs[0]
        else:
            level, text = item
            last = _para(doc, text, STYLE_BODY if level == 0 else STYLE_HEADINGS[level])
    return last


def _table(doc, block: TableBlock):
    """A 正文 table 156 mm wide with 0.5 pt borders; cells 3号仿宋 (header row 黑体) on the line grid."""
    widths = g.table_column_widths(block.rows)
    table = doc.add_table(rows=len(block.rows), cols=len(widths))
    table.alignment = WD_TABLE_ALIGNMENT.LEFT
    tbl_pr = table._tbl.tblPr
    w = tbl_pr.find(qn("w:tblW"))
    w.set(qn("w:w"), str(sum(g.mm_to_twips(x / g.PT_PER_MM) for x in widths)))
    w.set(qn("w:type"), "dxa")
    look = tbl_pr.find(qn("w:tblLook"))
    borders = OxmlElement("w:tblBorders")
    for tag in ("w:top", "w:left", "w:bottom", "w:right", "w:insideH", "w:insideV"):
        borders.append(_border(tag, g.TABLE_BORDER_SZ))
    look.addprevious(borders)
    fixed = OxmlElement("w:tblLayout")
    fixed.set(qn("w:type"), "fixed")
    look.addprevious(fixed)
    # LO places the first cell's text (not its border) at tblInd: indent by the cell margin so the borders span
    # 28–184 mm like the PDF's (measured: without it the table sat 1 mm left of the 版心).
    ind = OxmlElement("w:tblInd")
    ind.set(qn("w:w"), str(g.mm_to_twips(g.TABLE_PAD_MM)))
    ind.set(qn("w:type"), "dxa")
    w.addnext(ind)
    margins = OxmlElement("w:tblCellMar")
    for side, value in (("w:top", 0), ("w:left", g.mm_to_twips(g.TABLE_PAD_MM)), ("w:bottom", 0),
                        ("w:right", g.mm_to_twips(g.TABLE_PAD_MM))):
        m = OxmlElement(side)
        m.set(qn("w:w"), str(value))
        m.set(qn("w:type"), "dxa")
        margins.append(m)
    look.addprevious(margins)
    for col, width in zip(table._tbl.tblGrid.findall(qn("w:gridCol")), widths, strict=True):
        col.set(qn("w:w"), str(g.mm_to_twips(width / g.PT_PER_MM)))
    row_lines = g.table_row_lines(block.rows, widths)
    for r, (row, cells) in enumerate(zip(table.rows, block.rows, strict=True)):
        header = block.header and r == 0
        tr_pr = row._tr.get_or_add_trPr()
        if row_lines[r] <= g.TABLE_MAX_EXACT_LINES:
            # Whole grid lines, borders included, so a page with a table still holds 22 lines (geometry.py).
            height = OxmlElement("w:trHeight")
            height.set(qn("w:val"), str(row_lines[r] * g.LINE_PITCH_TWIPS - (g.TABLE_BORDER_TWIPS if r == 0 else 0)))
            height.set(qn("w:hRule"), "exact")
            tr_pr.append(height)
        if header:
            repeat = OxmlElement("w:tblHeader")  # 表头在续页重复
            tr_pr.append(repeat)
        for c, cell in enumerate(row.cells):
            cell.width = Twips(g.mm_to_twips(widths[c] / g.PT_PER_MM))
            p = cell.paragraphs[0]
            _set_style(p, STYLE_TABLE_HEAD if header else STYLE_TABLE_CELL)
            if c < len(cells) and cells[c]:
                p.add_run(cells[c])
    return table


def _attachment_note(doc, spec: DocumentSpec) -> Paragraph | None:
    """附件说明: 正文下空一行左空二字; 回行与附件名称首字对齐 (hanging indent)."""
    if not spec.attachments:
        return None
    _blank(doc)
    label = "附件："
    name_start = g.CHAR_ADVANCE_PT * (2 + len(label))
    many = len(spec.attachments) > 1
    for i, name in enumerate(spec.attachments, start=1):
        ordinal = f"{i}." if many else ""
        hang = g.text_width_pt(ordinal) if ordinal else 0.0
        prefix = (label if i == 1 else "") + ordinal
        p = _para(doc, prefix + name, STYLE_ATTACHMENT)
        p.paragraph_format.left_indent = Pt(name_start + hang)
        first = (2 * g.CHAR_ADVANCE_PT if i == 1 else name_start) - (name_start + hang)
        p.paragraph_format.first_line_indent = Pt(first)
    return p


def _attendance(doc, spec: DocumentSpec) -> Paragraph | None:
    """纪要 (§10.3): 正文或附件说明下空一行; "出席：" 黑体 左空二字, names 仿宋, 回行与冒号后首字对齐."""
    if not spec.attendance:
        return None
    _blank(doc)
    for label, names in spec.attendance:
        p = _para(doc, style=STYLE_ATTENDANCE)
        _set_run_style(p.add_run(f"{label}："), CHAR_ATTENDANCE_LABEL)
        p.add_run("、".join(names))
    return p


def _signatures(doc, spec: DocumentSpec, last: Paragraph | None) -> None:
    """署名 + 成文日期 per documents.rendering.layout (§7.3.5.1 sealed, §7.3.5.2 not), kept with the last paragraph."""
    block = layout_signatures(spec.signatures, format_cn_date(spec.date), sealed=spec.is_sealed,
                              width=g.text_width_pt)
    if last is not None:
        row = _row_of(last)
        for p in [c.paragraphs[0] for c in _cells(row, last)] if row is not None else [last]:
            p.paragraph_format.keep_with_next = True
    for _ in range(block.blank_lines):
        _blank(doc).paragraph_format.keep_with_next = True
    for i, row in enumerate(block.rows()):
        final = i == block.line_count - 1
        if not row:
            p = _blank(doc)
        elif row[0].role == "date":
            t = row[0]
            p = _para(doc, t.text, STYLE_DATE)
            if t.align == "left":
                p.alignment = WD_ALIGN_PARAGRAPH.LEFT
                p.paragraph_format.left_indent = Pt(t.x0)
            else:
                p.paragraph_format.right_indent = Pt(max(g.CONTENT_W_PT - t.x1, 0))
        elif len(row) == 1:
            t = row[0]
            p = _para(doc, t.text, STYLE_SIGNATURE)
            p.paragraph_format.right_indent = Pt(max(g.CONTENT_W_PT - t.x1, 0))
        else:
            # 联合行文: one row of 署名, each centred on its seal's column by a centre tab stop.
            p = _para(doc, style=STYLE_SIGNATURE)
            p.alignment = WD_ALIGN_PARAGRAPH.LEFT
            for t in row:
                p.paragraph_format.tab_stops.add_tab_stop(Pt(t.center), WD_TAB_ALIGNMENT.CENTER)
            p.add_run("".join("\t" + t.text for t in row))
        if not final:
            p.paragraph_format.keep_with_next = True


def _row_of(p: Paragraph):
    """The w:tr a paragraph sits in, or None for a body paragraph."""
    el = p._p.getparent()
    while el is not None and el.tag != qn("w:tr"):
        el = el.getparent()
    return el


def _cells(tr, p: Paragraph) -> list:
    from docx.table import _Cell

    return [_Cell(tc, p._parent) for tc in tr.iterchildren(qn("w:tc"))]


def _attachment_page(doc, label: str, title: str, body: list[BodyBlock | TableBlock]) -> None:
    """附件 (§7.3.7): new page; "附件N" 黑体 顶格 on line 1, title 小标宋 centred on line 3, then the content."""
    p = _para(doc, label, STYLE_ATTACHMENT_LABEL)
    p.paragraph_format.page_break_before = True
    _blank(doc)
    _para(doc, title, STYLE_ATTACHMENT_TITLE)
    _blank(doc)
    _blocks(doc, body)


def _attachment_pictures(doc, pdf: bytes) -> None:
    """An uploaded 附件's pages after its title page, one picture a page scaled into the 版心 (DOCX cannot carry PDF
    pages; the PDF, which is what gets sealed, has them as vector pages with their text)."""
    from PIL import Image

    box_w, box_h = g.CONTENT_W_MM, g.CONTENT_H_MM - ATTACHMENT_PICTURE_SLACK_MM
    for jpeg in page_pictures(pdf):
        with Image.open(io.BytesIO(jpeg)) as im:
            w_px, h_px = im.size
        scale = min(box_w / w_px, box_h / h_px)
        p = _para(doc, style=STYLE_ATTACHMENT_PICTURE)
        p.paragraph_format.page_break_before = True
        p.add_run().add_picture(io.BytesIO(jpeg), width=Mm(w_px * scale), height=Mm(h_px * scale))


def _border(tag: str, sz: int) -> OxmlElement:
    el = OxmlElement(tag)
    el.set(qn("w:val"), "single")
    el.set(qn("w:sz"), str(sz))
    el.set(qn("w:space"), "0")
    el.set(qn("w:color"), "000000")
    return el


def _cc_lines(text: str) -> int:
    """Lines the 抄送 row takes: first line from 一字 in, continuation lines after "抄送：", 右空一字 (四号)."""
    size = g.COLOPHON_SIZE_PT
    first, rest = g.CONTENT_W_PT - 2 * size, g.CONTENT_W_PT - 5 * size
    widths = [0.5 * size if ch.isascii() else size for ch in text]
    lines, used, avail = 1, 0.0, first
    for w in widths:
        if used + w > avail + 1e-6:
            lines, used, avail = lines + 1, 0.0, rest
        used += w
    return lines


def _colophon(doc, spec: DocumentSpec, mode: str, shapes: _Shapes) -> None:
    """版记 (§7.4) as a 156 mm table in a text box whose bottom sits on the 版心's bottom edge (STACK §13).

    `mode` comes from the PDF layout (documents.rendering.pdf.plan_colophon): on the last content page, alone on
    the next page, or — when the content ends on an even page — after a blank page, both pages in a section whose
    footers are empty (版记页前有空白页的，空白页和版记页均不编排页码, §7.5).
    """
    from documents.rendering.pdf import COLOPHON_AFTER_BLANK, COLOPHON_OWN_PAGE

    letter = spec.layout == "letter"
    rows: list[tuple[str, str]] = []
    if spec.cc:
        rows.append(("cc", "抄送：" + "，".join(spec.cc) + "。"))
    if spec.printing_org and not letter:  # 信函的版记不加印发机关和印发日期、分隔线 (§10.1)
        when = format_cn_date(spec.printing_date or spec.date) + "印发"
        rows.append(("print", f"{spec.printing_org}\t{when}"))
    table = doc.add_table(rows=len(rows), cols=1)
    tbl = table._tbl
    tbl.getparent().remove(tbl)  # it lives in the text box, not in the flow
    table.alignment = WD_TABLE_ALIGNMENT.LEFT
    tbl_pr = tbl.tblPr
    width = tbl_pr.find(qn("w:tblW"))
    width.set(qn("w:w"), str(g.mm_to_twips(g.CONTENT_W_MM)))
    width.set(qn("w:type"), "dxa")
    look = tbl_pr.find(qn("w:tblLook"))
    borders = OxmlElement("w:tblBorders")
    for tag, sz in (("w:top", g.COLOPHON_HEAVY_SZ), ("w:bottom", g.COLOPHON_HEAVY_SZ),
                    ("w:insideH", g.COLOPHON_LIGHT_SZ)):
        if letter:
            el = OxmlElement(tag)
            el.set(qn("w:val"), "nil")
            borders.append(el)
        else:
            borders.append(_border(tag, sz))
    look.addprevious(borders)
    margins = OxmlElement("w:tblCellMar")
    for side in ("w:left", "w:right"):
        m = OxmlElement(side)
        m.set(qn("w:w"), "0")
        m.set(qn("w:type"), "dxa")
        margins.append(m)
    look.addprevious(margins)
    tbl.tblGrid.find(qn("w:gridCol")).set(qn("w:w"), str(g.mm_to_twips(g.CONTENT_W_MM)))
    one_char = Pt(g.COLOPHON_SIZE_PT)  # 左右各空一字 of 四号
    total_twips = 0
    for row, (kind, text) in zip(table.rows, rows, strict=True):
        lines = _cc_lines(text) if kind == "cc" else 1
        height = lines * g.LINE_PITCH_TWIPS
        total_twips += height
        tr_h = OxmlElement("w:trHeight")
        tr_h.set(qn("w:val"), str(height))
        tr_h.set(qn("w:hRule"), "exact")
        row._tr.get_or_add_trPr().append(tr_h)
        cell = row.cells[0]
        cell.width = Twips(g.mm_to_twips(g.CONTENT_W_MM))
        cell.vertical_alignment = 1  # CENTER
        p = cell.paragraphs[0]
        _set_style(p, STYLE_COLOPHON)
        p.paragraph_format.left_indent = one_char
        p.paragraph_format.right_indent = one_char
        if kind == "cc":
            # 回行时与冒号后的首字对齐.
            p.paragraph_format.left_indent = Pt(g.COLOPHON_SIZE_PT * 4)
            p.paragraph_format.first_line_indent = Pt(-g.COLOPHON_SIZE_PT * 3)
        else:
            tab = Pt(g.CONTENT_W_PT - g.COLOPHON_SIZE_PT)  # 印发日期右空一字
            p.paragraph_format.tab_stops.add_tab_stop(tab, WD_TAB_ALIGNMENT.RIGHT)
        p.add_run(text)
    content = etree.tostring(tbl, encoding="unicode") + (
        f'<w:p {_NS}><w:pPr><w:pStyle w:val="{STYLE_BOX.replace(" ", "")}"/></w:pPr></w:p>')

    if mode == COLOPHON_AFTER_BLANK:
        # New section: a blank page, then the 版记 page; neither carries a page number.
        doc.add_section(WD_SECTION.NEW_PAGE)
        sec = doc.sections[-1]
        for footer in (sec.footer, sec.even_page_footer, sec.first_page_footer):
            footer.is_linked_to_previous = False
        _blank(doc)
        anchor = _blank(doc)
        anchor.paragraph_format.page_break_before = True
    elif mode == COLOPHON_OWN_PAGE:
        anchor = _blank(doc)
        anchor.paragraph_format.page_break_before = True
    else:
        # A 1 pt paragraph after the last content carries the box: it is surely on the last page (a long last
        # paragraph may start a page earlier, and an anchor inside a table cell would position within the cell).
        anchor = _para(doc, style=STYLE_BOX)
    shapes.text_box(anchor, name="版记", content=content, x_pt=0, width_pt=g.CONTENT_W_PT,
                    height_pt=total_twips / 20, v_from="margin", v_align="bottom", wrap="<wp:wrapTopAndBottom/>")
