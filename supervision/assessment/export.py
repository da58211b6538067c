"""考核评价 as Excel (xlsxwriter): computed values in the cells, never only formulas; read back with openpyxl in
tests. Text goes in with write_string, so a unit name can never become a formula."""

from __future__ import annotations

import datetime as dt
import io

import xlsxwriter

from oa.scores import ScoreSource
from supervision.assessment.scoring import UnitAssessment

NO_DATA = "无数据"


def assessment_xlsx(rows: list[UnitAssessment], sources: list[ScoreSource], weights: dict[str, int],
                    start: dt.date, end: dt.date) -> bytes:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    head = book.add_format({"bold": True, "bg_color": "#E8EEF7", "border": 1, "text_wrap": True, "valign": "vcenter"})
    num = book.add_format({"num_format": "0.0", "border": 1})
    cell = book.add_format({"border": 1})
    title = book.add_format({"bold": True, "font_size": 14})
    sheet = book.add_worksheet("考核评价")
    sheet.write_string(0, 0, f"考核评价（{start:%Y-%m-%d} 至 {end:%Y-%m-%d}）", title)
    headers = ["排名", "单位"]
    for s in sources:
        headers += [f"{s.label}（权重 {weights.get(s.key, 0)}%）", f"{s.label} 依据（达标/总数）"]
    headers.append("综合得分")
    for c, text in enumerate(headers):
        sheet.write_string(2, c, text, head)
    for r, row in enumerate(rows, start=3):
        if row.rank is None:
            sheet.write_string(r, 0, "—", cell)
        else:
            sheet.write_number(r, 0, row.rank, cell)
        sheet.write_string(r, 1, row.agency.name, cell)
        c = 2
        for part in row.parts:
            if part.score.value is None:
                sheet.write_string(r, c, NO_DATA, cell)
            else:
                sheet.write_number(r, c, part.score.value, num)
            sheet.write_string(r, c + 1, f"{part.score.numerator}/{part.score.denominator}", cell)
            c += 2
        if row.total is None:
            sheet.write_string(r, c, NO_DATA, cell)
        else:
            sheet.write_number(r, c, row.total, num)
    sheet.set_column(0, 0, 6)
    sheet.set_column(1, 1, 24)
    sheet.set_column(2, len(headers) - 1, 14)
    sheet.freeze_panes(3, 2)
    note = book.add_worksheet("说明")
    note.write_string(0, 0, "指标", head)
    note.write_string(0, 1, "权重（%）", head)
    for r, s in enumerate(sources, start=1):
        note.write_string(r, 0, s.label)
        note.write_number(r, 1, weights.get(s.key, 0))
    note.write_string(len(sources) + 2, 0, "综合得分 = Σ 权重×得分 ÷ Σ 权重（只计有数据的指标：无数据的指标不计分，"
                                          "其权重按比例分给其余指标）。各项得分均由系统按记录计算。")
    note.set_column(0, 0, 30)
    book.close()
    return out.getvalue()
