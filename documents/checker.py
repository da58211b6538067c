"""GB/T 9704-2012 conformance checker for DOCX (DOMAIN.md Appendix A.1, §10 信函/纪要).

Reads the DOCX back with python-docx/lxml and reports each rule decidable from the file's structure. Positions
that depend on layout (the 标志's top, the red rule's gap, the page-number dash, the 信函 double lines) are computed
from the paragraph flow and the anchored shapes with LibreOffice's measured model (documents/rendering/geometry.py,
STACK.md §13); actual line breaking and pagination need a renderer and are not checked here.

Elements are found by the "GB …" paragraph and character styles our renderer writes; the 发文字号 and 成文日期 fall
back to text patterns so that foreign documents still get those checks. The rule set follows the layout the
renderer records in the core properties (keywords "gbt9704-layout:… gbt9704-sealed:…"): 文件格式 by default.
"""

from __future__ import annotations

import datetime
import io
import itertools
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docx import Document
from docx.oxml.ns import qn

from documents.numbering import minutes_number_ok, parse_doc_number
from documents.rendering import geometry as g
from documents.rendering.docx import (
    CHAR_HEADER_MARKS,
    HEADING_FONTS,
    STYLE_ATTACHMENT,
    STYLE_ATTACHMENT_LABEL,
    STYLE_ATTACHMENT_TITLE,
    STYLE_ATTENDANCE,
    STYLE_BLANK,
    STYLE_BODY,
    STYLE_DATE,
    STYLE_DOC_NUMBER,
    STYLE_HEADINGS,
    STYLE_MARK,
    STYLE_RECIPIENTS,
    STYLE_SIGNATURE,
    STYLE_TABLE_CELL,
    STYLE_TABLE_HEAD,
    STYLE_TITLE,
    UPWARD_CATEGORY,
    parse_layout_keywords,
)
from documents.rendering.layout import SEAL_GAP_PT, SEAL_NOMINAL_DIAMETER_PT
from documents.rendering.spec import LAYOUTS

NS = {
    "w": "http://schemas.openxmlformats.org/wordprocessingml/2006/main",
    "wp": "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing",
    "a": "http://schemas.openxmlformats.org/drawingml/2006/main",
    "wps": "http://schemas.microsoft.com/office/word/2010/wordprocessingShape",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
}
COPY_RE = re.compile(r"^[0-9]{6}$")  # ASCII digits (\d would accept full-width ones)
SECRECY_RE = re.compile(r"^(绝密|机密|秘密)(★([1-9][0-9]*(年|个月)|长期))?$")
URGENCY_RE = re.compile(r"^(特急|加急)$")
MINUTES_NUMBER_RE = re.compile(r"^第[1-9]\d*期$")
ATTACHMENT_LABEL_RE = re.compile(r"^附件([1-9]\d*)?$")
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


_CLAUSE_RE = re.compile(r"^(\d+(?:\.\d+)*)\s+(.+)$")


@dataclass(frozen=True)
class CheckSummary:
    """What the 核稿 clerk reads first: 符合, or the few rules that fail in plain words; every result (with the
    measured and required values) stays available for a disclosure."""

    passed: bool
    headline: str
    failures: tuple[str, ...]
    results: tuple[CheckResult, ...]


def plain_rule(rule: str) -> str:
    """"7.3.1 标题2号小标宋居中" → "标题2号小标宋居中（第7.3.1条）": the requirement first, the clause after."""
    match = _CLAUSE_RE.match(rule.strip())
    return f"{match.group(2)}（第{match.group(1)}条）" if match else rule.strip()


def summarise_gbt9704(results: list[CheckResult]) -> CheckSummary:
    failed = [r for r in results if not r.passed]
    if not failed:
        headline = "符合 GB/T 9704-2012"
    else:
        headline = f"有 {len(failed)} 项不符合 GB/T 9704-2012，须修改后才能核稿通过"
    return CheckSummary(passed=not failed, headline=headline,
                        failures=tuple(dict.fromkeys(plain_rule(r.rule) for r in failed)), results=tuple(results))


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

    def char_style_chain(self, style_id: str | None) -> list[Any]:
        chain, seen, sid = [], set(), style_id
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
    def r_style(r) -> str | None:
        rs = r.find("w:rPr/w:rStyle", NS) if r is not None else None
        return rs.get(qn("w:val")) if rs is not None else None

    def rprop(self, p, r, path: str, attr: str = "w:val") -> str | None:
        """Run property: direct → character style chain → paragraph style chain → docDefaults."""
        sources = [r.find("w:rPr", NS)] if r is not None else []
        sources += [st.find("w:rPr", NS) for st in self.char_style_chain(self.r_style(r))]
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


_OPAQUE = {qn("w:drawing"), qn("w:pict"), "{http://schemas.openxmlformats.org/markup-compatibility/2006}AlternateContent"}


def _runs(p) -> list[Any]:
    """The paragraph's own runs, not those of text boxes anchored in it."""
    out, stack = [], list(reversed(list(p)))
    while stack:
        el = stack.pop()
        if el.tag == qn("w:r"):
            out.append(el)
            continue
        if el.tag in _OPAQUE or el.tag == qn("w:pPr"):
            continue
        stack.extend(reversed(list(el)))
    return out


def _text(p) -> str:
    # Only run content: a w:tab inside pPr/w:tabs is a tab stop, not a character.
    out = []
    for r in _runs(p):
        for el in r:
            if el.tag == qn("w:tab"):
                out.append("\t")
            elif el.tag == qn("w:t"):
                out.append(el.text or "")
    return "".join(out)


def _text_runs(p) -> list[Any]:
    return [r for r in _runs(p) if r.find("w:t", NS) is not None]


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


def _on(d: _Doc, p, tag: str) -> bool:
    """A boolean paragraph property (e.g. w:pageBreakBefore): present without w:val, or with a true value."""
    for ppr in [p.find("w:pPr", NS)] + [st.find("w:pPr", NS) for st in d.style_chain(d.p_style(p))]:
        el = ppr.find(tag, NS) if ppr is not None else None
        if el is not None:
            return el.get(qn("w:val")) in (None, "1", "true", "on")
    return False


def _sections(body) -> list[Any]:
    """sectPr elements in document order (paragraph-level ones end earlier sections; the body's is the last)."""
    found = [p.find("w:pPr/w:sectPr", NS) for p in body if p.tag == qn("w:p")]
    return [s for s in found if s is not None] + [body.find("w:sectPr", NS)]


def _boxes(root) -> list[tuple[Any, Any]]:
    """(wp:anchor, w:txbxContent) for each text box anchored under root."""
    out = []
    for a in root.iter(qn("wp:anchor")):
        content = a.find(".//wps:txbx/w:txbxContent", NS)
        if content is not None:
            out.append((a, content))
    return out


def _lines(root) -> list[Any]:
    return [a for a in root.iter(qn("wp:anchor")) if a.find(".//a:prstGeom[@prst='line']", NS) is not None]


def _pos(anchor, axis: str) -> tuple[str | None, float | None, str | None]:
    """(relativeFrom, offset in mm or None, align) of an anchor's positionH/positionV."""
    el = anchor.find(f"wp:position{axis}", NS)
    if el is None:
        return None, None, None
    off = el.find("wp:posOffset", NS)
    align = el.find("wp:align", NS)
    return (el.get("relativeFrom"), int(off.text) / g.EMU_PER_MM if off is not None else None,
            align.text if align is not None else None)


