"""Form widgets shared by every app's pages."""

from __future__ import annotations

from django import forms


class DateInput(forms.DateInput):
    """<input type="date">: the browser needs the value as YYYY-MM-DD whatever the display locale (zh-hans renders
    dates as “2026年11月27日”, which a date input silently drops)."""

    input_type = "date"

    def __init__(self, attrs: dict | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")
