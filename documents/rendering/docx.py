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
from docx.shared import Pt, RGBColor, Twips
from docx.styles.style import ParagraphStyle
from docx.text.paragraph import Paragraph

from documents.rendering import geometry as g
from documents.rendering.spec import DocumentSpec, cn_ordinal, format_cn_date, heading_prefix, numbered_body

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

HEADING_FONTS = {1: g.FONT_HEITI, 2: g.FONT_KAITI, 3: g.FONT_FANGSONG, 4: g.FONT_FANGSONG}
UPWARD_CATEGORY = "上行文"  # core_properties.category, so the checker knows to require 签发人

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


def _style(doc, name: str, font: str, size_pt: float, **kw) -> ParagraphStyle:
    st = doc.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
    st.base_style = doc.styles["Normal"]
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
    normal.element.get_or_add_pPr().insert_element_before(widow, *_PPR_AFTER_WIDOW)

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


def _setup_footers(doc) -> None:
    st = _style(doc, STYLE_PAGE_NUMBER, g.FONT_SONGTI, g.PAGE_NUMBER_SIZE_PT)
    _set_char_spacing(st.element, 0)  # Normal carries −0.25 pt
    _exact_line(st, g.FOOTER_LINE_TWIPS)
    _off_grid(st)
    sec = doc.sections[0]
    # 单页码居右空一字, 双页码居左空一字 (§7.5); one 字 of 四号 = 14 pt.
    for footer, odd in ((sec.footer, True), (sec.even_page_footer, False)):
        p = footer.paragraphs[0]
        p.style = doc.styles[STYLE_PAGE_NUMBER]
        if odd:
            p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
            p.paragraph_format.right_indent = Pt(g.PAGE_NUMBER_SIZE_PT)
        else:
            p.alignment = WD_ALIGN_PARAGRAPH.LEFT
            p.paragraph_format.left_indent = Pt(g.PAGE_NUMBER_SIZE_PT)
        p.add_run("— ")
        _add_field_page(p)
        p.add_run(" —")


def _red_rule_run(paragraph: Paragraph, y_mm: float, shape_id: int) -> None:
    # An anchored line drawn at a page position: it does not disturb the grid (STACK §13, unlike pBdr).
    xml = f"""
<w:r xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"
     xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing"
     xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"
     xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape">
 <w:drawing>
  <wp:anchor distT="0" distB="0" distL="0" distR="0" simplePos="0" relativeHeight="251659264" behindDoc="0"
             locked="1" layoutInCell="1" allowOverlap="1">
   <wp:simplePos x="0" y="0"/>
   <wp:positionH relativeFrom="margin"><wp:posOffset>0</wp:posOffset></wp:positionH>
   <wp:positionV relativeFrom="page"><wp:posOffset>{round(y_mm * g.EMU_PER_MM)}</wp:posOffset></wp:positionV>
   <wp:extent cx="{g.RED_RULE_WIDTH_EMU}" cy="0"/>
   <wp:effectExtent l="0" t="0" r="0" b="0"/>
   <wp:wrapNone/>
   <wp:docPr id="{shape_id}" name="版头分隔线"/>
   <wp:cNvGraphicFramePr/>
   <a:graphic>
    <a:graphicData uri="http://schemas.microsoft.com/office/word/2010/wordprocessingShape">
     <wps:wsp>
      <wps:cNvCnPr/>
      <wps:spPr>
       <a:xfrm><a:off x="0" y="0"/><a:ext cx="{g.RED_RULE_WIDTH_EMU}" cy="0"/></a:xfrm>
       <a:prstGeom prst="line"><a:avLst/></a:prstGeom>
       <a:ln w="{g.RED_RULE_LINE_EMU}"><a:solidFill><a:srgbClr val="{g.RED}"/></a:solidFill></a:ln>
      </wps:spPr>
      <wps:bodyPr/>
     </wps:wsp>
    </a:graphicData>
   </a:graphic>
  </wp:anchor>
 </w:drawing>
</w:r>"""
    paragraph._p.append(parse_xml(xml))


def _blank(doc) -> Paragraph:
    return doc.add_paragraph(style=STYLE_BLANK)


def _signer_rows(signers: list[str]) -> list[str]:
    # 一般每行排两个姓名 (§7.2.6).
    return ["　".join(signers[i : i + 2]) for i in range(0, len(signers), 2)]


