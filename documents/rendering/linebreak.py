"""标点禁则 line breaking for reportlab, matching what LibreOffice does with the DOCX (GB/T 9704 §5.2.3: 28 字 a
line, nothing in the right margin).

reportlab's CJK wrapping (`textsplit.dumbSplit` for one-frag paragraphs, `paragraph.cjkFragSplit` otherwise) lets a
mark that may not start a line hang in the right margin as a 29th glyph, and lets an opening mark end a line. The
DOCX turns LibreOffice's hanging punctuation off (`w:overflowPunct`, see docx.py), so LO instead takes the character
before a closing mark down with it (that line keeps 27 字) and moves an opening mark that would end a line to the next
one. `install()` replaces both reportlab functions with `cjk_breaks`, which does the same, so both outputs break
the same lines at the same places.
"""

from __future__ import annotations

from collections.abc import Sequence

from reportlab.lib import textsplit
from reportlab.platypus import paragraph as rl_paragraph

from documents.rendering.geometry import NO_LINE_END, NO_LINE_START

_FUZZ = 1e-6
_ORIGINAL_FRAG_SPLIT = rl_paragraph.cjkFragSplit


def _in_word(ch: str) -> bool:
    return ch.isascii() and not ch.isspace()


def cjk_breaks(chars: Sequence[str], widths: Sequence[float], max_widths: Sequence[float]) -> list[tuple[int, int]]:
    """(start, end) of each line: as many characters as fit, then 标点禁则.

    - a closing mark (NO_LINE_START) never starts a line: the character before it comes down too;
    - an opening mark (NO_LINE_END) never ends a line: it goes down to the next;
    - a run of ASCII letters/digits is not split unless it is longer than a line;
    - nothing is drawn past the line's width (no hanging punctuation).
    """
    lines: list[tuple[int, int]] = []
    n, start = len(chars), 0
    while start < n:
        max_w = max_widths[min(len(lines), len(max_widths) - 1)]
        used, i = 0.0, start
        while i < n and used + widths[i] <= max_w + _FUZZ:
            used += widths[i]
            i += 1
        if i >= n:
            lines.append((start, n))
            break
        end = max(i, start + 1)  # at least one character a line, so the loop always advances
        if end > start + 1:
            if _in_word(chars[end]) and _in_word(chars[end - 1]):
                j = end
                while j > start and _in_word(chars[j - 1]):
                    j -= 1
                if j > start:
                    end = j
            while end > start + 1 and chars[end] in NO_LINE_START:
                end -= 1
            while end > start + 1 and chars[end - 1] in NO_LINE_END:
                end -= 1
        lines.append((start, end))
        start = end
        while start < n and chars[start] == " ":  # a space at a break is dropped
            start += 1
    return lines


def _dumb_split(word: str, widths: list[float], maxWidths) -> list[list]:
    if not isinstance(maxWidths, (list, tuple)):
        maxWidths = [maxWidths]
    out = []
    for k, (s, e) in enumerate(cjk_breaks(word, widths, maxWidths)):
        max_w = maxWidths[min(k, len(maxWidths) - 1)]
        out.append([max_w - sum(widths[s:e]), word[s:e].strip()])
    return out


def _frag_split(frags, maxWidths, calcBounds, encoding="utf8"):
    if any(hasattr(f, "cbDefn") or hasattr(f, "lineBreak") for f in frags):
        return _ORIGINAL_FRAG_SPLIT(frags, maxWidths, calcBounds, encoding)  # images, <br/>: never in our text
    units = []
    for f in frags:
        text = f.text.decode(encoding) if isinstance(f.text, bytes) else f.text
        units.extend(rl_paragraph.cjkU(t, f, encoding) for t in text)
    widths = [u.width for u in units]
    lines = []
    for k, (s, e) in enumerate(cjk_breaks(units, widths, maxWidths)):
        max_w = maxWidths[min(k, len(maxWidths) - 1)]
        used = sum(widths[s:e])
        lines.append(rl_paragraph.makeCJKParaLine(units[s:e], max_w, used, max_w - used, False, calcBounds))
    return rl_paragraph.ParaLines(kind=1, lines=lines)


def install() -> None:
    """Route reportlab's CJK wrapping through `cjk_breaks` (idempotent; once per process is enough)."""
    textsplit.dumbSplit = _dumb_split
    rl_paragraph.cjkFragSplit = _frag_split
