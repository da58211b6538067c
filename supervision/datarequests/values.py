"""Values of a form: one raw input per field → its canonical string, or a Chinese error naming the field and the rule.
Computed fields are never typed in: `compute` fills them from the others (formulas.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from documents.rendering.text import has_refused_chars
from supervision.datarequests.formulas import check_formulas, evaluate, parse_formula
from supervision.datarequests.models import FieldKind, RequestField

TEXT_MAX = 500
DECIMAL_PLACES = 4


def _fmt_number(value: Decimal) -> str:
    """Canonical text of a number: no exponent, no trailing zeros (12.50 → 12.5, 3.0 → 3)."""
    text = format(value.quantize(Decimal(1).scaleb(-DECIMAL_PLACES), rounding=ROUND_HALF_UP), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def bound_text(field: RequestField) -> str:
    """The validation rule in words (form help text, Excel 填报说明)."""
    parts = [field.get_kind_display()]
    if field.unit:
        parts.append(f"单位：{field.unit}")
    if field.min_value is not None:
        parts.append(f"不小于 {_fmt_number(field.min_value)}")
    if field.max_value is not None:
        parts.append(f"不大于 {_fmt_number(field.max_value)}")
    if field.kind == FieldKind.CHOICE and field.choices:
        parts.append("可选：" + "、".join(field.choices))
    if field.kind == FieldKind.DATE:
        parts.append("格式 2026-09-30")
    if field.computed:
        parts = [f"自动计算：{field.formula}"]
    elif field.required:
        parts.append("必填")
    return "；".join(parts)


def clean_value(field: RequestField, raw: object, *, required: bool | None = None) -> str:
    """Canonical string of one input ("" when empty). Raises ValueError with a Chinese message."""
    if isinstance(raw, (int, float, Decimal)) and not isinstance(raw, bool):
        text = str(raw)
    elif isinstance(raw, dt.datetime):
        text = raw.date().isoformat()
    elif isinstance(raw, dt.date):
        text = raw.isoformat()
    else:
        text = str(raw or "").strip()
    name = f"“{field.label}”"
    if not text:
        if field.required if required is None else required:
            raise ValueError(f"{name}为必填项。")
        return ""
    if field.kind in (FieldKind.INTEGER, FieldKind.DECIMAL):
        text = text.replace(",", "").replace("，", "")
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"{name}须为数字，“{text[:20]}”不是数字。") from None
        if not number.is_finite():
            raise ValueError(f"{name}须为数字。")
        if field.kind == FieldKind.INTEGER and number != number.to_integral_value():
            raise ValueError(f"{name}须为整数（{field.unit or '单位'}），不能有小数。")
        if field.kind == FieldKind.DECIMAL and -number.as_tuple().exponent > DECIMAL_PLACES:
            number = number.quantize(Decimal(1).scaleb(-DECIMAL_PLACES), rounding=ROUND_HALF_UP)
        if abs(number) >= Decimal(10) ** 15:
            raise ValueError(f"{name}数值过大。")
        unit = field.unit or ""
        if field.min_value is not None and number < field.min_value:
            raise ValueError(f"{name}不能小于 {_fmt_number(field.min_value)}{unit}（填的是 {_fmt_number(number)}）。")
        if field.max_value is not None and number > field.max_value:
            raise ValueError(f"{name}不能大于 {_fmt_number(field.max_value)}{unit}（填的是 {_fmt_number(number)}）。")
        return _fmt_number(number)
    if field.kind == FieldKind.DATE:
        try:
            return dt.date.fromisoformat(text[:10]).isoformat()
        except ValueError:
            raise ValueError(f"{name}须为日期，写成 2026-09-30。") from None
    if field.kind == FieldKind.CHOICE:
        if text not in field.choices:
            raise ValueError(f"{name}只能选：{'、'.join(field.choices)}。")
        return text
    if len(text) > TEXT_MAX:
        raise ValueError(f"{name}不能超过 {TEXT_MAX} 字。")
    if has_refused_chars(text, allow_newlines=True):
        raise ValueError(f"{name}含有不可见的控制字符。")
    return text


def number_of(value: str | None) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(value)
    except InvalidOperation:
        return None


def compute(fields: list[RequestField], values: Mapping[str, str]) -> dict[str, str]:
    """The values with every computed field (re)calculated from the others, in dependency order."""
    out = dict(values)
    by_code = {f.code: f for f in fields}
    order = check_formulas((f.code, f.label, f.formula, f.is_numeric) for f in fields)
    for code in order:
        field = by_code[code]
        numbers = {c: number_of(out.get(c)) for c in by_code if by_code[c].is_numeric}
        result = evaluate(parse_formula(field.formula, label=field.label), numbers)
        if result is not None and field.kind == FieldKind.INTEGER:
            result = result.quantize(Decimal(1), rounding=ROUND_HALF_UP)
        out[code] = "" if result is None else _fmt_number(result)
    return out


def clean_values(fields: list[RequestField], raw: Mapping[str, object], *, final: bool) -> tuple[dict[str, str],
                                                                                                  dict[str, str]]:
    """(values, errors by code). A draft (final=False) may leave required fields empty; a submission may not."""
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    for field in fields:
        if field.computed:
            continue
        try:
            values[field.code] = clean_value(field, raw.get(field.code), required=None if final else False)
        except ValueError as exc:
            errors[field.code] = str(exc)
    if not errors:
        values = compute(fields, values)
    return values, errors
