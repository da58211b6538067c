"""The score-source interface of 考核评价 and its registry (docs/assessment.md).

A source turns records that already exist (督办 unit tasks, 发文/收文 flow steps, 零跑动 applications, 信息报送 …)
into one 0–100 value per unit and period, with the counts behind it and a page listing those records. Apps register
their sources from ``AppConfig.ready()``; the assessment page, the unit page and the Excel export only read
``registered_sources()``. A source that can also list its records for the drill-down page implements
``records()`` (optional: a source with a page of its own simply points ``drill_url`` there).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class SourceScore:
    value: float | None  # 0–100, None when the unit had nothing to score in the period
    numerator: int  # e.g. items done on time
    denominator: int  # e.g. items done
    drill_url: str  # page listing the records behind the number (already filtered)


@runtime_checkable
class ScoreSource(Protocol):
    key: str  # "supervision", "documents", "services", "information"
    label: str  # 中文, e.g. "督办按时办结率"

    def scores(self, agency_ids: list[int], start: dt.date, end: dt.date) -> dict[int, SourceScore]: ...


@dataclass(frozen=True)
class Record:
    """One row of a drill-down list: what was counted, and whether it counted for the unit."""

    label: str  # e.g. the 督办 number and title, the step and 文号
    detail: str  # e.g. "期限 2026年9月25日，办结报告 9月24日"
    ok: bool  # counted in the numerator
    link: str = ""  # the record's own page, when the viewer may open it


# The registry: the assessment pages iterate it in this order. Sources register once (from AppConfig.ready()).
SOURCES: list[ScoreSource] = []


def register_source(source: ScoreSource) -> ScoreSource:
    if not isinstance(source, ScoreSource):
        raise TypeError(f"{source!r} is not a ScoreSource (key, label, scores())")
    if any(s.key == source.key for s in SOURCES):
        raise ValueError(f"score source {source.key!r} registered twice")
    SOURCES.append(source)
    return source


def registered_sources() -> list[ScoreSource]:
    return list(SOURCES)


def source_by_key(key: str) -> ScoreSource | None:
    return next((s for s in SOURCES if s.key == key), None)


def percent(numerator: int, denominator: int) -> float | None:
    """The share as a percentage with one decimal; None when there is nothing to score."""
    return round(100 * numerator / denominator, 1) if denominator else None
