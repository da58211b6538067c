"""User text on its way into a renderer: the one place that cleans and escapes it (docs/security.md).

reportlab's ``Paragraph`` parses its text as markup (``<img src=…/>`` draws any image file the server can read,
``<a>``/``<font>`` change links and fonts, an unbalanced tag raises), python-docx and lxml refuse control
characters, and an SVG is XML. So every string that a person typed (要素, 正文, 意见, names) reaches a renderer
only through these functions:

- ``plain(s)``: drops what no XML document may hold (C0/C1 controls, lone surrogates, U+FFFE/U+FFFF) and the
  bidi controls that could make a printed 公文 read differently from its text (U+202E …); tabs and line breaks
  become spaces. Idempotent.
- ``para_text(s)``: ``plain`` and then XML-escaped, for reportlab: user text can never carry a tag or an entity.
- ``paragraph(s, style)``: the only way to make a reportlab Paragraph from user text (tests/test_markup_injection.py
  checks that no other module calls ``Paragraph(`` directly).
- ``lines_paragraph(lines, style)``: user text already broken into lines (the 标题), escaped, joined by ``<br/>``.
- ``styled_paragraph(parts, style)``: a Paragraph whose markup (a font per run) is built by our code from
  ``(font name, text)`` pieces; the text pieces are escaped like any other.
- ``xml_text(s)`` / ``xml_attr(s)``: ``plain`` and escaped for hand-built XML (DOCX shapes, the SVG trace).
- ``clean_spec(spec)``: a DocumentSpec with ``plain`` applied to every string it carries (the renderers' entry).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from typing import Any, TypeVar
from xml.sax.saxutils import escape, quoteattr

from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus.paragraph import FragLine, Paragraph

# Not allowed in XML 1.0 (C0 controls but tab/LF/CR, lone surrogates, U+FFFE/U+FFFF), C1 controls and DEL, and the
# bidi embeddings/overrides/isolates/marks: a 公文 is left-to-right and never needs them (Trojan-Source-style
# spoofing of the printed text).
_DROP = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff"
                   "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_SPACE = re.compile("[\t\n\r]")
# What the input forms refuse (with the code "text_control_chars"): the same set, tabs and line breaks included.
_REFUSED = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")

T = TypeVar("T")


def plain(text: str) -> str:
    """``text`` without characters no renderer may receive; tabs and line breaks become spaces."""
    return _SPACE.sub(" ", _DROP.sub("", str(text)))


def has_refused_chars(text: str, *, allow_newlines: bool = False) -> bool:
    """True when ``text`` holds a control, bidi or non-XML character that input forms refuse."""
    if allow_newlines:
        text = text.replace("\r\n", "\n").replace("\n", "")
    return _REFUSED.search(text) is not None


def para_text(text: str) -> str:
    """Text for reportlab's paragraph parser: cleaned and escaped, so it is printed as written, never as markup."""
    return escape(plain(text))


class _Paragraph(Paragraph):
    """reportlab 5.1 fix: escaped text (``&lt;`` …) makes several frags, and when a page break leaves one frag in the
    first part, ``breakLinesCJK`` relabels that part's frag lines as simple lines and drawing raises TypeError."""

    def breakLinesCJK(self, maxWidths):  # reportlab's name
        lines = getattr(self, "blPara", None)
        # split() labels the first part kind 1 whatever its lines are; frag lines must stay kind 1, tuples kind 0.
        if getattr(self, "_splitpara", 0) and lines is not None and lines.lines and isinstance(lines.lines[0], FragLine):
            return lines
        return super().breakLinesCJK(maxWidths)


def paragraph(text: str, style: ParagraphStyle) -> Paragraph:
    """A reportlab Paragraph showing ``text`` literally."""
    return _Paragraph(para_text(text), style)


def lines_paragraph(lines: Iterable[str], style: ParagraphStyle) -> Paragraph:
    """A Paragraph of the given lines, each escaped, with explicit breaks between them (the 标题's 回行)."""
    return _Paragraph("<br/>".join(para_text(line) for line in lines), style)


def styled_paragraph(parts: Iterable[tuple[str | None, str]], style: ParagraphStyle) -> Paragraph:
    """A Paragraph of runs ``(font name or None, text)``: the font names are ours, the texts are escaped."""
    out = []
    for face, text in parts:
        run = para_text(text)
        out.append(f"<font face={quoteattr(face)}>{run}</font>" if face else run)
    return _Paragraph("".join(out), style)


def xml_text(text: str) -> str:
    """Cleaned and escaped for an XML text node."""
    return escape(plain(text))


def xml_attr(text: str) -> str:
    """Cleaned and quoted for an XML attribute value (quotes included)."""
    return quoteattr(plain(text))


def clean_strings(value: T) -> T:
    """``value`` with ``plain`` applied to every string inside it (lists, tuples, dicts and dataclasses)."""
    return _clean(value)  # type: ignore[no-any-return]


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return plain(value)
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_clean(v) for v in value)
    if isinstance(value, dict):
        return {_clean(k): _clean(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {f.name: _clean(getattr(value, f.name)) for f in dataclasses.fields(value) if f.init}
        return dataclasses.replace(value, **changes)
    return value


def clean_spec(spec: T) -> T:
    """The DocumentSpec (or ProcessingSlip) with every string cleaned; renderers call this first."""
    return clean_strings(spec)