def _line_weight_pt(anchor) -> float:
    ln = anchor.find(".//a:ln", NS)
    return int(ln.get("w", "0")) / 12700 if ln is not None else 0.0


def _line_colour(anchor) -> str:
    clr = anchor.find(".//a:ln//a:srgbClr", NS)
    return clr.get("val").upper() if clr is not None else "无"


def _has_page_field(part_element) -> bool:
    return any("PAGE" in (x.text or "") for x in part_element.iter(qn("w:instrText"))) or any(
        "PAGE" in (f.get(qn("w:instr")) or "") for f in part_element.iter(qn("w:fldSimple")))


class _Checker:
    def __init__(self, source: bytes | str | Path, upward: bool | None, layout: str | None) -> None:
        self.d = d = _Doc(source)
        self.results: list[CheckResult] = []
        self.body = d.doc.element.body
        self.paras = [p for p in self.body if p.tag == qn("w:p")]
        self.by_style: dict[str, list[Any]] = {}
        for p in self.paras:
            self.by_style.setdefault(d.p_style(p) or "", []).append(p)
        recorded, sealed = parse_layout_keywords(d.doc.core_properties.keywords or "")
        self.layout = layout or recorded or "standard"
        if self.layout not in LAYOUTS:
            raise ValueError(f"版式须为 {'、'.join(LAYOUTS)} 之一，而不是 {self.layout!r}")
        self.sealed = sealed if sealed is not None else self.layout != "minutes"
        self.upward = upward if upward is not None else (d.doc.core_properties.category or "") == UPWARD_CATEGORY
        self.sections = _sections(self.body)
        self.sect = self.sections[-1]  # page setup is the same in every section; read the body's
        self.first_sect = self.sections[0]
        self.number_p = None
        self.number_text = ""

    def add(self, rule: str, passed: bool, measured: str, expected: str) -> None:
        self.results.append(CheckResult(rule, bool(passed), measured, expected))

    def styled(self, name: str) -> list[Any]:
        return self.by_style.get(_sid(name), [])

    def fonts_sizes(self, p, runs: list[Any] | None = None) -> tuple[set[str], set[float]]:
        runs = _text_runs(p) if runs is None else runs
        fonts = {self.d.rprop(p, r, "w:rFonts", "w:eastAsia") or "" for r in runs}
        sizes = {_twips(self.d.rprop(p, r, "w:sz")) / 2 for r in runs}
        return fonts, sizes

    def run(self) -> list[CheckResult]:
        self.page_and_grid()
        self.body_font()
        self.header_marks()
        if self.layout == "letter":
            self.letter_head()
        else:
            self.mark()
            self.doc_number()
            self.red_rule()
            self.title_after_rule()
        self.title()
        self.headings()
        self.tables()
        self.attachment_note()
        if self.layout == "minutes":
            self.minutes()
        self.signatures_and_date()
        self.attachment_pages()
        self.page_numbers()
        self.colophon()
        return self.results

    # --- 5.1 / 5.2 page, margins, grid -------------------------------------------------------------------------
    def page_and_grid(self) -> None:
        d, add, sect = self.d, self.add, self.sect
        pg = sect.find("w:pgSz", NS)
        mar = sect.find("w:pgMar", NS)
        pw, ph = _twips(pg.get(qn("w:w"))), _twips(pg.get(qn("w:h")))
        self.pw, self.ph = pw, ph
        add("5.1 幅面 A4", _near(g.twips_to_mm(pw), 210, 0.5) and _near(g.twips_to_mm(ph), 297, 0.5),
            f"{g.twips_to_mm(pw):.1f}×{g.twips_to_mm(ph):.1f} mm", "210×297 mm")
        margins = {k: _twips(mar.get(qn(f"w:{k}"))) for k in ("top", "bottom", "left", "right", "footer")}
        self.margins = margins
        for key, label, target in (("top", "天头（上白边）", 37), ("left", "订口（左白边）", 28),
                                   ("bottom", "下白边", 35), ("right", "右白边", 26)):
            add(f"5.2.1 {label}", _near(g.twips_to_mm(margins[key]), target, 1.0), _mm(margins[key]),
                f"{target}±1 mm")
        cw = g.twips_to_mm(pw - margins["left"] - margins["right"])
        chh = g.twips_to_mm(ph - margins["top"] - margins["bottom"])
        add("5.2.1 版心宽", _near(cw, 156, 0.5), f"{cw:.2f} mm", "156 mm")
        add("5.2.1 版心高（不含页码）", _near(chh, 225, 0.5), f"{chh:.2f} mm", "225 mm")

        grid = sect.find("w:docGrid", NS)
        grid_type = grid.get(qn("w:type")) if grid is not None else None
        pitch = _twips(grid.get(qn("w:linePitch"))) if grid is not None else 0
        normal = d.style_chain(None)
        normal_id = normal[0].get(qn("w:styleId")) if normal else "Normal"
        self.normal_p = normal_p = self.body.makeelement(qn("w:p"))  # a bare paragraph resolves to the default
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
            f"字号 {size_pt:g} pt，字距 {spacing_pt:g} pt → {chars} 字/行"
            + ("；linesAndChars 负 charSpace" if bad_grid else ""),
            "28 字/行（16 pt 字距 −0.25 pt）")

    # --- 5.2.2 body font ------------------------------------------------------------------------------------------
    def body_font(self) -> None:
        d = self.d
        body_ids = [_sid(s) for s in (STYLE_BODY, STYLE_RECIPIENTS, STYLE_HEADINGS[3], STYLE_HEADINGS[4])]
        checked = [self.normal_p] + [p for sid in body_ids for p in self.by_style.get(sid, [])]
        bad = []
        for p in checked:
            for r in _text_runs(p) or [None]:
                font = d.rprop(p, r, "w:rFonts", "w:eastAsia") or ""
                sz = _twips(d.rprop(p, r, "w:sz")) / 2
                if "仿宋" not in font or sz != g.BODY_SIZE_PT:
                    bad.append(f"{font or '无东亚字体'} {sz:g} pt")
        self.add("5.2.2 正文3号仿宋（东亚字体）", not bad,
                 "；".join(sorted(set(bad))) or f"仿宋 16 pt（{len(checked)} 段）", "w:eastAsia 仿宋，16 pt")

    # --- 7.2.1–7.2.3 份号、密级和保密期限、紧急程度 -------------------------------------------------------------------
    def header_marks(self) -> None:
        d, add = self.d, self.add
        kinds = {_sid(v): k for k, v in CHAR_HEADER_MARKS.items()}
        found: list[tuple[str, Any, Any, int]] = []  # (kind, paragraph, run, paragraph index)
        for i, p in enumerate(self.paras[:8]):
            for r in _text_runs(p):
                kind = kinds.get(d.r_style(r) or "")
                if kind:
                    found.append((kind, p, r, i))
        self.header_paras = {id(p) for _, p, _, _ in found}
        if not found:
            add("7.2.1–7.2.3 份号、密级和保密期限、紧急程度", True, "未标注", "如需标注：份号→密级→紧急程度，顶格分行")
            return

        def text(r) -> str:
            return "".join(t.text or "" for t in r.iter(qn("w:t")))

        def flush_left(p) -> bool:
            left = _twips(d.pprop(p, "w:ind", "w:left")) + _twips(d.pprop(p, "w:ind", "w:firstLine")) \
                - _twips(d.pprop(p, "w:ind", "w:hanging"))
            return d.pprop(p, "w:jc") in (None, "left", "start", "both") and abs(left) < 1 and \
                _text(p).startswith(text_of_first(p))

        def text_of_first(p) -> str:
            runs = _text_runs(p)
            return text(runs[0]) if runs else ""

        by_kind = {k: (p, r) for k, p, r, _ in found}
        order = [k for k, *_ in found]
        want = [k for k in ("copy", "secrecy", "urgency") if k in by_kind]
        one_per_line = len({i for *_, i in found}) == len(found) and [i for *_, i in found] == list(range(len(found)))
        add("7.2.1–7.2.3 份号→密级→紧急程度顺序、顶格、每行一项", order == want and one_per_line
            and all(flush_left(p) for _, p, _, _ in found),
            "；".join(f"第{i + 1}行 {text(r)}" for _, _, r, i in found),
            "自版心左上角第一行起，按份号、密级和保密期限、紧急程度顺序，每行一项，顶格")
        if "copy" in by_kind:
            p, r = by_kind["copy"]
            t = text(r)
            add("7.2.1 份号6位3号阿拉伯数字、顶格第一行", bool(COPY_RE.match(t)) and found[0][0] == "copy"
                and found[0][3] == 0, f"“{t}”，第{found[0][3] + 1 if found[0][0] == 'copy' else '?'}行",
                "6位阿拉伯数字（如 000001），版心左上角第一行")
        elif "secrecy" in by_kind:
            add("7.2.1 份号6位3号阿拉伯数字、顶格第一行", False, "涉密公文未标注份号", "涉密公文应当标注份号")
        for kind, rule, regex, expected in (
            ("secrecy", "7.2.2 密级和保密期限3号黑体（如“机密★1年”）", SECRECY_RE, "绝密/机密/秘密[★N年]，黑体 16 pt"),
            ("urgency", "7.2.3 紧急程度3号黑体", URGENCY_RE, "特急/加急，黑体 16 pt"),
        ):
            if kind not in by_kind:
                continue
            p, r = by_kind[kind]
            fonts, sizes = self.fonts_sizes(p, [r])
            t = text(r)
            add(rule, bool(regex.match(t)) and all("黑体" in f for f in fonts) and sizes == {16.0},
                f"“{t}” {'/'.join(sorted(fonts))} {'/'.join(f'{s:g}' for s in sorted(sizes))} pt", expected)

    # --- 7.2.5 发文机关标志 (文件格式, 纪要格式) -----------------------------------------------------------------------
    def mark(self) -> None:
        d, add = self.d, self.add
        marks = self.styled(STYLE_MARK)
        box_marks = [(a, p) for a, c in _boxes(self.body) for p in c.iter(qn("w:p"))
                     if d.p_style(p) == _sid(STYLE_MARK)]
        if self.layout == "minutes":
            text = _text(marks[0]) if marks else ""
            add("10.3 纪要标志“×××纪要”", text.endswith("纪要"), text or "未找到", "以“纪要”结尾")
        if not marks and box_marks:
            self.joint_mark(box_marks)
            return
        if not marks:
            add("7.2.5 发文机关标志", False, "未找到（GB Mark 样式）", "首段，红色小标宋居中")
            return
        m = marks[0]
        runs = _text_runs(m)
        colours = {(d.rprop(m, r, "w:color") or "000000").upper() for r in runs}
        add("7.2.5 发文机关标志红色", colours == {g.RED}, "、".join(sorted(colours)) or "无文字", g.RED)
        add("7.2.5 发文机关标志居中", d.pprop(m, "w:jc") == "center", d.pprop(m, "w:jc") or "left", "center")
        fonts, _ = self.fonts_sizes(m, runs)
        add("7.2.5 发文机关标志小标宋", bool(fonts) and all("小标宋" in f for f in fonts), "、".join(sorted(fonts)),
            g.FONT_XIAOBIAOSONG)
        size = _twips(d.rprop(m, runs[0] if runs else None, "w:sz")) / 2
        before = _twips(d.pprop(m, "w:spacing", "w:before"))
        mline = _twips(d.pprop(m, "w:spacing", "w:line"))
        above = self.paras[: self.paras.index(m)]
        first = all(id(p) in self.header_paras for p in above)  # only 份号/密级/紧急程度 lines may precede it
        exact = d.pprop(m, "w:spacing", "w:lineRule") == "exact" and d.pprop(m, "w:snapToGrid") == "0"
        top = g.mark_em_top_mm(before, mline, size) + sum(_pitches(d, p) for p in above) * g.LINE_PITCH_MM
        add("7.2.5 标志上边缘距版心上边缘35 mm", first and exact and _near(top, g.MARK_OFFSET_MM, 0.5),
            f"{top:.2f} mm" + ("" if first else "（前面有份号、密级、紧急程度以外的段落）")
            + ("" if exact else "（非固定行距/未脱离网格，无法推算）"),
            "35±0.5 mm（按 LO 固定行距模型推算）")

    def _box_em_top_mm(self, anchor, p) -> tuple[float | None, float]:
        """Page-relative em top of a 标志 line in a text box, and its size."""
        d = self.d
        runs = _text_runs(p)
        size = _twips(d.rprop(p, runs[0] if runs else None, "w:sz")) / 2
        line = _twips(d.pprop(p, "w:spacing", "w:line"))
        rel, off, _ = _pos(anchor, "V")
        if rel != "page" or off is None or d.pprop(p, "w:spacing", "w:lineRule") != "exact":
            return None, size
        return off + (g.MARK_BASELINE_FRACTION * line / 20 - g.EM_ASCENT * size) / g.PT_PER_MM, size

    def joint_mark(self, box_marks: list[tuple[Any, Any]]) -> None:
        d, add = self.d, self.add
        colours = {(d.rprop(p, r, "w:color") or "000000").upper() for _, p in box_marks for r in _text_runs(p)}
        fonts = {d.rprop(p, r, "w:rFonts", "w:eastAsia") or "" for _, p in box_marks for r in _text_runs(p)}
        add("7.2.5 发文机关标志红色", colours == {g.RED}, "、".join(sorted(colours)), g.RED)
        add("7.2.5 发文机关标志小标宋", all("小标宋" in f for f in fonts), "、".join(sorted(fonts)), g.FONT_XIAOBIAOSONG)
        placed = []
        for a, p in box_marks:
            top, size = self._box_em_top_mm(a, p)
            _, x, _ = _pos(a, "H")
            width = int(a.find("wp:extent", NS).get("cx")) / g.EMU_PER_MM
            placed.append((x or 0.0, top, size, width, _text(p)))
        # Names share the leftmost column; a box further right is the suffix ("文件"), which may be absent.
        left_x = min(t[0] for t in placed)
        names = sorted((t for t in placed if abs(t[0] - left_x) < 0.5), key=lambda t: t[1] or 0)
        rest = [t for t in placed if abs(t[0] - left_x) >= 0.5]
        suffix = rest[0] if len(rest) == 1 else None
        version_top = g.twips_to_mm(self.margins["top"])
        rule = "7.2.5 联合行文标志（名称上下排列，“文件”居右、上下居中）"
        if len(names) < 2 or len(rest) > 1 or any(t[1] is None for t in placed):
            add(rule, False, f"{len(names)} 个名称框、{len(rest)} 个其他框"
                + ("，位置无法推算" if any(t[1] is None for t in placed) else ""),
                "至少两个发文机关名称上下排列，右侧至多一个“文件”")
            return
        first_top = names[0][1] - version_top
        add("7.2.5 标志上边缘距版心上边缘35 mm", _near(first_top, g.MARK_OFFSET_MM, 0.5), f"{first_top:.2f} mm",
            "35±0.5 mm（按 LO 固定行距模型推算）")
        stacked = all(b[1] - a[1] >= a[2] / g.PT_PER_MM for a, b in itertools.pairwise(names))
        listed = f"{len(names)} 个名称（{'、'.join(t[4] for t in names)}）"
        if suffix is None:
            add(rule, stacked, listed + "，无“文件”", "主办机关在前，名称上下排列")
            return
        block_mid = (names[0][1] + names[-1][1] + names[-1][2] / g.PT_PER_MM) / 2
        suffix_mid = suffix[1] + suffix[2] / g.PT_PER_MM / 2
        right_of = suffix[0] >= max(x + w for x, _, _, w, _ in names) - 0.6  # box slack of 2 pt
        add(rule, right_of and stacked and _near(suffix_mid, block_mid, 0.5),
            f"{listed}，“{suffix[4]}”中线 {suffix_mid:.2f} mm，名称块中线 {block_mid:.2f} mm"
            + ("" if right_of else "，不在名称右侧"),
            "主办机关在前，名称上下排列，“文件”在名称右侧、以名称为准上下居中（±0.5 mm）")

    # --- 7.2.4 发文字号, 7.2.6 签发人 --------------------------------------------------------------------------
    def _find_number(self) -> None:
        marks = {_sid(v) for v in CHAR_HEADER_MARKS.values()}
        for p in [p for p in self.styled(STYLE_DOC_NUMBER) if _text(p).strip()]:
            own = "".join(("\t" if el.tag == qn("w:tab") else (el.text or ""))
                          for r in _runs(p) if self.d.r_style(r) not in marks for el in r
                          if el.tag in (qn("w:t"), qn("w:tab")))
            head = next((seg.strip() for seg in own.split("\t") if seg.strip()), "")
            if head:
                self.number_p, self.number_text = p, head
        if self.number_p is None:  # foreign document: first short paragraph ending in 号 with a year in it
            for p in self.paras[:15]:
                t = _text(p).split("\t")[0].strip()
                if LOOSE_NUMBER_RE.search(t):
                    self.number_p, self.number_text = p, t
                    break

    def _number_format(self) -> None:
        rule, expected = "7.2.4 发文字号格式", "机关代字〔YYYY〕N号，无“第”、无虚位"
        if self.number_p is None:
            if self.layout == "minutes":
                self.add(rule, True, "无（纪要可不编号）", expected + "；纪要可用“第N期”")
            else:
                self.add(rule, False, "未找到发文字号", expected)
            return
        if self.layout == "minutes" and (MINUTES_NUMBER_RE.match(self.number_text)
                                         or minutes_number_ok(self.number_text)):
            self.add(rule, True, self.number_text, expected + "；纪要可用“〔YYYY〕N号”“YYYY年第N期”或“第N期”")
            return
        try:
            parse_doc_number(self.number_text)
            self.add(rule, True, self.number_text, expected)
        except ValueError as exc:
            self.add(rule, False, f"{self.number_text}：{exc}", expected)

    def doc_number(self) -> None:
        d, add = self.d, self.add
        self._find_number()
        self._number_format()
        number_p = self.number_p
        if number_p is None and self.layout == "minutes":
            number_p = self.number_p = next(iter(self.styled(STYLE_DOC_NUMBER)), None)
        jc = d.pprop(number_p, "w:jc") if number_p is not None else None
        left_ind = _twips(d.pprop(number_p, "w:ind", "w:left")) / 20 if number_p is not None else 0
        if self.upward:
            add("7.2.4 上行文发文字号居左空一字", jc in ("left", "start", "both", None) and _near(left_ind, 16, 0.5),
                f"{jc or 'left'}，左缩进 {left_ind:g} pt", "居左，左缩进一字（≈16 pt）")
            label_ok = name_ok = False
            names = ""
            for p in self.styled(STYLE_DOC_NUMBER):
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

    # --- 7.2.7 red rule -----------------------------------------------------------------------------------------
    def red_rule(self) -> None:
        add = self.add
        lines = _lines(self.body)
        anchor = lines[0] if lines else None
        if anchor is None:
            add("7.2.7 版头红色分隔线156 mm", False, "未找到直线形状", "红色，156 mm，版心居中")
            return
        cx = int(anchor.find("wp:extent", NS).get("cx"))
        colour = _line_colour(anchor)
        posh = anchor.find("wp:positionH", NS)
        rel, off, align = _pos(anchor, "H")
        centred = posh is not None and ((rel == "margin" and off is not None and abs(off) < 0.01) or align == "center")
        w_mm = cx / g.EMU_PER_MM
        add("7.2.7 版头红色分隔线156 mm", _near(w_mm, 156, 0.5) and colour == g.RED and centred,
            f"{w_mm:.2f} mm，{colour}，{'居版心' if centred else '未对齐版心'}", "红色，156 mm，版心居中")
        vrel, voff, _ = _pos(anchor, "V")
        if self.number_p is None or voff is None or vrel != "page":
            add("7.2.7 分隔线在发文字号下4 mm", False, "无法推算（需相对页面定位）", "4±0.5 mm")
            return
        idx = sum(_pitches(self.d, p) for p in self.paras[: self.paras.index(self.number_p)])
        em_bottom = g.twips_to_mm(self.margins["top"]) + (g.DOC_NUMBER_EM_BOTTOM_MM_LINE7 - 37.0) \
            + (idx - g.DOC_NUMBER_LINE) * g.LINE_PITCH_MM
        gap = voff - em_bottom
        add("7.2.7 分隔线在发文字号下4 mm", _near(gap, g.RED_RULE_GAP_MM, 0.5), f"{gap:.2f} mm",
            "4±0.5 mm（按网格行推算）")

    def title_after_rule(self) -> None:
        titles = self.styled(STYLE_TITLE)
        if titles and self.number_p is not None:
            between = self.paras[self.paras.index(self.number_p) + 1 : self.paras.index(titles[0])]
            blanks = sum(1 for p in between if not _text(p).strip())
            self.add("7.3.1 标题在红色分隔线下空二行", blanks == 2 and len(between) == 2, f"空 {blanks} 行", "空 2 行")

    # --- 10.1 信函格式 ------------------------------------------------------------------------------------------
    def letter_head(self) -> None:
        d, add = self.d, self.add
        box_marks = [(a, p) for a, c in _boxes(self.body) for p in c.iter(qn("w:p"))
                     if d.p_style(p) == _sid(STYLE_MARK)]
        mark_bottom = None
        if len(box_marks) != 1:
            add("10.1 信函标志上边缘距上页边30 mm、红色小标宋居中", False, f"{len(box_marks)} 个标志文本框",
                "一个文本框，标志上边缘距上页边30 mm")
        else:
            a, p = box_marks[0]
            top, size = self._box_em_top_mm(a, p)
            runs = _text_runs(p)
            colours = {(d.rprop(p, r, "w:color") or "000000").upper() for r in runs}
            fonts, _ = self.fonts_sizes(p, runs)
            rel, off, _ = _pos(a, "H")
            width = int(a.find("wp:extent", NS).get("cx")) / g.EMU_PER_MM
            centred = rel == "margin" and off is not None and abs(off) < 0.01 and _near(width, 156, 0.5) \
                and d.pprop(p, "w:jc") == "center"
            ok = top is not None and _near(top, g.LETTER_MARK_TOP_MM, 0.5) and colours == {g.RED} \
                and all("小标宋" in f for f in fonts) and centred
            add("10.1 信函标志上边缘距上页边30 mm、红色小标宋居中", ok,
                f"{top:.2f} mm，{'、'.join(sorted(colours))}，{'、'.join(sorted(fonts))}" if top is not None
                else "位置无法推算", "30±0.5 mm，红色，小标宋，版心居中")
            if top is not None:
                mark_bottom = top + size / g.PT_PER_MM
        rules = []
        for a in _lines(self.body):
            rel, off, _ = _pos(a, "H")
            vrel, voff, _ = _pos(a, "V")
            length = int(a.find("wp:extent", NS).get("cx")) / g.EMU_PER_MM
            x0 = (off or 0) + (g.twips_to_mm(self.margins["left"]) if rel == "margin" else 0)
            rules.append((voff if vrel == "page" else None, _line_weight_pt(a), length, x0, _line_colour(a)))
        ok = len(rules) == 4 and all(r[0] is not None for r in rules)
        detail = f"{len(rules)} 条线"
        first_bottom = None
        if ok:
            rules.sort(key=lambda r: r[0])
            top_pair, bottom_pair = rules[:2], rules[2:]
            shape_ok = all(_near(r[2], g.LETTER_RULE_LENGTH_MM, 0.5) and _near(r[3] + r[2] / 2, 105, 0.5)
                           and r[4] == g.RED for r in rules)
            thick_thin = top_pair[0][1] > top_pair[1][1] and bottom_pair[0][1] < bottom_pair[1][1]
            first_top_edge = top_pair[0][0] - top_pair[0][1] / g.PT_PER_MM / 2
            first_bottom = top_pair[1][0] + top_pair[1][1] / g.PT_PER_MM / 2
            last_bottom_edge = bottom_pair[1][0] + bottom_pair[1][1] / g.PT_PER_MM / 2
            gap = first_top_edge - mark_bottom if mark_bottom is not None else float("nan")
            ok = shape_ok and thick_thin and _near(gap, g.LETTER_RULE_GAP_MM, 0.5) \
                and _near(297 - last_bottom_edge, 20, 0.5)
            detail = (f"长 {'/'.join(f'{r[2]:.1f}' for r in rules)} mm，粗细 {'/'.join(f'{r[1]:g}' for r in rules)} pt，"
                      f"标志下 {gap:.2f} mm，下双线距下页边 {297 - last_bottom_edge:.2f} mm")
        add("10.1 信函红色双线170 mm（标志下4 mm上粗下细，距下页边20 mm上细下粗）", ok, detail,
            "4 条红线各 170 mm 居中；标志下 4±0.5 mm 上粗下细；下双线距下页边 20±0.5 mm 上细下粗")

        self._find_number()
        self._number_format()
        p = self.number_p
        if p is None:
            add("10.1 发文字号顶格居版心右边缘、距双线7/8字", False, "未找到发文字号", "右对齐制表位在版心右边缘")
        else:
            tabs = [t for t in p.findall("w:pPr/w:tabs/w:tab", NS) if t.get(qn("w:val")) == "right"]
            tab_pt = _twips(tabs[0].get(qn("w:pos"))) / 20 if tabs else 0
            width_pt = (self.pw - self.margins["left"] - self.margins["right"]) / 20
            right_ind = _twips(d.pprop(p, "w:ind", "w:right"))
            idx = self.paras.index(p)
            offgrid = d.pprop(p, "w:snapToGrid") == "0" and d.pprop(p, "w:spacing", "w:lineRule") == "exact"
            em_top = None
            if offgrid and idx == 0:
                before = _twips(d.pprop(p, "w:spacing", "w:before")) / 20
                line = _twips(d.pprop(p, "w:spacing", "w:line")) / 20
                em_top = g.twips_to_mm(self.margins["top"]) + (before + g.MARK_BASELINE_FRACTION * line
                                                               - g.EM_ASCENT * g.BODY_SIZE_PT) / g.PT_PER_MM
            gap_pt = (em_top - first_bottom) * g.PT_PER_MM if em_top is not None and first_bottom is not None \
                else float("nan")
            add("10.1 发文字号顶格居版心右边缘、距双线7/8字",
                bool(tabs) and _near(tab_pt, width_pt, 1) and abs(right_ind) < 1
                and _near(gap_pt, g.LETTER_NUMBER_GAP_PT, 1.5),
                f"右对齐制表位 {tab_pt:.1f} pt（版心宽 {width_pt:.1f} pt），距双线 {gap_pt:.2f} pt",
                f"制表位在版心右边缘；字顶距第一条双线 {g.LETTER_NUMBER_GAP_PT:g} pt（3号字高的7/8，±1.5 pt）")
        titles = self.styled(STYLE_TITLE)
        if titles and p is not None:
            above = self.paras[self.paras.index(p) + 1 : self.paras.index(titles[0])]
            header = [q for q in above if id(q) in self.header_paras]
            blanks = [q for q in above if id(q) not in self.header_paras]
            ok = len(blanks) == 2 and all(not _text(q).strip() for q in blanks) and above[: len(header)] == header
            add("10.1 标题与其上最后一个要素相距二行", ok, f"空 {sum(1 for q in blanks if not _text(q).strip())} 行",
                "空 2 行")

    # --- 7.3.1 title, 7.3.3 levels --------------------------------------------------------------------------------
    def title(self) -> None:
        titles = self.styled(STYLE_TITLE)
        if not titles:
            self.add("7.3.1 标题2号小标宋居中", False, "未找到（GB Title 样式）", "22 pt 小标宋，居中")
            return
        t = titles[0]
        fonts, sizes = self.fonts_sizes(t)
        jc = self.d.pprop(t, "w:jc")
        ok = fonts and all("小标宋" in f for f in fonts) and sizes == {22.0} and jc == "center"
        self.add("7.3.1 标题2号小标宋居中", bool(ok),
                 f"{'、'.join(sorted(fonts))} {'/'.join(f'{s:g}' for s in sorted(sizes))} pt {jc}",
                 "方正小标宋简体 22 pt center")

    def headings(self) -> None:
        wrong = []
        count = 0
        for level, font_name in HEADING_FONTS.items():
            for p in self.styled(STYLE_HEADINGS[level]):
                count += 1
                fonts, _ = self.fonts_sizes(p)
                if fonts != {font_name} or not HEADING_PATTERNS[level].match(_text(p)):
                    wrong.append(f"{level}级“{_text(p)[:8]}”{'/'.join(sorted(fonts))}")
        self.add("7.3.3 结构层次序数与字体（黑/楷/仿/仿）", not wrong, "；".join(wrong) or f"{count} 个层次标题正确",
                 "一、黑体；（一）楷体；1. 仿宋；（1）仿宋")

    # --- 8 正文表格 ---------------------------------------------------------------------------------------------
    def tables(self) -> None:
        d = self.d
        tables = [t for t in self.body if t.tag == qn("w:tbl")]
        if not tables:
            self.add("8 表格宽不超出版心、有边框、3号仿宋（表头黑体）", True, "无表格", "如有表格：≤156 mm，有边框")
            return
        problems = []
        for n, t in enumerate(tables, start=1):
            tblw = t.find("w:tblPr/w:tblW", NS)
            width = g.twips_to_mm(_twips(tblw.get(qn("w:w")))) if tblw is not None and \
                tblw.get(qn("w:type")) == "dxa" else None
            grid = sum(_twips(c.get(qn("w:w"))) for c in t.findall("w:tblGrid/w:gridCol", NS))
            if width is None or width > 156.5 or g.twips_to_mm(grid) > 156.5:
                problems.append(f"表{n} 宽 {'未定' if width is None else f'{width:.1f} mm'}")
            borders = {b: t.find(f"w:tblPr/w:tblBorders/w:{b}", NS)
                       for b in ("top", "left", "bottom", "right", "insideH", "insideV")}
            missing = [k for k, v in borders.items() if v is None or v.get(qn("w:val")) in ("nil", "none")]
            if missing:
                problems.append(f"表{n} 缺边框 {'/'.join(missing)}")
            for p in t.iter(qn("w:p")):
                head = d.p_style(p) == _sid(STYLE_TABLE_HEAD)
                fonts, sizes = self.fonts_sizes(p)
                want = "黑体" if head else "仿宋"
                if d.p_style(p) not in (_sid(STYLE_TABLE_HEAD), _sid(STYLE_TABLE_CELL)) or \
                        any(want not in f for f in fonts) or (sizes and sizes != {16.0}):
                    problems.append(f"表{n}“{_text(p)[:6]}” {'/'.join(sorted(fonts))}")
                    break
        self.add("8 表格宽不超出版心、有边框、3号仿宋（表头黑体）", not problems,
                 "；".join(problems) or f"{len(tables)} 个表格，宽 ≤156 mm，四周及内框线齐全",
                 "宽 ≤156 mm，四周及内框线，单元格 16 pt 仿宋（表头黑体）")

    # --- 7.3.2 附件说明 ------------------------------------------------------------------------------------------
    def attachment_note(self) -> None:
        d = self.d
        atts = self.styled(STYLE_ATTACHMENT)
        self.attachment_names: list[str] = []
        if not atts:
            self.add("7.3.2 附件说明", True, "无附件", "如有附件，“附件：”悬挂缩进")
            return
        a0 = atts[0]
        left = _twips(d.pprop(a0, "w:ind", "w:left"))
        hanging = _twips(d.pprop(a0, "w:ind", "w:hanging"))
        first_start = (left - hanging) / 20
        text0 = _text(a0)
        punct = [_text(p) for p in atts if _text(p)[-1:] in "。，；：.、"]
        ok = text0.startswith("附件：") and _near(first_start, 2 * g.CHAR_ADVANCE_PT, 1) and hanging > 0 and not punct
        self.add("7.3.2 附件说明“附件：”左空二字、悬挂缩进", ok,
                 f"首行起点 {first_start:g} pt，悬挂 {hanging / 20:g} pt" + ("，名称后有标点" if punct else ""),
                 "“附件：”起于二字（31.5 pt），回行与名称首字对齐，名称后无标点")
        for i, p in enumerate(atts):
            t = _text(p).removeprefix("附件：") if i == 0 else _text(p)
            self.attachment_names.append(re.sub(r"^\d+\.", "", t) if len(atts) > 1 else t)

    # --- 10.3 纪要 -------------------------------------------------------------------------------------------------
    def minutes(self) -> None:
        d, add = self.d, self.add
        add("10.3 纪要不加盖印章", not self.sealed, "不加盖印章" if not self.sealed else "标记为加盖印章",
            "纪要不加盖印章")
        rows = self.styled(STYLE_ATTENDANCE)
        if not rows:
            add("10.3 出席、请假、列席（“出席”黑体、名单仿宋、回行与冒号后首字对齐）", True, "未列人员",
                "如列人员：“出席：”黑体左空二字，名单仿宋，悬挂对齐")
            return
        problems = []
        for p in rows:
            runs = _text_runs(p)
            label = runs[0] if runs else None
            label_text = "".join(t.text or "" for t in label.iter(qn("w:t"))) if label is not None else ""
            label_font = d.rprop(p, label, "w:rFonts", "w:eastAsia") or ""
            name_fonts = {d.rprop(p, r, "w:rFonts", "w:eastAsia") or "" for r in runs[1:]}
            left = _twips(d.pprop(p, "w:ind", "w:left")) / 20
            hanging = _twips(d.pprop(p, "w:ind", "w:hanging")) / 20
            if not re.fullmatch(r"(出席|请假|列席)：", label_text) or "黑体" not in label_font:
                problems.append(f"“{label_text}” {label_font}")
            if not name_fonts or any("仿宋" not in f for f in name_fonts):
                problems.append(f"名单 {'/'.join(sorted(name_fonts)) or '无'}")
            if not (_near(left - hanging, 2 * g.CHAR_ADVANCE_PT, 1)
                    and _near(hanging, g.ATTENDANCE_LABEL_CHARS * g.CHAR_ADVANCE_PT, 1)):
                problems.append(f"“{label_text}”首行起点 {left - hanging:g} pt、悬挂 {hanging:g} pt")
        add("10.3 出席、请假、列席（“出席”黑体、名单仿宋、回行与冒号后首字对齐）", not problems,
            "；".join(problems) or f"{len(rows)} 行", "“出席：”黑体起于二字（31.5 pt），名单仿宋，悬挂三字（47.25 pt）")

    # --- 7.3.5 署名、成文日期 -------------------------------------------------------------------------------------
    def signatures_and_date(self) -> None:
        d, add = self.d, self.add
        dates = self.styled(STYLE_DATE)
        date_p = dates[0] if dates else next((p for p in self.paras if DATE_RE.match(_text(p).strip())), None)
        if date_p is None:
            add("7.3.5.4 成文日期阿拉伯数字、不编虚位", False, "未找到成文日期", "YYYY年M月D日")
            return
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
        width = (self.pw - self.margins["left"] - self.margins["right"]) / 20
        right = _twips(d.pprop(date_p, "w:ind", "w:right")) / 20
        left = _twips(d.pprop(date_p, "w:ind", "w:left")) / 20
        jc = d.pprop(date_p, "w:jc")
        date_w = g.text_width_pt(text)
        if jc in ("right", "end"):
            date_x0 = width - right - date_w
        else:
            date_x0 = left
        sigs = [p for p in self.styled(STYLE_SIGNATURE) if _text(p).strip()]
        idx = self.paras.index(date_p)
        first_sig = self.paras.index(sigs[0]) if sigs else idx
        blanks = 0
        for p in reversed(self.paras[:first_sig]):
            if _text(p).strip() or d.p_style(p) != _sid(STYLE_BLANK):
                break
            blanks += 1
        if self.sealed:
            add("7.3.5.1 成文日期右空四字", jc in ("right", "end") and _near(right, g.DATE_RIGHT_INDENT_PT, 1),
                f"{jc}，右缩进 {right:g} pt", "右对齐，右缩进四字（64 pt）")
            self._sealed_signatures(sigs, date_x0 + date_w / 2, width, blanks)
        else:
            self._unsealed_signatures(sigs, date_p, date_x0, date_w, width, blanks)

    def _sealed_signatures(self, sigs: list[Any], date_center: float, width: float, blanks: int) -> None:
        d = self.d
        if not sigs:
            self.add("7.3.5.1 署名以成文日期为准居中（联合行文各署名居中于印章位置）", False, "未找到发文机关署名",
                     "署名在成文日期之上居中")
            return
        problems = []
        centres: list[list[float]] = []
        for p in sigs:
            tabs = [_twips(t.get(qn("w:pos"))) / 20 for t in p.findall("w:pPr/w:tabs/w:tab", NS)
                    if t.get(qn("w:val")) == "center"]
            names = [s for s in _text(p).split("\t") if s.strip()]
            if tabs and len(tabs) == len(names):
                centres.append(sorted(tabs))
            elif len(names) == 1 and d.pprop(p, "w:jc") in ("right", "end"):
                right = _twips(d.pprop(p, "w:ind", "w:right")) / 20
                centres.append([width - right - g.text_width_pt(names[0]) / 2])
            else:
                problems.append(f"“{_text(p)[:10]}”无法定位")
        min_step = SEAL_NOMINAL_DIAMETER_PT + SEAL_GAP_PT - 0.5
        for row in centres:
            for a, b in itertools.pairwise(row):
                if b - a < min_step:
                    problems.append(f"署名中心相距 {b - a:.1f} pt（印章会相交）")
            if row and (row[0] < SEAL_NOMINAL_DIAMETER_PT / 2 - 0.5
                        or row[-1] > width - SEAL_NOMINAL_DIAMETER_PT / 2 + 0.5):
                problems.append("印章位置超出版心")
        if centres and not _near(centres[-1][-1], date_center, 2.0):
            problems.append(f"末个署名中心 {centres[-1][-1]:.1f} pt，成文日期中心 {date_center:.1f} pt")
        if blanks != 2:
            problems.append(f"正文下空 {blanks} 行")
        count = sum(len(r) for r in centres)
        self.add("7.3.5.1 署名以成文日期为准居中（联合行文各署名居中于印章位置）", not problems,
                 "；".join(problems) or f"{count} 个署名，末个与成文日期同中心，正文下空二行",
                 "正文下空二行；署名居中于成文日期（±2 pt）；联合行文印章中心相距 ≥44 mm 且不出版心")

    def _unsealed_signatures(self, sigs: list[Any], date_p, date_x0: float, date_w: float, width: float,
                             blanks: int) -> None:
        d = self.d
        problems = []
        sig_x0 = None
        for p in sigs:
            right = _twips(d.pprop(p, "w:ind", "w:right")) / 20
            if d.pprop(p, "w:jc") not in ("right", "end") or right < 2 * 16 - 1:
                problems.append(f"“{_text(p)[:10]}” {d.pprop(p, 'w:jc')} 右缩进 {right:g} pt")
            sig_x0 = width - right - g.text_width_pt(_text(p).strip())
        date_right = width - date_x0 - date_w
        if sig_x0 is not None:
            shift = date_x0 - sig_x0
            if not _near(shift, 2 * 16, 2.0):
                problems.append(f"成文日期首字右移 {shift:.1f} pt")
            if date_right < 2 * 16 - 1:
                problems.append(f"成文日期右空 {date_right:.1f} pt")
        elif not _near(date_right, 2 * 16, 1.5):
            problems.append(f"成文日期右空 {date_right:.1f} pt")
        if blanks != 1:
            problems.append(f"正文下空 {blanks} 行")
        self.add("7.3.5.2 不加盖印章：署名右空二字，成文日期首字右移二字", not problems,
                 "；".join(problems) or (f"{len(sigs)} 个署名右空二字，成文日期右移二字" if sigs else "无署名，成文日期右空二字"),
                 "正文下空一行；署名右空二字（≥32 pt）；成文日期首字比署名首字右移二字（32±2 pt），且右空不少于二字")

    # --- 7.3.7 附件 -----------------------------------------------------------------------------------------------
    def attachment_pages(self) -> None:
        d, add = self.d, self.add
        labels = self.styled(STYLE_ATTACHMENT_LABEL)
        if not labels:
            add("7.3.7 附件另面编排（“附件N”黑体顶格第一行、标题小标宋居中第三行）", True, "无附件页",
                "如附件与正文一起装订：另面编排")
            return
        problems = []
        for p in labels:
            text = _text(p).strip()
            fonts, sizes = self.fonts_sizes(p)
            new_page = _on(d, p, "w:pageBreakBefore")
            indent = _twips(d.pprop(p, "w:ind", "w:left")) + _twips(d.pprop(p, "w:ind", "w:firstLine"))
            if not (ATTACHMENT_LABEL_RE.match(text) and new_page and all("黑体" in f for f in fonts)
                    and sizes == {16.0} and abs(indent) < 1 and d.pprop(p, "w:jc") in (None, "left", "start")):
                problems.append(f"“{text}” {'/'.join(sorted(fonts))}{'' if new_page else '，未另起一页'}")
            i = self.paras.index(p)
            following = self.paras[i + 1 : i + 3]
            title = following[1] if len(following) == 2 and not _text(following[0]).strip() else None
            if title is None or d.p_style(title) != _sid(STYLE_ATTACHMENT_TITLE):
                problems.append(f"“{text}”下第三行不是附件标题")
                continue
            t_fonts, t_sizes = self.fonts_sizes(title)
            if d.pprop(title, "w:jc") != "center" or not all("小标宋" in f for f in t_fonts) or t_sizes != {22.0}:
                problems.append(f"附件标题“{_text(title)[:8]}” {d.pprop(title, 'w:jc') or 'left'} "
                                f"{'/'.join(sorted(t_fonts))}")
            names = self.attachment_names
            n = ATTACHMENT_LABEL_RE.match(text)
            if n and names:
                want = names.index(_text(title)) + 1 if _text(title) in names else None
                if want is None or (len(names) > 1 and n[1] != str(want)) or (len(names) == 1 and n[1]):
                    problems.append(f"“{text} {_text(title)}”与附件说明不一致")
        add("7.3.7 附件另面编排（“附件N”黑体顶格第一行、标题小标宋居中第三行）", not problems,
            "；".join(problems) or f"{len(labels)} 个附件页", "另起一页；“附件N”黑体 16 pt 顶格；标题 22 pt 小标宋居中；"
            "顺序号和标题与附件说明一致")

    # --- 7.5 page numbers -----------------------------------------------------------------------------------------
    def _footer(self, sect, kind: str):
        ref = next((r for r in sect.findall("w:footerReference", NS) if r.get(qn("w:type")) == kind), None)
        return self.d.doc.part.related_parts[ref.get(qn("r:id"))].element if ref is not None else None

    def page_numbers(self) -> None:
        d, add, sect = self.d, self.add, self.first_sect
        settings = d.doc.settings.element
        even_odd = settings.find("w:evenAndOddHeaders", NS) is not None
        problems = []
        placement = []
        for kind, want_jc, side in (("default", "right", "right"), ("even", "left", "left")):
            part = self._footer(sect, kind)
            if part is None:
                problems.append(f"缺少{'单' if kind == 'default' else '双'}页页脚")
                continue
            ps = part.findall(".//w:p", NS)
            page_p = next((p for p in ps if _has_page_field(p)), None)
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
        margins = self.margins
        dash_mm = g.twips_to_mm(self.ph - margins["footer"]) - g.FOOTER_BASELINE_ABOVE_MM \
            - g.DASH_ABOVE_BASELINE_EM * g.PAGE_NUMBER_SIZE_PT / g.PT_PER_MM
        gap = dash_mm - g.twips_to_mm(self.ph - margins["bottom"])
        add("7.5 一字线距版心下边缘7 mm", _near(gap, g.PAGE_NUMBER_GAP_MM, 0.5),
            f"{gap:.2f} mm（w:footer={margins['footer']:.0f}）", "7±0.5 mm（按 LO 页脚模型推算）")
        if self.layout == "letter":
            title_pg = sect.find("w:titlePg", NS)
            first = self._footer(sect, "first")
            ok = title_pg is not None and title_pg.get(qn("w:val")) not in ("0", "false") and first is not None \
                and not _has_page_field(first)
            add("10.1 信函首页不显示页码", ok,
                "首页页脚为空" if ok else ("未设首页不同" if title_pg is None else "首页页脚有页码"),
                "titlePg，首页页脚无 PAGE 域")
        # §7.5: 版记页前有空白页的，空白页和版记页均不编排页码 — the renderer puts both in a last section.
        if len(self.sections) < 2:
            add("7.5 版记页前空白页和版记页不编页码", True, "无空白页", "如版记前有空白页：该两页无页码")
            return
        last = self.sections[-1]
        numbered = [k for k in ("default", "even", "first")
                    if (f := self._footer(last, k)) is not None and _has_page_field(f)]
        linked = [k for k in ("default", "even") if self._footer(last, k) is None]
        boundary = max(i for i, p in enumerate(self.paras) if p.find("w:pPr/w:sectPr", NS) is not None)
        tail = self.paras[boundary + 1 :]
        blank_then_colophon = len(tail) == 2 and not _text(tail[0]).strip() and \
            _on(self.d, tail[1], "w:pageBreakBefore") and bool(_boxes(tail[1]))
        add("7.5 版记页前空白页和版记页不编页码", not numbered and not linked and blank_then_colophon,
            ("空白页、版记页页脚无页码" if not numbered and not linked else f"页脚有页码或沿用前节：{numbered or linked}")
            + ("" if blank_then_colophon else "；末节不是“空白页 + 版记页”"),
            "末节：一个空白页和版记页，页脚均无 PAGE 域")

    # --- 7.4 版记 -------------------------------------------------------------------------------------------------
    def colophon(self) -> None:
        add = self.add
        candidates = []  # (table, anchor or None)
        for a, content in _boxes(self.body):
            candidates += [(t, a) for t in content.iter(qn("w:tbl"))]
        candidates += [(t, None) for t in self.body if t.tag == qn("w:tbl")]
        found = [(t, a) for t, a in candidates
                 if any(("印发" in _text(p) or _text(p).startswith("抄送：")) for p in t.iter(qn("w:p")))]
        letter = self.layout == "letter"
        if not found:
            if letter:
                add("10.1 信函版记不加印发机关和印发日期、分隔线", True, "无版记", "无印发机关、印发日期和分隔线")
            else:
                add("7.4 版记", False, "未找到版记表格", "抄送、印发机关和印发日期，分隔线 156 mm")
            return
        colophon, anchor = found[-1]
        rows = colophon.findall("w:tr", NS)
        borders = {b: colophon.find(f"w:tblPr/w:tblBorders/w:{b}", NS) for b in ("top", "bottom", "insideH")}
        sz = {k: (v.get(qn("w:sz")) if v is not None and v.get(qn("w:val")) not in ("nil", "none") else None)
              for k, v in borders.items()}
        if anchor is None:
            add("7.4.1 末条分隔线与版心下边缘重合", letter, "版记在正文流中（不能保证在版心底部）",
                "版记文本框底边对齐版心下边缘")
        else:
            vrel, _, valign = _pos(anchor, "V")
            box_h = int(anchor.find("wp:extent", NS).get("cy")) / 12700
            rows_h = sum(_twips(tr.find("w:trPr/w:trHeight", NS).get(qn("w:val"))) / 20
                         for tr in rows if tr.find("w:trPr/w:trHeight", NS) is not None)
            exact = all((h := tr.find("w:trPr/w:trHeight", NS)) is not None and h.get(qn("w:hRule")) == "exact"
                        for tr in rows)
            ok = vrel == "margin" and valign == "bottom" and exact and _near(box_h, rows_h, 1)
            add("7.4.1 末条分隔线与版心下边缘重合", ok,
                f"文本框相对 {vrel} 对齐 {valign}，框高 {box_h:.1f} pt，行高合计 {rows_h:.1f} pt"
                + ("" if exact else "，行高非固定值"),
                "文本框相对版心（margin）底部对齐，框高=各行固定行高之和（±1 pt）")
        texts = [_text(p) for p in colophon.iter(qn("w:p"))]
        if letter:
            ok = not any("印发" in t for t in texts) and not any(sz.values())
            add("10.1 信函版记不加印发机关和印发日期、分隔线", ok,
                ("有印发行" if any("印发" in t for t in texts) else "无印发行")
                + ("，有分隔线" if any(sz.values()) else "，无分隔线"), "无印发机关、印发日期和分隔线")
        else:
            tblw = colophon.find("w:tblPr/w:tblW", NS)
            width_mm = g.twips_to_mm(_twips(tblw.get(qn("w:w")))) if tblw is not None and \
                tblw.get(qn("w:type")) == "dxa" else 0
            ok = _near(width_mm, 156, 0.5) and sz["top"] == str(g.COLOPHON_HEAVY_SZ) \
                and sz["bottom"] == str(g.COLOPHON_HEAVY_SZ) \
                and (len(rows) < 2 or sz["insideH"] == str(g.COLOPHON_LIGHT_SZ))
            add("7.4.1 版记分隔线156 mm、粗0.35/细0.25 mm", ok,
                f"{width_mm:.2f} mm，上 {sz['top']} 下 {sz['bottom']} 中 {sz['insideH']}（1/8 pt）",
                "156 mm，首末 w:sz=8（0.35 mm），中间 w:sz=6（0.25 mm）")
        cps = list(colophon.iter(qn("w:p")))
        cc = next((p for p in cps if _text(p).startswith("抄送：")), None)
        if cc is None:
            add("7.4.2 抄送以“。”结尾、4号仿宋", True, "无抄送", "如有抄送，14 pt 仿宋，以“。”结尾")
        else:
            fonts, sizes = self.fonts_sizes(cc)
            text = _text(cc)
            ok = text.endswith("。") and sizes == {14.0} and all("仿宋" in f for f in fonts)
            add("7.4.2 抄送以“。”结尾、4号仿宋", ok, f"“{text[-6:]}” {'/'.join(sorted(fonts))} "
                f"{'/'.join(f'{s:g}' for s in sorted(sizes))} pt", "14 pt 仿宋，以“。”结尾")
        if letter:
            return
        printed = next((p for p in cps if "印发" in _text(p)), None)
        text = _text(printed) if printed is not None else ""
        m = re.fullmatch(r"(.+)\t(\d{4}年[1-9]\d?月[1-9]\d?日)印发", text)
        tab_right = printed is not None and printed.find("w:pPr/w:tabs/w:tab[@w:val='right']", NS) is not None
        sizes = {_twips(self.d.rprop(printed, r, "w:sz")) / 2 for r in _text_runs(printed)} \
            if printed is not None else set()
        add("7.4.3 印发机关和印发日期（“YYYY年M月D日印发”右空一字）", bool(m) and tab_right and sizes == {14.0},
            text.replace("\t", " ⇥ ") or "无", "印发机关 ⇥ YYYY年M月D日印发，14 pt，右对齐制表位")


LAYOUT_NAMES = {"standard": "文件格式", "letter": "信函格式", "minutes": "纪要格式"}


def recorded_layout(source: bytes | str | Path) -> str:
    """The layout the renderer recorded in the DOCX core properties; "standard" when none was recorded."""
    return parse_layout_keywords(_Doc(source).doc.core_properties.keywords or "")[0] or "standard"


def check_gbt9704(source: bytes | str | Path, *, upward: bool | None = None,
                  layout: str | None = None) -> list[CheckResult]:
    """Check a DOCX against GB/T 9704-2012.

    `upward` and `layout` ("standard" 文件格式, "letter" 信函格式, "minutes" 纪要格式) override what the renderer
    recorded in the core properties (category; keywords "gbt9704-layout:…"); without either, 文件格式 is assumed.
    """
    return _Checker(source, upward, layout).run()


__all__ = ["LAYOUT_NAMES", "CheckResult", "check_gbt9704", "recorded_layout"]
