"""信息报送 as a source of the 考核评价 page (supervision/assessment): per unit, the 采用率 of the period.

Registered with the core registry (oa.scores) from InformationConfig.ready(); the assessment pages only read it.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django.urls import reverse

from oa.scores import SourceScore
from workflows.information.statistics import unit_statistics


def drill_url(agency_id: int, start: dt.date, end: dt.date) -> str:
    return reverse("information:records") + "?" + urlencode(
        {"agency": agency_id, "start": start.isoformat(), "end": end.isoformat()})


class InformationScoreSource:
    """value = 采用 ÷ 报送 × 100 for the pieces a unit first submitted to the 信息科 in [start, end]
    (numerator 采用, denominator 报送); None for a unit that submitted nothing."""

    key = "information"
    label = "信息报送"

    def scores(self, agency_ids: list[int], start: dt.date, end: dt.date) -> dict[int, SourceScore]:
        stats = {r.agency_id: r for r in unit_statistics(start, end, list(agency_ids), every_unit=False)}
        result = {}
        for agency_id in agency_ids:
            row = stats.get(agency_id)
            submitted = row.submitted if row else 0
            adopted = row.adopted if row else 0
            result[agency_id] = SourceScore(
                value=round(100 * adopted / submitted, 1) if submitted else None, numerator=adopted,
                denominator=submitted, drill_url=drill_url(agency_id, start, end))
        return result
