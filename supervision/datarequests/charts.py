"""Server-side SVG charts of 报表“一张表” (no script, no inline style — attributes only, as the 零跑动 metrics chart
and frontend.charts' stacked bar): the submission progress of a round, and one numeric field per unit."""

from __future__ import annotations

from decimal import Decimal

from frontend.charts import Segment, stacked_segments
from supervision.datarequests.models import RequestField, Submission
from supervision.datarequests.selectors import Progress, unit_name
from supervision.datarequests.values import number_of

BAR_X = 150  # where the bars start (the unit names sit left of it)
BAR_MAX = 260  # width of the longest bar


def progress_segments(p: Progress) -> list[Segment]:
    S = Submission.Status
    return stacked_segments([(s.value, s.label, p.counts.get(s.value, 0))
                             for s in (S.SUBMITTED, S.DRAFT, S.RETURNED, S.PENDING)])


def unit_bars(rows: list[Submission], field: RequestField) -> dict:
    """Horizontal bars of one numeric field for each submitted unit; negative values draw from zero as 0 width
    and keep their label."""
    values = [(unit_name(s), number_of((s.values or {}).get(field.code))) for s in rows]
    top = max((v for _, v in values if v is not None and v > 0), default=Decimal(0))
    bars = []
    for i, (name, v) in enumerate(values):
        width = round(float(v / top) * BAR_MAX, 1) if (v is not None and v > 0 and top) else 0.0
        bars.append({"y": 8 + i * 28, "label": name, "width": width, "text_x": BAR_X + width + 6,
                     "value": "—" if v is None else f"{v}{field.unit}"})
    return {"bars": bars, "height": 16 + 28 * max(len(bars), 1), "field": field}
