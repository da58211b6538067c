"""Excel for 报表“一张表” (docs/datarequests.md Excel): the per-unit template and the aggregate are written with
xlsxwriter (text cells always as strings, never formulas; computed values written as numbers); a filled template is
read back with openpyxl and checked whole: every wrong column or value is reported with its cell, nothing is saved
unless all are right."""

from __future__ import annotations

import io
from decimal import Decimal

from documents.uploads import check_file_type, check_zip_safety
from oa.refusals import Refusal
from supervision.datarequests.models import FieldKind, RequestField, Round, Submission
from supervision.datarequests.selectors import FieldAggregate, period_label, unit_name
from supervision.datarequests.values import bound_text, clean_value, number_of

SHEET = "填报"
INFO_SHEET = "说明"
HEADERS = ["字段代码", "指标名称", "计量单位", "填报值", "填报说明"]
COLUMNS = "ABCDE"
MAX_ROWS = 500
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ImportRefused(Refusal):
    """The file does not fit the template: ``errors`` lists (cell, message) for every problem found."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        self.errors = errors
        shown = "；".join(f"{cell}：{msg}" if cell else msg for cell, msg in errors[:8])
        more = f"（共 {len(errors)} 处）" if len(errors) > 8 else ""
        super().__init__("import_invalid", f"导入的表格有 {len(errors)} 处错误，未保存任何数据{more}：{shown}")


def _write_value(sheet, row: int, col: int, field: RequestField, value: str, fmt=None) -> None:
    number = number_of(value) if field.is_numeric else None
    if number is not None:
        sheet.write_number(row, col, float(number) if field.kind == FieldKind.DECIMAL else int(number), fmt)
    elif value:
        sheet.write_string(row, col, value, fmt)
    else:
        sheet.write_blank(row, col, None, fmt)


def template_xlsx(sub: Submission, fields: list[RequestField]) -> bytes:
    """The unit's template: one row per field, its current (or prefilled) value in column D."""
    import xlsxwriter

    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False})
    head = book.add_format({"bold": True, "bg_color": "#DCE6F1", "border": 1})
    locked = book.add_format({"bg_color": "#F2F2F2", "border": 1})
    editable = book.add_format({"border": 1, "bg_color": "#FFFFFF"})
    sheet = book.add_worksheet(SHEET)
    for col, title in enumerate(HEADERS):
        sheet.write_string(0, col, title, head)
    for i, f in enumerate(fields, start=1):
        sheet.write_string(i, 0, f.code, locked)
        sheet.write_string(i, 1, f.label, locked)
        sheet.write_string(i, 2, f.unit, locked)
        _write_value(sheet, i, 3, f, (sub.values or {}).get(f.code, ""), locked if f.computed else editable)
        note = bound_text(f)
        if f.code in (sub.prefilled or {}):
            note += f"；已预填（来自“{sub.prefilled[f.code].get('source', '')}”）"
        sheet.write_string(i, 4, note, locked)
    sheet.set_column(0, 0, 14)
    sheet.set_column(1, 1, 24)
    sheet.set_column(2, 2, 10)
    sheet.set_column(3, 3, 16)
    sheet.set_column(4, 4, 48)
    info = book.add_worksheet(INFO_SHEET)
    req = sub.round.request
    for r, (k, v) in enumerate([("报表", req.title), ("统计期", period_label(sub.round.period)),
                                ("填报单位", unit_name(sub)), ("填报编号", str(sub.pk)),
                                ("说明", "只填“填报”表的 D 列；不要改动列名和字段代码，自动计算的字段不必填写。")]):
        info.write_string(r, 0, k, head)
        info.write_string(r, 1, v)
    info.set_column(0, 0, 12)
    info.set_column(1, 1, 60)
    book.close()
    return out.getvalue()


