"""Small helpers shared by the 机关事务 item modules (text cleaning, times, the timeline)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone

from oa.refusals import Refusal

DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]


def clean_text(value: Any, what: str, *, required: bool, limit: int = 500) -> str:
    from workflows.actions.opinions import refuse_control_chars_in

    value = (value or "").strip() if isinstance(value, str) or value is None else str(value)
    if required and not value:
        raise Refusal("field_required", f"请填写{what}。")
    if len(value) > limit:
        raise Refusal("field_too_long", f"{what}不能超过 {limit} 字。")
    refuse_control_chars_in(value, what)
    return value


def datetime_field(label: str) -> forms.DateTimeField:
    return forms.DateTimeField(label=label, input_formats=DATETIME_FORMATS,
                               widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"))


def date_field(label: str) -> forms.DateField:
    return forms.DateField(label=label, widget=forms.DateInput(attrs={"type": "date"}))


def when(start: dt.datetime, end: dt.datetime) -> str:
    start, end = timezone.localtime(start), timezone.localtime(end)
    tail = f"{end:%H:%M}" if start.date() == end.date() else f"{end:%Y-%m-%d %H:%M}"
    return f"{start:%Y-%m-%d %H:%M}–{tail}"


def refuse_bad_span(start: dt.datetime | None, end: dt.datetime | None, *, longest: dt.timedelta, what: str) -> None:
    if start is None or end is None:
        raise Refusal("time_required", f"请填写{what}开始和结束时间。")
    if end <= start:
        raise Refusal("end_before_start", "结束时间必须晚于开始时间。")
    if start < timezone.now():
        raise Refusal("start_in_past", "开始时间已经过去，请重新选择。")
    if end - start > longest:
        hours = int(longest.total_seconds() // 3600)
        raise Refusal("span_too_long", f"一次{what}不能超过 {hours // 24} 天。" if hours >= 48 else
                      f"一次{what}不能超过 {hours} 小时。")
