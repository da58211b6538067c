"""Form rendering helpers: ``{% checkbox_group field %}`` draws a CheckboxGroup field (frontend.widgets);
``{% file_picker field %}`` draws a file field with the Chinese 选择文件 button (includes/file_picker.html)."""

from __future__ import annotations

from django import forms, template
from django.forms import BoundField
from django.template.loader import render_to_string
from django.utils.safestring import SafeString

register = template.Library()


def checkbox_group_context(field: BoundField) -> dict:
    """What includes/checkbox_group.html needs: the options, their categories (with counts; only when there are
    two or more), how many are ticked, and the text for an empty list."""
    options = list(field.subwidgets)
    groups: dict[str, dict] = {}
    for box in options:
        key = box.data.get("group")
        if key:
            groups.setdefault(key, {"key": key, "label": box.data.get("group_label", key), "count": 0})["count"] += 1
    return {
        "field": field,
        "options": options,
        "groups": list(groups.values()) if len(groups) > 1 else [],
        "selected": sum(1 for box in options if box.data.get("selected")),
        "empty_text": getattr(field.field.widget, "empty_text", "没有可选的项目。"),
    }


@register.inclusion_tag("includes/checkbox_group.html")
def checkbox_group(field: BoundField) -> dict:
    return checkbox_group_context(field)


@register.simple_tag
def file_picker(field: BoundField) -> SafeString:
    """A FileField (FileInput or ClearableFileInput) as includes/file_picker.html: the form's own input (name,
    accept, multiple, required, aria-invalid, the help/error ids in aria-describedby) drawn under a 选择文件
    button, the chosen names beside it. Always a plain file input: ClearableFileInput's “Currently/Clear” text is
    English, and a field left empty keeps its initial file anyway (FileField.clean)."""
    widget = field.field.widget
    described = " ".join(x for x in (f"{field.auto_id}-name", field.aria_describedby or "") if x)
    shown = forms.FileInput()
    shown.allow_multiple_selected = bool(getattr(widget, "allow_multiple_selected", False))
    attrs = {**widget.attrs, "class": "file-picker-input", "data-file-picker": True, "aria-describedby": described}
    html = field.as_widget(widget=shown, attrs=attrs)
    return render_to_string("includes/file_picker.html", {"id": field.auto_id, "input": html})
