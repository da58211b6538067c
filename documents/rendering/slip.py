"""处理笺 / 发文稿纸: a printable A4 PDF of one 发文's 要素 and every opinion (issue 5 point 4); and the 收文处理单
(阅办单) of one 收文 with the same machinery (``render_receipt_slip``, issue 12 point 6).

A pure function of a ProcessingSlip: no database, no viewflow; the 发文 pages build the slip from the document
and its opinions. The layout is the traditional ruled form: 签发 on top (条例 第二十二条: 意见、姓名和完整日期; 圈阅
视为同意), then 会签, 核稿, 部门审核, then the 拟稿 and 要素 rows. Each opinion is its own table row, so a long
history continues onto further pages (the section label is repeated there with "（续）"); pages are numbered
"第 N 页 共 M 页". Fonts come from documents.rendering.fonts exactly as for the 公文 PDF (embedded TrueType
subsets; a stand-in is named in the PDF metadata and in the footer).
"""

from __future__ import annotations

import datetime
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from reportlab.lib.colors import black
from reportlab.lib.enums import TA_CENTER, TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus.doctemplate import BaseDocTemplate, PageTemplate
from reportlab.platypus.flowables import Flowable, Spacer
from reportlab.platypus.frames import Frame
from reportlab.platypus.paragraph import Paragraph
from reportlab.platypus.tables import Table, TableStyle

from documents.rendering import geometry as g
from documents.rendering.fonts import FontSet, resolve_fonts
from documents.rendering.pdf import _patch_line_breaking, _register
from documents.rendering.spec import format_cn_date
from documents.rendering.text import paragraph, plain

# Which box an opinion is printed in.
KIND_SIGN = "sign"  # 签发
KIND_COUNTERSIGN = "countersign"  # 会签
KIND_CHECK = "check"  # 核稿（办公室审核）
KIND_DEPT_REVIEW = "dept_review"  # 部门审核
KIND_OTHER = "other"  # 复核、加签等其他意见
SECTIONS: tuple[tuple[str, str], ...] = (
    (KIND_SIGN, "签发"),
    (KIND_COUNTERSIGN, "会签"),
    (KIND_CHECK, "核稿"),
    (KIND_DEPT_REVIEW, "部门审核"),
    (KIND_OTHER, "其他意见"),
)
OPINION_KINDS = frozenset(k for k, _ in SECTIONS)
CIRCLED_TEXT = "圈阅"  # 圈阅或者签名的，视为同意（条例 第二十二条）


@dataclass(frozen=True, kw_only=True)
class SlipOpinion:
    step: str  # the step as the history names it, e.g. "会签（区财政局）"
    name: str  # who acted
    on_behalf_of: str = ""  # the principal when acting under 委托: printed "李娜 代 王芳"
    text: str = ""
    date: datetime.datetime
    kind: str  # one of OPINION_KINDS: the box it is printed in
    circled: bool = False  # 圈阅: counts as approval, printed as "圈阅"

    @property
    def signed_by(self) -> str:
        return f"{self.name} 代 {self.on_behalf_of}" if self.on_behalf_of else self.name


@dataclass(frozen=True, kw_only=True)
class ProcessingSlip:
    title: str
    doc_type_label: str  # 文种, e.g. "通知"
    agency: str  # 发文机关全称: the header reads "{agency}发文稿纸"
    doc_number: str = ""  # 发文字号; "" until 登记
    urgency: str = ""
    secrecy: str = ""
    copy_number: str = ""  # 份号
    drafter: str = ""
    drafting_department: str = ""
    draft_date: datetime.date | None = None
    main_recipients: Sequence[str] = ()
    cc: Sequence[str] = ()
    attachments: Sequence[str] = ()
    printing_org: str = ""
    copies: int | None = None  # 印发份数
    is_upward: bool = False  # 上行文
    signers: Sequence[str] = ()  # 签发人 printed on a 上行文
    opinions: Sequence[SlipOpinion] = field(default_factory=tuple)