def parse_template(data: bytes, filename: str, sub: Submission, fields: list[RequestField]) -> dict[str, object]:
    """The values of a filled template, or ImportRefused listing every problem with its cell."""
    check_file_type(data, filename or "upload.xlsx", frozenset({"xlsx"}))
    check_zip_safety(data)
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), data_only=True, read_only=True)
    except Exception:  # openpyxl raises many kinds for a broken file
        raise Refusal("xlsx_invalid", "无法读取该 Excel 文件，请用下载的模板填写后另存为 .xlsx 再导入。") from None
    errors: list[tuple[str, str]] = []
    if SHEET not in book.sheetnames:
        raise ImportRefused([("", f"工作簿中没有“{SHEET}”工作表，请使用本报表下载的模板。")])
    if INFO_SHEET in book.sheetnames:
        ident = next(book[INFO_SHEET].iter_rows(min_row=4, max_row=4, min_col=2, max_col=2, values_only=True),
                     (None,))[0]
        if ident is not None and str(ident).strip() != str(sub.pk):
            errors.append((f"{INFO_SHEET}!B4", f"该模板属于另一份填报（编号 {ident}），不是“{unit_name(sub)}”本期的模板。"))
    rows = list(book[SHEET].iter_rows(min_row=1, max_row=MAX_ROWS + 1, max_col=len(HEADERS) + 3, values_only=True))
    book.close()
    header = list(rows[0]) if rows else []
    for col, expected in enumerate(HEADERS):
        got = header[col] if col < len(header) else None
        got_text = "" if got is None else str(got).strip()
        if got_text != expected:
            errors.append((f"{COLUMNS[col]}1", f"列名应为“{expected}”，实为“{got_text or '空'}”。"))
    for col in range(len(HEADERS), len(header)):
        if header[col] not in (None, ""):
            errors.append((f"{chr(ord('A') + col)}1", f"多余的列“{str(header[col])[:20]}”，请删除。"))
    if errors:
        raise ImportRefused(errors)
    by_code = {f.code: f for f in fields}
    values: dict[str, object] = {}
    seen: dict[str, int] = {}
    for r, row in enumerate(rows[1:], start=2):
        cells = list(row) + [None] * len(HEADERS)
        code = "" if cells[0] is None else str(cells[0]).strip()
        if not code and all(c in (None, "") for c in cells[1:len(HEADERS)]):
            continue
        if code not in by_code:
            errors.append((f"A{r}", f"未知的字段代码“{code[:30] or '空'}”，请勿改动字段代码列。"))
            continue
        if code in seen:
            errors.append((f"A{r}", f"字段代码“{code}”重复（第 {seen[code]} 行已有）。"))
            continue
        seen[code] = r
        field = by_code[code]
        if field.computed:
            continue
        raw = cells[3]
        if isinstance(raw, float) and raw.is_integer() and field.kind == FieldKind.INTEGER:
            raw = int(raw)
        elif isinstance(raw, float):
            raw = Decimal(repr(raw))
        try:
            values[code] = clean_value(field, raw, required=False)
        except ValueError as exc:
            errors.append((f"D{r}", str(exc)))
    for f in fields:
        if not f.computed and f.code not in seen:
            errors.append(("", f"缺少字段“{f.label}”（代码 {f.code}）的行。"))
    if errors:
        raise ImportRefused(errors)
    return values


def aggregate_xlsx(rnd: Round, fields: list[RequestField], rows: list[Submission],
                   aggregates: list[FieldAggregate]) -> bytes:
    """The round's table: one row per submitted unit, then 合计 and 平均 for the numeric fields (values, computed
    here — the file holds numbers, no spreadsheet formulas)."""
    import xlsxwriter

    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False})
    head = book.add_format({"bold": True, "bg_color": "#DCE6F1", "border": 1, "text_wrap": True})
    total_fmt = book.add_format({"bold": True, "top": 1})
    sheet = book.add_worksheet("汇总")
    req = rnd.request
    sheet.write_string(0, 0, f"{req.title}（{period_label(rnd.period)}）汇总", book.add_format({"bold": True}))
    headers = ["填报单位", "报送时间", "逾期", *[f"{f.label}（{f.unit}）" if f.unit else f.label for f in fields]]
    for col, title in enumerate(headers):
        sheet.write_string(1, col, title, head)
    from django.utils import timezone

    r = 2
    for sub in rows:
        sheet.write_string(r, 0, unit_name(sub))
        sheet.write_string(r, 1, timezone.localtime(sub.submitted_at).strftime("%Y-%m-%d %H:%M")
                           if sub.submitted_at else "")
        sheet.write_string(r, 2, "逾期" if sub.late else "")
        for c, f in enumerate(fields, start=3):
            _write_value(sheet, r, c, f, (sub.values or {}).get(f.code, ""))
        r += 1
    by_code = {a.field.code: a for a in aggregates}
    for label, attr in (("合计", "total"), ("平均", "average")):
        sheet.write_string(r, 0, label, total_fmt)
        for c, f in enumerate(fields, start=3):
            agg = by_code.get(f.code)
            value = getattr(agg, attr) if agg else None
            if value is not None:
                sheet.write_number(r, c, float(value), total_fmt)
            else:
                sheet.write_blank(r, c, None, total_fmt)
        r += 1
    sheet.set_column(0, 0, 20)
    sheet.set_column(1, 1, 17)
    sheet.set_column(3, 3 + len(fields), 14)
    book.close()
    return out.getvalue()
