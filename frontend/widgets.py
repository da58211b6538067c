"""Form widgets shared by every app's pages."""

from __future__ import annotations

from django import forms


class DateInput(forms.DateInput):
    """<input type="date">: the browser needs the value as YYYY-MM-DD whatever the display locale (zh-hans renders
    dates as “2026年11月27日”, which a date input silently drops)."""

    input_type = "date"

    def __init__(self, attrs: dict | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class CheckboxGroup(forms.CheckboxSelectMultiple):
    """A group of checkboxes shown as a compact multi-column grid of ≥44 px options, with 全选/全不选, one
    button per category (区直单位, 镇街 …) and a live “已选 N 个” (frontend/static/oa/js/checkgroup.js; without
    script it is a plain list of checkboxes). Render it with includes/field.html or ``{% checkbox_group field %}``.

    ``group_of`` maps an option to its category, ``(key, label)`` or None: it gets the model instance for a model
    choice field, else the option's value. Category buttons appear when the options fall in two or more.
    ``empty_text`` is said when there is nothing to choose.
    """

    checkbox_group = True

    def __init__(self, attrs=None, choices=(), *, group_of=None, empty_text: str = "没有可选的项目。") -> None:
        super().__init__(attrs=attrs, choices=choices)
        self.group_of = group_of
        self.empty_text = empty_text

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex=subindex, attrs=attrs)
        group = self.group_of(getattr(value, "instance", value)) if self.group_of else None
        if group:
            option["group"], option["group_label"] = group
            option["attrs"] = {**option["attrs"], "data-group": group[0]}
        return option
