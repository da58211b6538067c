"""人事/财务 data behind one small interface (docs/services.md 人事财务数据).

A source yields ``HrRow`` values; ``parse_rows`` checks every one and reports every bad row with where it came
from (CSV/XLSX line number, or the record's position in an HTTP answer), so an import is all or nothing.
Sources: ``parse_csv`` / ``parse_xlsx`` (a file the 人事科 exports) and ``HttpHrSource`` (the HR system's JSON API,
pulled with a bearer token).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

import urllib3

# Column headings of the import file (Chinese, as the 人事科 exports them) → the field they fill.
COLUMNS = {
    "账号": "account", "姓名": "name", "入职日期": "hire_date", "职级": "grade", "收入档次": "income_band",
    "年收入": "annual_income", "假期年度": "leave_year", "年休假天数": "annual_leave_days", "已休天数": "annual_leave_used",
    "差旅费额度": "travel_budget",
}
REQUIRED = ("account", "name", "hire_date", "grade", "income_band", "leave_year", "annual_leave_days")
LABELS = {v: k for k, v in COLUMNS.items()}
MAX_ROWS = 20000


@dataclass(frozen=True)
class HrRow:
    where: str  # "第 3 行" / "第 2 条记录": how the error list names it
    account: str
    name: str
    hire_date: dt.date
    grade: str
    income_band: str
    annual_income: Decimal | None
    leave_year: int
    annual_leave_days: Decimal
    annual_leave_used: Decimal
    travel_budget: Decimal | None = None


@dataclass(frozen=True)
class RowError:
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}：{self.message}"


class HrDataError(Exception):
    """The data cannot be imported; ``errors`` lists every problem found (nothing was imported)."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__("；".join(str(e) for e in errors[:5]))
        self.errors = errors


class HrSource(Protocol):
    """Anything that yields raw records (dicts keyed by the English field names) with their position."""

    name: str

    def records(self) -> list[tuple[str, dict[str, Any]]]: ...


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = _text(value).replace("/", "-")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def _decimal(value: Any) -> Decimal | None:
    text = _text(value).replace(",", "")
    if not text:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def check_record(where: str, raw: dict[str, Any], errors: list[RowError]) -> HrRow | None:
    """One raw record → an HrRow, or None with its problems appended to ``errors`` (all of them, not the first)."""
    before = len(errors)

    def bad(message: str) -> None:
        errors.append(RowError(where, message))

    for key in REQUIRED:
        if not _text(raw.get(key)):
            bad(f"“{LABELS[key]}”不能为空")
    if len(errors) > before:
        return None
    hire_date = _date(raw.get("hire_date"))
    if hire_date is None:
        bad(f"入职日期“{_text(raw.get('hire_date'))}”不是有效日期（应为 2015-09-01 这样的格式）")
    year_text = _text(raw.get("leave_year"))
    year = int(year_text) if year_text.isdigit() and 2000 <= int(year_text) <= 2100 else None
    if year is None:
        bad(f"假期年度“{year_text}”应为 2000～2100 之间的年份")
    days = _decimal(raw.get("annual_leave_days"))
    if days is None or not (0 <= days <= 30):
        bad(f"年休假天数“{_text(raw.get('annual_leave_days'))}”应为 0～30 之间的数字")
    used_text = _text(raw.get("annual_leave_used"))
    used = _decimal(used_text) if used_text else Decimal(0)
    if used is None or used < 0:
        bad(f"已休天数“{used_text}”应为不小于 0 的数字")
    elif days is not None and used > days:
        bad(f"已休天数 {used} 超过了年休假天数 {days}")
    income_text = _text(raw.get("annual_income"))
    income = _decimal(income_text) if income_text else None
    if income_text and (income is None or income < 0):
        bad(f"年收入“{income_text}”应为不小于 0 的金额")
    budget_text = _text(raw.get("travel_budget"))
    budget = _decimal(budget_text) if budget_text else None
    if budget_text and (budget is None or budget < 0 or budget >= Decimal(10) ** 10):
        bad(f"差旅费额度“{budget_text}”应为不小于 0 的金额")
    for key, limit in (("account", 150), ("name", 50), ("grade", 50), ("income_band", 50)):
        if len(_text(raw.get(key))) > limit:
            bad(f"“{LABELS[key]}”超过 {limit} 字")
    if len(errors) > before:
        return None
    return HrRow(where=where, account=_text(raw["account"]), name=_text(raw["name"]), hire_date=hire_date,
                 grade=_text(raw["grade"]), income_band=_text(raw["income_band"]), annual_income=income,
                 leave_year=year, annual_leave_days=days, annual_leave_used=used,
                 travel_budget=budget)