def render_docx(spec: DocumentSpec) -> bytes:
    doc = Document()
    _setup_defaults(doc)
    _setup_section(doc)
    _setup_footers(doc)
    doc.core_properties.title = spec.title
    doc.core_properties.category = UPWARD_CATEGORY if spec.upward else "公文"
    doc.core_properties.language = "zh-CN"

    center, left, right = WD_ALIGN_PARAGRAPH.CENTER, WD_ALIGN_PARAGRAPH.LEFT, WD_ALIGN_PARAGRAPH.RIGHT
    _style(doc, STYLE_BLANK, g.FONT_FANGSONG, g.BODY_SIZE_PT)

    # 发文机关标志: largest size up to 42 pt that keeps it on one line of the 版心.
    mark_size = min(g.MARK_MAX_SIZE_PT, int(g.CONTENT_W_PT // max(len(spec.issuer_mark), 1)))
    st = _style(doc, STYLE_MARK, g.FONT_XIAOBIAOSONG, mark_size, align=center)
    st.font.color.rgb = RGBColor.from_string(g.RED)
    _set_char_spacing(st.element, 0)
    before = g.mark_space_before_twips(mark_size)
    after = g.MARK_BLOCK_PITCHES * g.LINE_PITCH_TWIPS - before - g.MARK_LINE_TWIPS
    _exact_line(st, g.MARK_LINE_TWIPS, before, after)
    _off_grid(st)
    # The first body paragraph of a new Document is empty; reuse it so the 标志 is first.
    mark = doc.paragraphs[0] if doc.paragraphs else doc.add_paragraph()
    mark.style = st
    mark.add_run(spec.issuer_mark)
    _blank(doc)  # with the 6-pitch block: 发文字号 on grid line 7, 标志下空二行

    # 发文字号 (and 签发人 for 上行文).
    st = _style(doc, STYLE_DOC_NUMBER, g.FONT_FANGSONG, g.BODY_SIZE_PT, align=center)
    rows = _signer_rows(spec.signers) if spec.upward else []
    if spec.upward and rows:
        label = "签发人："
        widest = max(len(r) for r in rows) + len(label)
        tab_pos = g.CONTENT_W_PT - g.CHAR_ADVANCE_PT * (widest + 1)  # 居右空一字
        for i, row in enumerate(rows):
            p = doc.add_paragraph(style=st)
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
        number_para = doc.add_paragraph(spec.doc_number, style=st)
        if spec.upward:
            number_para.alignment = left
            number_para.paragraph_format.left_indent = Pt(g.CHAR_ADVANCE_PT)
    extra_rows = max(len(rows) - 1, 0)
    rule_y = g.DOC_NUMBER_EM_BOTTOM_MM_LINE7 + extra_rows * g.LINE_PITCH_MM + g.RED_RULE_GAP_MM
    _red_rule_run(number_para, rule_y, shape_id=1)

    # 标题: 红色分隔线下空二行.
    _blank(doc)
    _blank(doc)
    doc.add_paragraph(spec.title, style=_style(doc, STYLE_TITLE, g.FONT_XIAOBIAOSONG, g.TITLE_SIZE_PT, align=center))
    _blank(doc)

    # 主送: 居左顶格, 最后标全角冒号.
    st = _style(doc, STYLE_RECIPIENTS, g.FONT_FANGSONG, g.BODY_SIZE_PT, align=left)
    if spec.main_recipients:
        doc.add_paragraph("、".join(spec.main_recipients) + "：", style=st)

    # 正文: 左空二字, 回行顶格; level ordinals generated here.
    body_style = _style(doc, STYLE_BODY, g.FONT_FANGSONG, g.BODY_SIZE_PT, align=WD_ALIGN_PARAGRAPH.JUSTIFY)
    body_style.paragraph_format.first_line_indent = Pt(2 * g.CHAR_ADVANCE_PT)
    for level, font in HEADING_FONTS.items():
        hs = _style(doc, STYLE_HEADINGS[level], font, g.BODY_SIZE_PT, align=WD_ALIGN_PARAGRAPH.JUSTIFY)
        hs.paragraph_format.first_line_indent = Pt(2 * g.CHAR_ADVANCE_PT)
    last = None
    for level, text in numbered_body(spec.body):
        last = doc.add_paragraph(text, style=body_style if level == 0 else STYLE_HEADINGS[level])

    # 附件说明: 正文下空一行左空二字; 回行与附件名称首字对齐 (hanging indent).
    st = _style(doc, STYLE_ATTACHMENT, g.FONT_FANGSONG, g.BODY_SIZE_PT, align=left)
    if spec.attachments:
        _blank(doc)
        label = "附件："
        name_start = g.CHAR_ADVANCE_PT * (2 + len(label))
        many = len(spec.attachments) > 1
        for i, name in enumerate(spec.attachments, start=1):
            ordinal = f"{i}." if many else ""
            hang = g.text_width_pt(ordinal) if ordinal else 0.0
            prefix = (label if i == 1 else "") + ordinal
            p = doc.add_paragraph(prefix + name, style=st)
            p.paragraph_format.left_indent = Pt(name_start + hang)
            first = (2 * g.CHAR_ADVANCE_PT if i == 1 else name_start) - (name_start + hang)
            p.paragraph_format.first_line_indent = Pt(first)
        last = p

    # 署名 + 成文日期 (§7.3.5.1 layout for a sealed document): date 右空四字, 署名 centred over it.
    date_text = format_cn_date(spec.date)
    if last is not None:
        last.paragraph_format.keep_with_next = True
    for _ in range(2):
        _blank(doc).paragraph_format.keep_with_next = True
    date_w, sig_w = g.text_width_pt(date_text), g.text_width_pt(spec.signature)
    sig_indent = g.DATE_RIGHT_INDENT_PT + (date_w - sig_w) / 2
    date_indent = g.DATE_RIGHT_INDENT_PT
    if sig_indent < 0:  # a very long 署名 cannot centre over the date inside the 版心; move both left
        date_indent -= sig_indent
        sig_indent = 0
    p = doc.add_paragraph(spec.signature, style=_style(doc, STYLE_SIGNATURE, g.FONT_FANGSONG, g.BODY_SIZE_PT,
                                                       align=right))
    p.paragraph_format.right_indent = Pt(sig_indent)
    p.paragraph_format.keep_with_next = True
    p = doc.add_paragraph(date_text, style=_style(doc, STYLE_DATE, g.FONT_FANGSONG, g.BODY_SIZE_PT, align=right))
    p.paragraph_format.right_indent = Pt(date_indent)

    # 附注: 居左空二字加圆括号, 成文日期下一行.
    st = _style(doc, STYLE_NOTES, g.FONT_FANGSONG, g.BODY_SIZE_PT, align=left)
    st.paragraph_format.first_line_indent = Pt(2 * g.CHAR_ADVANCE_PT)
    if spec.notes:
        text = spec.notes if spec.notes.startswith("（") else f"（{spec.notes}）"
        doc.add_paragraph(text, style=st)

    if spec.cc or spec.printing_org:
        _colophon(doc, spec)

    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def _border(tag: str, sz: int) -> OxmlElement:
    el = OxmlElement(tag)
    el.set(qn("w:val"), "single")
    el.set(qn("w:sz"), str(sz))
    el.set(qn("w:space"), "0")
    el.set(qn("w:color"), "000000")
    return el


def _colophon(doc, spec: DocumentSpec) -> None:
    """版记 as an in-flow table 156 mm wide: heavy top/bottom rules, light rule between rows (§7.4)."""
    st = _style(doc, STYLE_COLOPHON, g.FONT_FANGSONG, g.COLOPHON_SIZE_PT, align=WD_ALIGN_PARAGRAPH.LEFT)
    _set_char_spacing(st.element, 0)
    _blank(doc)
    rows: list[tuple[str, str]] = []
    if spec.cc:
        rows.append(("cc", "抄送：" + "，".join(spec.cc) + "。"))
    if spec.printing_org:
        when = format_cn_date(spec.printing_date or spec.date) + "印发"
        rows.append(("print", f"{spec.printing_org}\t{when}"))
    table = doc.add_table(rows=len(rows), cols=1)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    tbl_pr = table._tbl.tblPr
    width = tbl_pr.find(qn("w:tblW"))
    width.set(qn("w:w"), str(g.mm_to_twips(g.CONTENT_W_MM)))
    width.set(qn("w:type"), "dxa")
    look = tbl_pr.find(qn("w:tblLook"))
    borders = OxmlElement("w:tblBorders")
    for tag, sz in (("w:top", g.COLOPHON_HEAVY_SZ), ("w:bottom", g.COLOPHON_HEAVY_SZ),
                    ("w:insideH", g.COLOPHON_LIGHT_SZ)):
        borders.append(_border(tag, sz))
    look.addprevious(borders)
    margins = OxmlElement("w:tblCellMar")
    for side in ("w:left", "w:right"):
        m = OxmlElement(side)
        m.set(qn("w:w"), "0")
        m.set(qn("w:type"), "dxa")
        margins.append(m)
    look.addprevious(margins)
    one_char = Pt(g.COLOPHON_SIZE_PT)  # 左右各空一字 of 四号
    for row, (kind, text) in zip(table.rows, rows, strict=True):
        cell = row.cells[0]
        cell.width = Twips(g.mm_to_twips(g.CONTENT_W_MM))
        p = cell.paragraphs[0]
        p.style = st
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
