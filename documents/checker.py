"""GB/T 9704-2012 conformance checker for DOCX (DOMAIN.md Appendix A.1).

Reads the DOCX back with python-docx/lxml and reports each rule decidable from the file's structure. Positions
that depend on layout (the 标志's top, the red rule's gap, the page-number dash) are computed from the paragraph
flow with LibreOffice's measured model (documents/rendering/geometry.py, STACK.md §13); actual line breaking and
pagination need a renderer and are not checked here.

Elements are found by the "GB …" paragraph styles our renderer writes; the 发文字号 and 成文日期 fall back to text
patterns so that foreign documents still get those checks.
"""

from __future__ import annotations

import datetime
import io
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docx import Document
from docx.oxml.ns import qn

from documents.numbering import parse_doc_number
from documents.rendering import geometry as g
from documents.rendering.docx import (
    HEADING_FONTS,
    STYLE_ATTACHMENT,
    STYLE_BODY,
    STYLE_DATE,
    STYLE_DOC_NUMBER,
    STYLE_HEADINGS,
    STYLE_MARK,
    STYLE_RECIPIENTS,
    STYLE_TITLE,
    UPWARD_CATEGORY,
)

NS = {
    "w": "http://schemas.openxmlformats.org/wordprocessingml/2006/main",
    "wp": "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing",
    "a": "http://schemas.openxmlformats.org/drawingml/2006/main",
}
DATE_RE = re.compile(r"^(\d{4})年([1-9]\d?)月([1-9]\d?)日$")
LOOSE_NUMBER_RE = re.compile(r"\d{4}.*号$")
HEADING_PATTERNS = {
    1: re.compile(r"^[一二三四五六七八九十]+、"),
    2: re.compile(r"^（[一二三四五六七八九十]+）"),
    3: re.compile(r"^\d+\."),
    4: re.compile(r"^（\d+）"),
}


@dataclass(frozen=True)
class CheckResult:
    rule: str
    passed: bool
    measured: str
    expected: str


def _sid(name: str) -> str:
    return name.replace(" ", "")  # python-docx derives the styleId by removing spaces


class _Doc:
    """Property resolution: direct formatting → paragraph style chain → docDefaults."""

    def __init__(self, source: bytes | str | Path) -> None:
        self.doc = Document(io.BytesIO(source) if isinstance(source, bytes) else str(source))
        self.styles = self.doc.styles.element
        defaults = self.styles.find(qn("w:docDefaults"))
        self.default_rpr = defaults.find("w:rPrDefault/w:rPr", NS) if defaults is not None else None
        self.default_ppr = defaults.find("w:pPrDefault/w:pPr", NS) if defaults is not None else None

    def style_chain(self, style_id: str | None) -> list[Any]:
        chain, seen = [], set()
        sid = style_id
        if sid is None:
            default = self.styles.find("w:style[@w:type='paragraph'][@w:default='1']", NS)
            sid = default.get(qn("w:styleId")) if default is not None else None
        while sid and sid not in seen:
            seen.add(sid)
            st = self.styles.find(f"w:style[@w:styleId='{sid}']", NS)
            if st is None:
                break
            chain.append(st)
            based = st.find("w:basedOn", NS)
            sid = based.get(qn("w:val")) if based is not None else None
        return chain

    @staticmethod
    def p_style(p) -> str | None:
        ps = p.find("w:pPr/w:pStyle", NS)
        return ps.get(qn("w:val")) if ps is not None else None

    def rprop(self, p, r, path: str, attr: str = "w:val") -> str | None:
        sources = [r.find("w:rPr", NS)] if r is not None else []
        sources += [st.find("w:rPr", NS) for st in self.style_chain(self.p_style(p))]
        sources.append(self.default_rpr)
        for rpr in sources:
            if rpr is None:
                continue
            el = rpr.find(path, NS)
            if el is not None and el.get(qn(attr)) is not None:
                return el.get(qn(attr))
        return None

    def pprop(self, p, path: str, attr: str = "w:val") -> str | None:
        sources = [p.find("w:pPr", NS)]
        sources += [st.find("w:pPr", NS) for st in self.style_chain(self.p_style(p))]
        sources.append(self.default_ppr)
        for ppr in sources:
            if ppr is None:
                continue
            el = ppr.find(path, NS)
            if el is not None and el.get(qn(attr)) is not None:
                return el.get(qn(attr))
        return None

    def style_rprop(self, style_id: str, path: str, attr: str = "w:val") -> str | None:
        for st in [*self.style_chain(style_id)]:
            rpr = st.find("w:rPr", NS)
            el = rpr.find(path, NS) if rpr is not None else None
            if el is not None and el.get(qn(attr)) is not None:
                return el.get(qn(attr))
        if self.default_rpr is not None:
            el = self.default_rpr.find(path, NS)
            if el is not None:
                return el.get(qn(attr))
        return None