PAGE_W, PAGE_H = A4
LEFT, RIGHT, TOP, BOTTOM = 22 * mm, 18 * mm, 18 * mm, 20 * mm
WIDTH = PAGE_W - LEFT - RIGHT
FRAME_H = PAGE_H - TOP - BOTTOM
LABEL_W = 24 * mm
VALUE_W = (WIDTH - 2 * LABEL_W) / 2
TEXT_SIZE = 12
LEADING = 18
RULE = 0.6
THIN = 0.3
PAD = 4
# A single opinion is cut into rows of at most this many characters so no row can outgrow a page.
CHUNK_CHARS = 400
MIN_BOX = {KIND_SIGN: 28 * mm, KIND_COUNTERSIGN: 18 * mm, KIND_CHECK: 16 * mm, KIND_DEPT_REVIEW: 16 * mm}
EMPTY = "—"


def format_opinion_date(value: datetime.datetime) -> str:
    """完整日期 with the time of day, in the deployment's zone: "2026年11月27日 14:05"."""
    if value.tzinfo is not None:
        value = value.astimezone(_zone())
    return f"{format_cn_date(value.date())} {value:%H:%M}"


def _zone() -> ZoneInfo:
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    try:
        name = getattr(settings, "TIME_ZONE", None) or "Asia/Shanghai"
    except ImproperlyConfigured:  # usable outside a configured Django process
        name = "Asia/Shanghai"
    return ZoneInfo(name)