def parse_records(records: list[tuple[str, dict[str, Any]]]) -> list[HrRow]:
    """Every record checked; raises HrDataError listing every bad one, or returns them all."""
    errors: list[RowError] = []
    rows: list[HrRow] = []
    seen: dict[str, str] = {}
    if not records:
        raise HrDataError([RowError("文件", "没有任何数据行")])
    if len(records) > MAX_ROWS:
        raise HrDataError([RowError("文件", f"一次最多导入 {MAX_ROWS} 行")])
    for where, raw in records:
        row = check_record(where, raw, errors)
        if row is None:
            continue
        if row.account in seen:
            errors.append(RowError(where, f"账号“{row.account}”与{seen[row.account]}重复"))
            continue
        seen[row.account] = where
        rows.append(row)
    if errors:
        raise HrDataError(errors)
    return rows


def _table_records(header: list[str], lines: list[tuple[int, list[Any]]]) -> list[tuple[str, dict[str, Any]]]:
    names = [_text(h).lstrip("\ufeff") for h in header]
    missing = [label for label, key in COLUMNS.items() if key in REQUIRED and label not in names]
    unknown = [n for n in names if n and n not in COLUMNS]
    problems = []
    if missing:
        problems.append(RowError("第 1 行（表头）", f"缺少列：{'、'.join(missing)}"))
    if unknown:
        problems.append(RowError("第 1 行（表头）", f"无法识别的列：{'、'.join(unknown)}"))
    if problems:
        raise HrDataError(problems)
    records = []
    for number, cells in lines:
        if not any(_text(c) for c in cells):
            continue  # blank lines are not rows
        raw = {COLUMNS[n]: (cells[i] if i < len(cells) else None) for i, n in enumerate(names) if n}
        records.append((f"第 {number} 行", raw))
    return records


def parse_csv(data: bytes) -> list[HrRow]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError:
            raise HrDataError([RowError("文件", "无法识别文件编码（请另存为 UTF-8 或 GB18030 的 CSV）")]) from None
    reader = csv.reader(io.StringIO(text))
    lines = [(reader.line_num, row) for row in reader]
    if not lines:
        raise HrDataError([RowError("文件", "文件为空")])
    return parse_records(_table_records(lines[0][1], lines[1:]))


def parse_xlsx(data: bytes) -> list[HrRow]:
    from openpyxl import load_workbook

    if not data.startswith(b"PK"):
        raise HrDataError([RowError("文件", "不是 Excel（.xlsx）文件")])
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # a broken or hostile workbook: openpyxl raises many kinds
        raise HrDataError([RowError("文件", f"Excel 文件无法读取（{type(exc).__name__}）")]) from None
    sheet = book.worksheets[0]
    rows = list(sheet.iter_rows(values_only=True, max_row=MAX_ROWS + 2))
    book.close()
    if not rows:
        raise HrDataError([RowError("文件", "工作表为空")])
    return parse_records(_table_records(list(rows[0]), [(i, list(r)) for i, r in enumerate(rows[1:], start=2)]))


def parse_upload(filename: str, data: bytes) -> list[HrRow]:
    if filename.lower().endswith(".xlsx"):
        return parse_xlsx(data)
    if filename.lower().endswith(".csv"):
        return parse_csv(data)
    raise HrDataError([RowError("文件", "只支持 .csv 或 .xlsx 文件")])


class HttpHrSource:
    """The HR system's JSON API: ``GET <url>`` with ``Authorization: Bearer <token>`` answers
    ``{"records": [{"account", "name", "hire_date", "grade", "income_band", "annual_income", "leave_year",
    "annual_leave_days", "annual_leave_used", "travel_budget"}, ...]}`` (the contract tests/test_services_hr.py serves)."""

    MAX_BYTES = 20 * 1024 * 1024

    def __init__(self, url: str, token: str = "", *, timeout: float = 10.0) -> None:
        self.url, self.token, self.timeout = url, token, timeout
        self.name = f"接口 {url}"

    def records(self) -> list[tuple[str, dict[str, Any]]]:
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        http = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(total=self.timeout))
        try:
            response = http.request("GET", self.url, headers=headers, preload_content=False)
            body = response.read(self.MAX_BYTES + 1)
            response.release_conn()
        except urllib3.exceptions.HTTPError as exc:
            raise HrDataError([RowError("接口", f"无法连接人事系统（{type(exc).__name__}）")]) from None
        if response.status != 200:
            raise HrDataError([RowError("接口", f"人事系统返回 HTTP {response.status}")])
        if len(body) > self.MAX_BYTES:
            raise HrDataError([RowError("接口", "人事系统返回的数据过大")])
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise HrDataError([RowError("接口", "人事系统返回的不是 JSON")]) from None
        items = payload.get("records") if isinstance(payload, dict) else None
        if not isinstance(items, list):
            raise HrDataError([RowError("接口", "人事系统返回的数据缺少 records 列表")])
        records = []
        for i, item in enumerate(items, start=1):
            if not isinstance(item, dict):
                records.append((f"第 {i} 条记录", {}))
                continue
            records.append((f"第 {i} 条记录", {k: item.get(k) for k in COLUMNS.values()}))
        return records

    def rows(self) -> list[HrRow]:
        return parse_records(self.records())
