"""Small server-rendered charts (SVG, no script, no inline style: CSP style-src 'self'), shared by the pages that
show a status breakdown as a stacked bar — 传阅 reading states, 分发 receipt states, later 督办 lights."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Segment:
    key: str  # CSS class suffix of the segment's colour
    label: str
    count: int
    x: float  # percent of the bar, set as SVG attributes
    width: float


def stacked_segments(parts: list[tuple[str, str, int]]) -> list[Segment]:
    """(key, label, count) in display order → segments with their x offset and width in percent."""
    total = sum(n for _, _, n in parts)
    segments, x = [], 0.0
    for key, label, n in parts:
        width = round(100.0 * n / total, 2) if total else 0.0
        segments.append(Segment(key, label, n, round(x, 2), width))
        x += width
    return segments