def _chunks(text: str) -> list[str]:
    out: list[str] = []
    for line in text.splitlines() or [""]:
        line = line.strip()
        while len(line) > CHUNK_CHARS:
            # cut after a sentence end when there is one in the second half, so a page break falls between sentences
            cut = max(line.rfind(mark, CHUNK_CHARS // 2, CHUNK_CHARS) for mark in "。；！？")
            cut = cut + 1 if cut > 0 else CHUNK_CHARS
            out.append(line[:cut])
            line = line[cut:]
        if line:
            out.append(line)
    return out


class _Styles:
    def __init__(self, rl: dict[str, str]) -> None:
        fs, hei, xbs = rl[g.FONT_FANGSONG], rl[g.FONT_HEITI], rl[g.FONT_XIAOBIAOSONG]
        self.song = rl[g.FONT_SONGTI]
        self.fangsong = fs
        self.hei = hei

        def st(name: str, font: str, size: float = TEXT_SIZE, **kw: object) -> ParagraphStyle:
            return ParagraphStyle(name, fontName=font, fontSize=size, leading=kw.pop("leading", LEADING),
                                  wordWrap="CJK", **kw)

        self.header = st("slip-header", xbs, 22, leading=30, alignment=TA_CENTER)
        self.label = st("slip-label", hei, alignment=TA_CENTER)
        self.value = st("slip-value", fs, alignment=TA_LEFT)
        self.step = st("slip-step", hei, 10.5, leading=16)
        self.opinion = st("slip-opinion", fs, alignment=TA_LEFT)
        self.sign_line = st("slip-sign", fs, alignment=TA_RIGHT)
        self.note = st("slip-note", fs, 8, leading=10)
        self.empty = st("slip-empty", fs, 10.5, leading=16, textColor=black)


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return paragraph(text, style)  # user text (要素, 意见, names): printed literally, never as markup


class _Section(Flowable):
    """One labelled box of opinion rows. Splits between rows; the label is repeated with "（续）" on the next page."""

    def __init__(self, label: str, rows: list[list[Flowable]], styles: _Styles, *, min_height: float = 0,
                 continued: bool = False) -> None:
        super().__init__()
        self.label = label
        self.rows = rows  # each row: the flowables of one content cell
        self.styles = styles
        self.min_height = min_height
        self.continued = continued
        self._table = self._make_table()

    def _make_table(self) -> Table:
        label = self.label + ("（续）" if self.continued else "")
        data = [[_p(label if i == 0 else "", self.styles.label), cell] for i, cell in enumerate(self.rows)]
        heights = [None] * len(data)
        if len(data) == 1 and self.min_height:
            heights = [self.min_height]
        style = [
            ("FONTNAME", (0, 0), (-1, -1), self.styles.fangsong),  # empty str cells would set Helvetica
            ("BOX", (0, 0), (-1, -1), RULE, black),
            ("LINEAFTER", (0, 0), (0, -1), RULE, black),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("VALIGN", (0, 0), (0, -1), "MIDDLE") if len(data) == 1 else ("VALIGN", (0, 0), (0, 0), "TOP"),
            ("TOPPADDING", (0, 0), (-1, -1), PAD),
            ("BOTTOMPADDING", (0, 0), (-1, -1), PAD),
        ]
        for i in range(len(data) - 1):
            if getattr(self.rows[i], "_slip_opinion_end", True):
                style.append(("LINEBELOW", (1, i), (1, i), THIN, black, None, (2, 2)))
        return Table(data, colWidths=[LABEL_W, WIDTH - LABEL_W], rowHeights=heights, style=TableStyle(style))

    def wrap(self, avail_w: float, avail_h: float) -> tuple[float, float]:
        self.width, self.height = self._table.wrap(avail_w, avail_h)
        return self.width, self.height

    def split(self, avail_w: float, avail_h: float) -> list[Flowable]:
        self._table.wrap(avail_w, avail_h)
        fitting = 0
        used = 0.0
        for h in self._table._rowHeights:  # as laid out, so a two-line label row is measured right
            if used + h > avail_h:
                break
            used += h
            fitting += 1
        if fitting == 0 or fitting == len(self.rows):
            return []
        first = _Section(self.label, self.rows[:fitting], self.styles, continued=self.continued)
        rest = _Section(self.label, self.rows[fitting:], self.styles, continued=True)
        return [first, rest]

    def draw(self) -> None:
        self._table.drawOn(self.canv, 0, 0)


class _Cell(list):
    """The flowables of one content cell, remembering whether the cell ends an opinion (a dotted rule follows)."""

    _slip_opinion_end = True


def _opinion_rows(op: SlipOpinion, section_label: str, styles: _Styles) -> list[_Cell]:
    parts = []
    if op.circled:
        parts.append(CIRCLED_TEXT)
    parts += _chunks(op.text)
    if not parts:
        parts = ["（未填写意见）"]
    rows: list[_Cell] = []
    for i, text in enumerate(parts):
        cell = _Cell()
        if i == 0 and op.step and op.step != section_label:
            cell.append(_p(op.step, styles.step))
        cell.append(_p(text, styles.opinion))
        cell._slip_opinion_end = False
        rows.append(cell)
    rows[-1].append(_p(f"{op.signed_by}　　{format_opinion_date(op.date)}", styles.sign_line))
    rows[-1]._slip_opinion_end = True
    return rows


class _FieldsTable(Table):
    """The 要素 table; a row taller than a whole page (a very long 主送 list) is split inside, not refused."""

    def split(self, availWidth: float, availHeight: float) -> list:  # reportlab's argument names
        parts = super().split(availWidth, availHeight)
        if not parts and availHeight >= FRAME_H - 1 and not self.splitInRow:
            self.splitInRow = 1
            parts = super().split(availWidth, availHeight)
        return parts


def _fields_table(slip: ProcessingSlip, styles: _Styles) -> Table:
    def v(text: str) -> Paragraph:
        return _p(text or EMPTY, styles.value)

    def lab(text: str) -> Paragraph:
        return _p(text, styles.label)

    def joined(items: Sequence[str], sep: str = "、") -> str:
        return sep.join(i for i in items if i)

    pairs: list[tuple[str, str, str, str]] = [
        ("拟稿单位", slip.drafting_department, "拟稿人", slip.drafter),
        ("拟稿日期", format_cn_date(slip.draft_date) if slip.draft_date else "", "文种", slip.doc_type_label),
        ("紧急程度", slip.urgency, "密级", slip.secrecy),
        ("份号", slip.copy_number, "印发份数", f"{slip.copies}份" if slip.copies is not None else ""),
    ]
    data: list[list[object]] = [[lab(a), v(b), lab(c), v(d)] for a, b, c, d in pairs]
    wide: list[tuple[str, str]] = [("行文方向", "上行文" if slip.is_upward else "下行文／平行文")]
    if slip.is_upward:
        wide.append(("签发人", joined(slip.signers)))
    attachments = "；".join(f"{i}. {a}" for i, a in enumerate(slip.attachments, 1)) if len(slip.attachments) > 1 \
        else joined(slip.attachments)
    wide += [
        ("文号", slip.doc_number or "（登记时编号）"),
        ("标题", slip.title),
        ("主送", joined(slip.main_recipients)),
        ("抄送", joined(slip.cc)),
        ("附件", attachments),
        ("印发机关", slip.printing_org),
    ]
    first_wide = len(data)
    data += [[lab(a), v(b), "", ""] for a, b in wide]
    style = [
        ("FONTNAME", (0, 0), (-1, -1), styles.fangsong),  # the spanned-over "" cells would set Helvetica
        ("GRID", (0, 0), (-1, -1), RULE, black),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), PAD),
        ("BOTTOMPADDING", (0, 0), (-1, -1), PAD),
    ]
    style += [("SPAN", (1, r), (3, r)) for r in range(first_wide, len(data))]
    return _FieldsTable(data, colWidths=[LABEL_W, VALUE_W, LABEL_W, VALUE_W], style=TableStyle(style), splitByRow=1)


