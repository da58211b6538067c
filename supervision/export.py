"""督办“一张表” Excel export (docs/supervision.md 导出): one row per 承办单位 and a sheet of the tasks behind them,
written with xlsxwriter. Every figure is written as its computed value; the 合计 row is a SUM formula that also
carries its computed value (so a reader that does not calculate, like openpyxl with data_only, sees the number).
The on-time rate and the light columns get conditional-format icon sets (traffic lights); the light is also spelt
out in words (status never by colour alone). Text cells go through oa.csvsafe (no formula can start a cell).
"""

from __future__ import annotations

import io

import xlsxwriter
from django.utils import timezone
from xlsxwriter.utility import xl_rowcol_to_cell

from oa.csvsafe import csv_cell
from supervision.dashboard import LIGHTS, Dashboard, Figures

LIGHT_VALUE = {"green": 3, "yellow": 2, "red": 1}
MAX_TASK_ROWS = 20_000

UNIT_HEADERS = ["序号", "承办单位", "任务总数", "已办结", "按期办结", "逾期办结", "逾期未办结", "在办", "按期办结率(%)",
                "平均逾期(工作日)", "红灯", "黄灯", "绿灯", "单位亮灯", "亮灯值"]
TASK_HEADERS = ["督办编号", "事项名称", "来源类型", "承办单位", "角色", "办理期限", "状态", "办结日期", "逾期工作日",
                "亮灯", "亮灯值", "进度(%)"]


def _text(sheet, row: int, col: int, value, fmt=None) -> None:
    sheet.write_string(row, col, str(csv_cell(value)), fmt)


def _number(sheet, row: int, col: int, value, fmt=None) -> None:
    if value is None:
        sheet.write_blank(row, col, None, fmt)
    else:
        sheet.write_number(row, col, value, fmt)


def _traffic(sheet, first_row: int, last_row: int, col: int, *, high: float, mid: float) -> None:
    if last_row < first_row:
        return
    sheet.conditional_format(first_row, col, last_row, col, {
        "type": "icon_set", "icon_style": "3_traffic_lights",
        "icons": [{"criteria": ">=", "type": "number", "value": high},
                  {"criteria": ">=", "type": "number", "value": mid}]})


def _unit_row(sheet, row: int, n: int, u: Figures, fmts: dict) -> None:
    _number(sheet, row, 0, n)
    _text(sheet, row, 1, u.label)
    for col, value in enumerate([u.total, u.done, u.ontime, u.late, u.overdue, u.open], start=2):
        _number(sheet, row, col, value)
    _number(sheet, row, 8, u.ontime_rate, fmts["pct"])
    _number(sheet, row, 9, u.average_delay, fmts["one"])
    for col, value in enumerate([u.red, u.yellow, u.green], start=10):
        _number(sheet, row, col, value)
    _text(sheet, row, 13, LIGHTS[u.unit_light])
    _number(sheet, row, 14, LIGHT_VALUE[u.unit_light])


def dashboard_xlsx(board: Dashboard, tasks, *, scope_label: str = "") -> bytes:
    """The 一张表 of ``board`` plus the ``tasks`` (the drill-down queryset of the same filters, kind all)."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False})
    bold = book.add_format({"bold": True})
    head = book.add_format({"bold": True, "bg_color": "#E5E7EB", "border": 1, "text_wrap": True})
    fmts = {"pct": book.add_format({"num_format": "0.0"}), "one": book.add_format({"num_format": "0.0"})}
    f = board.filters
    title = f"督办一张表（办理期限 {f.start.isoformat()} 至 {f.end.isoformat()}）"

    sheet = book.add_worksheet("一张表")
    _text(sheet, 0, 0, title, bold)
    _text(sheet, 1, 0, f"统计日期 {board.today.isoformat()}；{scope_label}按期办结率 = 按期办结 ÷ 已办结；"
                       "逾期工作日按工作日历计")
    for col, name in enumerate(UNIT_HEADERS):
        _text(sheet, 3, col, name, head)
    first = 4
    for n, u in enumerate(board.units, start=1):
        _unit_row(sheet, first + n - 1, n, u, fmts)
    last = first + len(board.units) - 1
    total_row = last + 1
    t = board.total
    _text(sheet, total_row, 1, "合计", bold)
    for col, value in enumerate([t.total, t.done, t.ontime, t.late, t.overdue, t.open], start=2):
        if board.units:
            rng = f"{xl_rowcol_to_cell(first, col)}:{xl_rowcol_to_cell(last, col)}"
            sheet.write_formula(total_row, col, f"=SUM({rng})", bold, value)
        else:
            _number(sheet, total_row, col, value, bold)
    _number(sheet, total_row, 8, t.ontime_rate, fmts["pct"])
    _number(sheet, total_row, 9, t.average_delay, fmts["one"])
    for col, value in enumerate([t.red, t.yellow, t.green], start=10):
        _number(sheet, total_row, col, value, bold)
    _traffic(sheet, first, total_row, 8, high=90, mid=70)
    _traffic(sheet, first, last, 14, high=3, mid=2)
    sheet.freeze_panes(4, 2)
    sheet.set_column(0, 0, 6)
    sheet.set_column(1, 1, 18)
    sheet.set_column(2, 14, 10)

    items = book.add_worksheet("事项清单")
    for col, name in enumerate(TASK_HEADERS):
        _text(items, 0, col, name, head)
    row = 0
    for row, task in enumerate(tasks[:MAX_TASK_ROWS].iterator(chunk_size=2000) if hasattr(tasks, "iterator")
                               else tasks, start=1):
        item = task.item
        _text(items, row, 0, item.number)
        _text(items, row, 1, item.title)
        _text(items, row, 2, item.get_source_type_display())
        _text(items, row, 3, task.agency.short_name or task.agency.name)
        _text(items, row, 4, task.get_role_display())
        _text(items, row, 5, task.deadline.isoformat())
        _text(items, row, 6, task.get_status_display())
        _text(items, row, 7, timezone.localtime(task.done_at).date().isoformat() if task.done_at else "")
        _number(items, row, 8, task.delay_wd)
        _text(items, row, 9, LIGHTS.get(task.light, "无（已办结）" if task.done_at else "无"))
        _number(items, row, 10, LIGHT_VALUE.get(task.light))
        _number(items, row, 11, task.progress)
    _traffic(items, 1, row, 10, high=3, mid=2)
    items.freeze_panes(1, 2)
    items.set_column(0, 0, 14)
    items.set_column(1, 1, 36)
    items.set_column(2, 11, 11)
    book.close()
    return out.getvalue()