def _text(p) -> str:
    # Only run content: a w:tab inside pPr/w:tabs is a tab stop, not a character.
    out = []
    for r in p.iter(qn("w:r")):
        for el in r:
            if el.tag == qn("w:tab"):
                out.append("\t")
            elif el.tag == qn("w:t"):
                out.append(el.text or "")
    return "".join(out)


def _text_runs(p) -> list[Any]:
    return [r for r in p.iter(qn("w:r")) if r.find("w:t", NS) is not None]


def _twips(value: str | None) -> float:
    return float(value) if value else 0.0


def _mm(twips: float) -> str:
    return f"{g.twips_to_mm(twips):.2f} mm"


def _near(value: float, target: float, tol: float) -> bool:
    return abs(value - target) <= tol + 1e-9


def _pitches(d: _Doc, p) -> float:
    """Grid lines a (single-line) paragraph occupies in LO's model: off-grid exact blocks by height."""
    before = _twips(d.pprop(p, "w:spacing", "w:before"))
    after = _twips(d.pprop(p, "w:spacing", "w:after"))
    if d.pprop(p, "w:snapToGrid") == "0":
        line = _twips(d.pprop(p, "w:spacing", "w:line"))
        return (before + line + after) / g.LINE_PITCH_TWIPS
    return 1 + (before + after) / g.LINE_PITCH_TWIPS