def render_processing_slip(slip: ProcessingSlip, fonts: FontSet | None = None) -> bytes:
    """The 发文稿纸 of `slip` as PDF bytes (A4, fonts embedded, "第 N 页 共 M 页")."""
    for op in slip.opinions:
        if op.kind not in OPINION_KINDS:
            raise ValueError(f"意见类别 {op.kind!r} 无效：须为 {'、'.join(sorted(OPINION_KINDS))} 之一")

    def story(styles: _Styles) -> list[Flowable]:
        out = _opinion_sections(slip.opinions, SECTIONS, styles, min_box=MIN_BOX, optional=(KIND_OTHER,))
        return [*out, _fields_table(slip, styles)]

    return _render(header=f"{slip.agency}发文稿纸", doc_number=slip.doc_number, title=slip.title, author=slip.agency,
                   kind_name="发文稿纸", story=story, fonts=fonts)


def _opinion_sections(opinions: Sequence[SlipOpinion], sections: tuple[tuple[str, str], ...], styles: _Styles, *,
                      min_box: dict[str, float], optional: tuple[str, ...]) -> list[Flowable]:
    """One ruled box per section, its opinions in order; an empty box keeps its writing space (except ``optional``)."""
    story: list[Flowable] = []
    for kind, label in sections:
        ops = [op for op in opinions if op.kind == kind]
        if kind in optional and not ops:
            continue
        rows: list[list[Flowable]] = [row for op in ops for row in _opinion_rows(op, label, styles)]
        if not rows:
            rows = [_Cell([_p("", styles.empty)])]
        story.append(_Section(label, rows, styles, min_height=min_box.get(kind, 0) if not ops else 0))
    return story


def _render(*, header: str, doc_number: str, title: str, author: str, kind_name: str, story, fonts: FontSet | None) -> bytes:
    fonts = fonts or resolve_fonts()
    _patch_line_breaking()
    rl = {name: _register(f.path, f.subfont_index) for name, f in fonts.fonts.items()}
    args = {"header": header, "doc_number": doc_number, "title": title, "author": author, "kind_name": kind_name,
            "story": story}
    data, pages = _build(fonts, rl, total_pages=0, **args)
    data, _ = _build(fonts, rl, total_pages=pages, **args)  # second pass knows the total for "共 M 页"
    return data


