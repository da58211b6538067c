"""Form rendering helpers: ``{% checkbox_group field %}`` draws a CheckboxGroup field (frontend.widgets)."""

from __future__ import annotations

from django import template
from django.forms import BoundField

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