def check_gbt9704(source: bytes | str | Path, *, upward: bool | None = None) -> list[CheckResult]:
    d = _Doc(source)
    results: list[CheckResult] = []

    def add(rule: str, passed: bool, measured: str, expected: str) -> None:
        results.append(CheckResult(rule, bool(passed), measured, expected))

    body = d.doc.element.body
    paras = [p for p in body if p.tag == qn("w:p")]
    by_style: dict[str, list[Any]] = {}
    for p in paras:
        by_style.setdefault(d.p_style(p) or "", []).append(p)

    # --- 5.1 / 5.2.1 page and margins ---
    sect = body.find("w:sectPr", NS)
    pg = sect.find("w:pgSz", NS)
    mar = sect.find("w:pgMar", NS)
    pw, ph = _twips(pg.get(qn("w:w"))), _twips(pg.get(qn("w:h")))
    add("5.1 幅面 A4", _near(g.twips_to_mm(pw), 210, 0.5) and _near(g.twips_to_mm(ph), 297, 0.5),
        f"{g.twips_to_mm(pw):.1f}×{g.twips_to_mm(ph):.1f} mm", "210×297 mm")
    margins = {k: _twips(mar.get(qn(f"w:{k}"))) for k in ("top", "bottom", "left", "right", "footer")}
    for key, label, target in (("top", "天头（上白边）", 37), ("left", "订口（左白边）", 28),
                               ("bottom", "下白边", 35), ("right", "右白边", 26)):
        add(f"5.2.1 {label}", _near(g.twips_to_mm(margins[key]), target, 1.0), _mm(margins[key]), f"{target}±1 mm")
    cw = g.twips_to_mm(pw - margins["left"] - margins["right"])
    chh = g.twips_to_mm(ph - margins["top"] - margins["bottom"])
    add("5.2.1 版心宽", _near(cw, 156, 0.5), f"{cw:.2f} mm", "156 mm")
    add("5.2.1 版心高（不含页码）", _near(chh, 225, 0.5), f"{chh:.2f} mm", "225 mm")

    # --- 5.2.3 grid ---
    grid = sect.find("w:docGrid", NS)
    grid_type = grid.get(qn("w:type")) if grid is not None else None
    pitch = _twips(grid.get(qn("w:linePitch"))) if grid is not None else 0
    normal = d.style_chain(None)
    normal_id = normal[0].get(qn("w:styleId")) if normal else "Normal"
    normal_p = body.makeelement(qn("w:p"))  # a bare paragraph resolves to the default style
    line = _twips(d.pprop(normal_p, "w:spacing", "w:line"))
    rule_kind = d.pprop(normal_p, "w:spacing", "w:lineRule")
    text_h = ph - margins["top"] - margins["bottom"]
    lines = math.floor(text_h / pitch) if pitch else 0
    ok = grid_type in ("lines", "linesAndChars") and lines == g.LINES_PER_PAGE and rule_kind == "exact" \
        and line == pitch
    add("5.2.3 每面22行", ok,
        f"docGrid {grid_type} linePitch={pitch:.0f}，正文行距 {rule_kind} {line:.0f} → {lines} 行",
        "docGrid 行网格，行距固定值=linePitch，22 行")
    size_pt = _twips(d.style_rprop(normal_id, "w:sz")) / 2
    spacing_pt = _twips(d.style_rprop(normal_id, "w:spacing")) / 20
    width_pt = (pw - margins["left"] - margins["right"]) / 20
    chars = math.floor(width_pt / (size_pt + spacing_pt) + 1e-6) if size_pt + spacing_pt > 0 else 0
    char_space = _twips(grid.get(qn("w:charSpace"))) if grid is not None else 0
    bad_grid = grid_type == "linesAndChars" and char_space < 0  # LO halves the line (STACK §13)
    add("5.2.3 每行28字", chars == g.CHARS_PER_LINE and not bad_grid,
        f"字号 {size_pt:g} pt，字距 {spacing_pt:g} pt → {chars} 字/行" + ("；linesAndChars 负 charSpace" if bad_grid else ""),
        "28 字/行（16 pt 字距 −0.25 pt）")

    # --- 5.2.2 body font ---
    body_ids = [_sid(s) for s in (STYLE_BODY, STYLE_RECIPIENTS, STYLE_HEADINGS[3], STYLE_HEADINGS[4])]
    checked = [normal_p] + [p for sid in body_ids for p in by_style.get(sid, [])]
    bad = []
    for p in checked:
        runs = _text_runs(p) or [None]
        for r in runs:
            font = d.rprop(p, r, "w:rFonts", "w:eastAsia") or ""
            sz = _twips(d.rprop(p, r, "w:sz")) / 2
            if "仿宋" not in font or sz != g.BODY_SIZE_PT:
                bad.append(f"{font or '无东亚字体'} {sz:g} pt")
    add("5.2.2 正文3号仿宋（东亚字体）", not bad, "；".join(sorted(set(bad))) or f"仿宋 16 pt（{len(checked)} 段）",
        "w:eastAsia 仿宋，16 pt")

    # --- 7.2.5 发文机关标志 ---
    marks = by_style.get(_sid(STYLE_MARK), [])
    if not marks:
        add("7.2.5 发文机关标志", False, "未找到（GB Mark 样式）", "首段，红色小标宋居中")
    else:
        m = marks[0]
        runs = _text_runs(m)
        colours = {(d.rprop(m, r, "w:color") or "000000").upper() for r in runs}
        add("7.2.5 发文机关标志红色", colours == {g.RED}, "、".join(sorted(colours)) or "无文字", g.RED)
        add("7.2.5 发文机关标志居中", d.pprop(m, "w:jc") == "center", d.pprop(m, "w:jc") or "left", "center")
        fonts = {d.rprop(m, r, "w:rFonts", "w:eastAsia") or "" for r in runs}
        add("7.2.5 发文机关标志小标宋", bool(fonts) and all("小标宋" in f for f in fonts), "、".join(sorted(fonts)),
            g.FONT_XIAOBIAOSONG)
        size = _twips(d.rprop(m, runs[0] if runs else None, "w:sz")) / 2
        before = _twips(d.pprop(m, "w:spacing", "w:before"))
        mline = _twips(d.pprop(m, "w:spacing", "w:line"))
        first = m is paras[0]
        exact = d.pprop(m, "w:spacing", "w:lineRule") == "exact" and d.pprop(m, "w:snapToGrid") == "0"
        top = g.mark_em_top_mm(before, mline, size)
        add("7.2.5 标志上边缘距版心上边缘35 mm", first and exact and _near(top, g.MARK_OFFSET_MM, 0.5),
            f"{top:.2f} mm" + ("" if first else "（不是首段）") + ("" if exact else "（非固定行距/未脱离网格，无法推算）"),
            "35±0.5 mm（按 LO 固定行距模型推算）")

    # --- 7.2.4 发文字号, 7.2.6 签发人 ---
    number_paras = [p for p in by_style.get(_sid(STYLE_DOC_NUMBER), []) if _text(p).strip()]
    number_p, number_text = None, ""
    for p in number_paras:
        head = _text(p).split("\t")[0].strip()
        if head:
            number_p, number_text = p, head
    if number_p is None:  # foreign document: first short paragraph ending in 号 with a year in it
        for p in paras[:15]:
            t = _text(p).split("\t")[0].strip()
            if LOOSE_NUMBER_RE.search(t):
                number_p, number_text = p, t
                break
    if number_p is None:
        add("7.2.4 发文字号格式", False, "未找到发文字号", "机关代字〔YYYY〕N号")
    else:
        try:
            parse_doc_number(number_text)
            add("7.2.4 发文字号格式", True, number_text, "机关代字〔YYYY〕N号，无“第”、无虚位")
        except ValueError as exc:
            add("7.2.4 发文字号格式", False, f"{number_text}：{exc}", "机关代字〔YYYY〕N号，无“第”、无虚位")

    if upward is None:
        upward = (d.doc.core_properties.category or "") == UPWARD_CATEGORY
    jc = d.pprop(number_p, "w:jc") if number_p is not None else None
    left_ind = _twips(d.pprop(number_p, "w:ind", "w:left")) / 20 if number_p is not None else 0
    if upward:
        add("7.2.4 上行文发文字号居左空一字", jc in ("left", "start", "both", None) and _near(left_ind, 16, 0.5),
            f"{jc or 'left'}，左缩进 {left_ind:g} pt", "居左，左缩进一字（≈16 pt）")
        label_ok = name_ok = False
        names = ""
        for p in number_paras:
            for r in _text_runs(p):
                t = "".join(x.text or "" for x in r.iter(qn("w:t")))
                font = d.rprop(p, r, "w:rFonts", "w:eastAsia") or ""
                if "签发人：" in t:
                    label_ok = "仿宋" in font
                elif label_ok and t.strip("　 ") and "楷体" in font:
                    name_ok = True
                    names += t.strip("　 ") + " "
        add("7.2.6 上行文标注签发人（“签发人”仿宋、姓名楷体）", label_ok and name_ok,
            names.strip() or "无签发人", "签发人：姓名（楷体）")
    else:
        add("7.2.4 发文字号居中", jc == "center", jc or "left", "center")

    # --- 7.2.7 red rule ---
    anchor = None
    for a in body.iter(qn("wp:anchor")):
        if a.find(".//a:prstGeom[@prst='line']", NS) is not None:
            anchor = a
            break
    if anchor is None:
        add("7.2.7 版头红色分隔线156 mm", False, "未找到直线形状", "红色，156 mm，版心居中")
    else:
        cx = int(anchor.find("wp:extent", NS).get("cx"))
        clr = anchor.find(".//a:ln//a:srgbClr", NS)
        colour = clr.get("val").upper() if clr is not None else "无"
        posh = anchor.find("wp:positionH", NS)
        off = posh.find("wp:posOffset", NS) if posh is not None else None
        centred = posh is not None and (
            (posh.get("relativeFrom") == "margin" and off is not None and int(off.text) == 0)
            or (posh.find("wp:align", NS) is not None and posh.find("wp:align", NS).text == "center"))
        w_mm = cx / g.EMU_PER_MM
        add("7.2.7 版头红色分隔线156 mm", _near(w_mm, 156, 0.5) and colour == g.RED and centred,
            f"{w_mm:.2f} mm，{colour}，{'居版心' if centred else '未对齐版心'}", "红色，156 mm，版心居中")
        posv = anchor.find("wp:positionV", NS)
        voff = posv.find("wp:posOffset", NS) if posv is not None else None
        if number_p is None or voff is None or posv.get("relativeFrom") != "page":
            add("7.2.7 分隔线在发文字号下4 mm", False, "无法推算（需相对页面定位）", "4±0.5 mm")
        else:
            idx = sum(_pitches(d, p) for p in paras[: paras.index(number_p)])
            em_bottom = g.twips_to_mm(margins["top"]) + (g.DOC_NUMBER_EM_BOTTOM_MM_LINE7 - 37.0) \
                + (idx - g.DOC_NUMBER_LINE) * g.LINE_PITCH_MM
            gap = int(voff.text) / g.EMU_PER_MM - em_bottom
            add("7.2.7 分隔线在发文字号下4 mm", _near(gap, g.RED_RULE_GAP_MM, 0.5), f"{gap:.2f} mm",
                "4±0.5 mm（按网格行推算）")

    # --- 7.3.1 title ---
    titles = by_style.get(_sid(STYLE_TITLE), [])
    if not titles:
        add("7.3.1 标题2号小标宋居中", False, "未找到（GB Title 样式）", "22 pt 小标宋，居中")
    else:
        t = titles[0]
        runs = _text_runs(t)
        fonts = {d.rprop(t, r, "w:rFonts", "w:eastAsia") or "" for r in runs}
        sizes = {_twips(d.rprop(t, r, "w:sz")) / 2 for r in runs}
        ok = fonts and all("小标宋" in f for f in fonts) and sizes == {22.0} and d.pprop(t, "w:jc") == "center"
        add("7.3.1 标题2号小标宋居中", bool(ok),
            f"{'、'.join(sorted(fonts))} {'/'.join(f'{s:g}' for s in sorted(sizes))} pt {d.pprop(t, 'w:jc')}",
            "方正小标宋简体 22 pt center")
        if number_p is not None:
            between = paras[paras.index(number_p) + 1 : paras.index(t)]
            blanks = sum(1 for p in between if not _text(p).strip())
            add("7.3.1 标题在红色分隔线下空二行", blanks == 2 and len(between) == 2, f"空 {blanks} 行", "空 2 行")

    # --- 7.3.3 heading levels ---
    wrong = []
    count = 0
    for level, font_name in HEADING_FONTS.items():
        for p in by_style.get(_sid(STYLE_HEADINGS[level]), []):
            count += 1
            runs = _text_runs(p)
            fonts = {d.rprop(p, r, "w:rFonts", "w:eastAsia") or "" for r in runs}
            if fonts != {font_name} or not HEADING_PATTERNS[level].match(_text(p)):
                wrong.append(f"{level}级“{_text(p)[:8]}”{'/'.join(sorted(fonts))}")
    add("7.3.3 结构层次序数与字体（黑/楷/仿/仿）", not wrong, "；".join(wrong) or f"{count} 个层次标题正确",
        "一、黑体；（一）楷体；1. 仿宋；（1）仿宋")

    # --- 7.3.2 附件说明 ---
    atts = by_style.get(_sid(STYLE_ATTACHMENT), [])
    if atts:
        a0 = atts[0]
        left = _twips(d.pprop(a0, "w:ind", "w:left"))
        hanging = _twips(d.pprop(a0, "w:ind", "w:hanging"))
        first_start = (left - hanging) / 20
        text0 = _text(a0)
        punct = [_text(p) for p in atts if _text(p)[-1:] in "。，；：.、"]
        ok = text0.startswith("附件：") and _near(first_start, 2 * g.CHAR_ADVANCE_PT, 1) and hanging > 0 and not punct
        add("7.3.2 附件说明“附件：”左空二字、悬挂缩进", ok,
            f"首行起点 {first_start:g} pt，悬挂 {hanging / 20:g} pt" + ("，名称后有标点" if punct else ""),
            "“附件：”起于二字（31.5 pt），回行与名称首字对齐，名称后无标点")
    else:
        add("7.3.2 附件说明", True, "无附件", "如有附件，“附件：”悬挂缩进")

    # --- 7.3.5 成文日期 ---
    dates = by_style.get(_sid(STYLE_DATE), [])
    date_p = dates[0] if dates else next((p for p in paras if DATE_RE.match(_text(p).strip())), None)
    if date_p is None:
        add("7.3.5.4 成文日期阿拉伯数字、不编虚位", False, "未找到成文日期", "YYYY年M月D日")
    else:
        text = _text(date_p).strip()
        m = DATE_RE.match(text)
        valid = False
        if m:
            try:
                datetime.date(int(m[1]), int(m[2]), int(m[3]))
                valid = True
            except ValueError:
                valid = False
        add("7.3.5.4 成文日期阿拉伯数字、不编虚位", valid, text, "YYYY年M月D日，如 2026年11月27日")
        right = _twips(d.pprop(date_p, "w:ind", "w:right")) / 20
        jc = d.pprop(date_p, "w:jc")
        add("7.3.5.1 成文日期右空四字", jc in ("right", "end") and _near(right, g.DATE_RIGHT_INDENT_PT, 1),
            f"{jc}，右缩进 {right:g} pt", "右对齐，右缩进四字（64 pt）")

    # --- 7.5 page numbers ---
    settings = d.doc.settings.element
    even_odd = settings.find("w:evenAndOddHeaders", NS) is not None
    refs = {ref.get(qn("w:type")): ref for ref in sect.findall("w:footerReference", NS)}
    problems = []
    placement = []
    for kind, want_jc, side in (("default", "right", "right"), ("even", "left", "left")):
        ref = refs.get(kind)
        if ref is None:
            problems.append(f"缺少{'单' if kind == 'default' else '双'}页页脚")
            continue
        part = d.doc.part.related_parts[ref.get(qn("r:id"))]
        ps = part.element.findall(".//w:p", NS)
        page_p = next((p for p in ps if "PAGE" in "".join(x.text or "" for x in p.iter(qn("w:instrText")))
                       or p.find(".//w:fldSimple", NS) is not None), None)
        if page_p is None:
            problems.append(f"{kind} 页脚无 PAGE 域")
            continue
        text = _text(page_p)
        if not re.fullmatch(r"— \d* —", text):
            problems.append(f"{kind} 页脚文字“{text}”")
        for r in _text_runs(page_p):
            font = d.rprop(page_p, r, "w:rFonts", "w:eastAsia") or ""
            sz = _twips(d.rprop(page_p, r, "w:sz")) / 2
            if "宋体" not in font or sz != g.PAGE_NUMBER_SIZE_PT:
                problems.append(f"{kind} 页脚 {font} {sz:g} pt")
                break
        jc = d.pprop(page_p, "w:jc")
        ind = _twips(d.pprop(page_p, "w:ind", f"w:{side}")) / 20
        if jc != want_jc or not _near(ind, g.PAGE_NUMBER_SIZE_PT, 0.5):
            placement.append(f"{kind} {jc} 缩进 {ind:g} pt")
    add("7.5 页码“— N —”4号宋体", not problems, "；".join(problems) or "单双页均为“— PAGE —”宋体 14 pt",
        "“— N —”，宋体 14 pt，PAGE 域")
    add("7.5 单页码居右空一字、双页码居左空一字", even_odd and not placement,
        ("" if even_odd else "未设 evenAndOddHeaders；") + ("；".join(placement) or "单页右/双页左，各缩进 14 pt"),
        "evenAndOddHeaders；单页右缩进一字，双页左缩进一字")
    dash_mm = g.twips_to_mm(ph - margins["footer"]) - g.FOOTER_BASELINE_ABOVE_MM \
        - g.DASH_ABOVE_BASELINE_EM * g.PAGE_NUMBER_SIZE_PT / g.PT_PER_MM
    gap = dash_mm - g.twips_to_mm(ph - margins["bottom"])
    add("7.5 一字线距版心下边缘7 mm", _near(gap, g.PAGE_NUMBER_GAP_MM, 0.5), f"{gap:.2f} mm（w:footer={margins['footer']:.0f}）",
        "7±0.5 mm（按 LO 页脚模型推算）")

    # --- 7.4 版记 ---
    tables = [t for t in body if t.tag == qn("w:tbl")]
    colophon = tables[-1] if tables else None
    if colophon is None or not any("印发" in _text(p) for p in colophon.iter(qn("w:p"))):
        add("7.4 版记", False, "未找到版记表格", "抄送、印发机关和印发日期，分隔线 156 mm")
        return results
    tblw = colophon.find("w:tblPr/w:tblW", NS)
    width_mm = g.twips_to_mm(_twips(tblw.get(qn("w:w")))) if tblw is not None and tblw.get(qn("w:type")) == "dxa" else 0
    borders = {b: colophon.find(f"w:tblPr/w:tblBorders/w:{b}", NS) for b in ("top", "bottom", "insideH")}
    sz = {k: (v.get(qn("w:sz")) if v is not None and v.get(qn("w:val")) not in ("nil", "none") else None)
          for k, v in borders.items()}
    rows = colophon.findall("w:tr", NS)
    ok = _near(width_mm, 156, 0.5) and sz["top"] == str(g.COLOPHON_HEAVY_SZ) \
        and sz["bottom"] == str(g.COLOPHON_HEAVY_SZ) and (len(rows) < 2 or sz["insideH"] == str(g.COLOPHON_LIGHT_SZ))
    add("7.4.1 版记分隔线156 mm、粗0.35/细0.25 mm", ok,
        f"{width_mm:.2f} mm，上 {sz['top']} 下 {sz['bottom']} 中 {sz['insideH']}（1/8 pt）",
        "156 mm，首末 w:sz=8（0.35 mm），中间 w:sz=6（0.25 mm）")
    cps = list(colophon.iter(qn("w:p")))
    cc = next((p for p in cps if _text(p).startswith("抄送：")), None)
    if cc is None:
        add("7.4.2 抄送以“。”结尾、4号仿宋", True, "无抄送", "如有抄送，14 pt 仿宋，以“。”结尾")
    else:
        runs = _text_runs(cc)
        fonts = {d.rprop(cc, r, "w:rFonts", "w:eastAsia") or "" for r in runs}
        sizes = {_twips(d.rprop(cc, r, "w:sz")) / 2 for r in runs}
        text = _text(cc)
        ok = text.endswith("。") and sizes == {14.0} and all("仿宋" in f for f in fonts)
        add("7.4.2 抄送以“。”结尾、4号仿宋", ok, f"“{text[-6:]}” {'/'.join(sorted(fonts))} "
            f"{'/'.join(f'{s:g}' for s in sorted(sizes))} pt", "14 pt 仿宋，以“。”结尾")
    printed = next((p for p in cps if "印发" in _text(p)), None)
    text = _text(printed) if printed is not None else ""
    m = re.fullmatch(r"(.+)\t(\d{4}年[1-9]\d?月[1-9]\d?日)印发", text)
    tab_right = printed is not None and printed.find("w:pPr/w:tabs/w:tab[@w:val='right']", NS) is not None
    sizes = {_twips(d.rprop(printed, r, "w:sz")) / 2 for r in _text_runs(printed)} if printed is not None else set()
    add("7.4.3 印发机关和印发日期（“YYYY年M月D日印发”右空一字）", bool(m) and tab_right and sizes == {14.0},
        text.replace("\t", " ⇥ ") or "无", "印发机关 ⇥ YYYY年M月D日印发，14 pt，右对齐制表位")
    return results


__all__ = ["CheckResult", "check_gbt9704"]