def _build(fonts: FontSet, rl: dict[str, str], *, total_pages: int, header: str, doc_number: str, title: str,
           author: str, kind_name: str, story) -> tuple[bytes, int]:
    styles = _Styles(rl)
    note = fonts.note()
    header_text = plain(header)  # also drawn on the canvas and put in the metadata
    doc_number = plain(doc_number)
    flowables: list[Flowable] = [_p(header_text, styles.header), Spacer(WIDTH, 4 * mm), *story(styles)]

    def decorate(c: Canvas, doc: BaseDocTemplate) -> None:
        c.saveState()
        c.setFont(styles.song, 10.5)
        total = f" 共 {total_pages} 页" if total_pages else ""
        c.drawCentredString(PAGE_W / 2, BOTTOM - 9 * mm, f"第 {doc.page} 页{total}")
        if doc.page > 1:  # context on continuation pages
            c.setFont(styles.hei, 10.5)
            c.drawString(LEFT, PAGE_H - TOP + 3 * mm, f"{header_text}（续）")
            if doc_number:
                c.drawRightString(LEFT + WIDTH, PAGE_H - TOP + 3 * mm, doc_number)
        c.restoreState()
        if note:
            para = _p(note, styles.note)
            _, h = para.wrap(WIDTH, BOTTOM)
            para.drawOn(c, LEFT, BOTTOM - 11 * mm - h)

    buf = io.BytesIO()
    doc = BaseDocTemplate(
        buf, pagesize=A4, title=plain(f"{header_text}：{title}"), author=plain(author),
        creator="OA documents.rendering.slip", subject=note or kind_name,
        keywords=[kind_name] + ([note] if note else []), lang="zh-CN", invariant=1,
        initialFontName=styles.fangsong,  # else every page starts with an unembedded Helvetica
        leftMargin=LEFT, rightMargin=RIGHT, topMargin=TOP, bottomMargin=BOTTOM,
    )
    # The continuation header and the page number sit in the margins, so every page has the same frame.
    frame = Frame(LEFT, BOTTOM, WIDTH, FRAME_H, leftPadding=0, rightPadding=0, topPadding=0,
                  bottomPadding=0, id="slip")
    doc.addPageTemplates([PageTemplate("slip", [frame], onPage=decorate)])
    doc.build(flowables)
    return buf.getvalue(), doc.page


# ---- 收文处理单（阅办单） ---------------------------------------------------------------------------------------

KIND_PROPOSE = "propose"  # 拟办
KIND_INSTRUCT = "instruct"  # 领导批办
KIND_HANDLE = "handle"  # 承办（主办、协办）
RECEIPT_SECTIONS: tuple[tuple[str, str], ...] = (
    (KIND_PROPOSE, "拟办意见"),
    (KIND_INSTRUCT, "领导批示"),
    (KIND_HANDLE, "承办情况"),
    (KIND_OTHER, "其他意见"),
)
RECEIPT_OPINION_KINDS = frozenset(k for k, _ in RECEIPT_SECTIONS)
RECEIPT_MIN_BOX = {KIND_PROPOSE: 18 * mm, KIND_INSTRUCT: 28 * mm, KIND_HANDLE: 24 * mm}


@dataclass(frozen=True, kw_only=True)
class ReceiptSlip:
    agency: str  # 收文机关全称: the header reads "{agency}收文处理单"
    title: str
    sender: str  # 来文单位
    doc_number: str = ""  # 来文字号
    receipt_number: str = ""  # 收文号; "" until 登记
    received_date: datetime.date | None = None  # 收文日期 (签收, else arrival), in the deployment's zone
    signed_date: datetime.date | None = None  # 成文日期
    secrecy: str = ""
    urgency: str = ""
    copies: int | None = None
    attachments: str = ""  # 附件说明 as registered
    host_department: str = ""
    assist_departments: Sequence[str] = ()
    due_date: datetime.date | None = None  # 办理时限
    result: str = ""  # 办理结果
    closed_date: datetime.date | None = None
    opinions: Sequence[SlipOpinion] = field(default_factory=tuple)


def _receipt_fields(slip: ReceiptSlip, styles: _Styles) -> Table:
    def v(text: str) -> Paragraph:
        return _p(text or EMPTY, styles.value)

    def lab(text: str) -> Paragraph:
        return _p(text, styles.label)

    def day(value: datetime.date | None) -> str:
        return format_cn_date(value) if value else ""

    pairs: list[tuple[str, str, str, str]] = [
        ("收文号", slip.receipt_number or "（登记时编号）", "收文日期", day(slip.received_date)),
        ("来文字号", slip.doc_number, "成文日期", day(slip.signed_date)),
        ("紧急程度", slip.urgency, "密级", slip.secrecy),
        ("份数", f"{slip.copies}份" if slip.copies is not None else "", "办理时限",
         f"{day(slip.due_date)}前" if slip.due_date else ""),
    ]
    data: list[list[object]] = [[lab("来文单位"), v(slip.sender), "", ""]]
    data += [[lab(a), v(b), lab(c), v(d)] for a, b, c, d in pairs]
    wide = [
        ("标题", slip.title),
        ("附件", slip.attachments),
        ("主办部门", slip.host_department),
        ("协办部门", "、".join(d for d in slip.assist_departments if d)),
    ]
    first_wide = len(data)
    data += [[lab(a), v(b), "", ""] for a, b in wide]
    style = [
        ("FONTNAME", (0, 0), (-1, -1), styles.fangsong),  # the spanned-over "" cells would set Helvetica
        ("GRID", (0, 0), (-1, -1), RULE, black),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), PAD),
        ("BOTTOMPADDING", (0, 0), (-1, -1), PAD),
        ("SPAN", (1, 0), (3, 0)),
    ]
    style += [("SPAN", (1, r), (3, r)) for r in range(first_wide, len(data))]
    return _FieldsTable(data, colWidths=[LABEL_W, VALUE_W, LABEL_W, VALUE_W], style=TableStyle(style), splitByRow=1)


def _result_section(slip: ReceiptSlip, styles: _Styles) -> Flowable:
    rows: list[list[Flowable]] = []
    chunks = _chunks(slip.result) if slip.result.strip() else []
    for i, text in enumerate(chunks):
        cell = _Cell([_p(text, styles.opinion)])
        cell._slip_opinion_end = i == len(chunks) - 1
        rows.append(cell)
    if rows and slip.closed_date:
        rows[-1].append(_p(f"办结日期　{format_cn_date(slip.closed_date)}", styles.sign_line))
    if not rows:
        rows = [_Cell([_p("", styles.empty)])]
    return _Section("办理结果", rows, styles, min_height=0 if chunks else 16 * mm)


def render_receipt_slip(slip: ReceiptSlip, fonts: FontSet | None = None) -> bytes:
    """The 收文处理单（阅办单） of `slip` as PDF bytes: 登记 facts on top, then 拟办、批示、承办 and other opinions,
    each with the signer's name and full date, then the 办理结果; same page furniture as the 发文稿纸."""
    for op in slip.opinions:
        if op.kind not in RECEIPT_OPINION_KINDS:
            raise ValueError(f"意见类别 {op.kind!r} 无效：须为 {'、'.join(sorted(RECEIPT_OPINION_KINDS))} 之一")

    def story(styles: _Styles) -> list[Flowable]:
        sections = _opinion_sections(slip.opinions, RECEIPT_SECTIONS, styles, min_box=RECEIPT_MIN_BOX,
                                     optional=(KIND_OTHER,))
        return [_receipt_fields(slip, styles), Spacer(WIDTH, 3 * mm), *sections, _result_section(slip, styles)]

    return _render(header=f"{slip.agency}收文处理单", doc_number=slip.receipt_number, title=slip.title,
                   author=slip.agency, kind_name="收文处理单", story=story, fonts=fonts)
