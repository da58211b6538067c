"""Input checks shared by the 要素 form, the 要素 API (through documents.actions.documents) and the opinion box:
text that would reach a renderer may not carry control, bidi or non-XML characters (docs/security.md)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

from documents.rendering.text import has_refused_chars

CONTROL_CHARS_CODE = "text_control_chars"
CONTROL_CHARS_MESSAGE = "含有控制字符或不可见的文字方向符（如 U+202E），请删除后再保存"


def _texts(value: Any) -> list[str]:
    return [v for v in (value if isinstance(value, list | tuple) else [value]) if isinstance(v, str)]


def has_control_chars(value: Any, *, allow_newlines: bool = False) -> bool:
    """True when ``value`` (a string or a list of names) holds a character the renderers must not receive."""
    return any(has_refused_chars(v, allow_newlines=allow_newlines) for v in _texts(value))


def refuse_control_chars(value: Any) -> None:
    """Form validator for one-line text and name lists (主送、抄送 …)."""
    if has_control_chars(value):
        raise ValidationError(CONTROL_CHARS_MESSAGE, code=CONTROL_CHARS_CODE)


def refuse_control_chars_multiline(value: Any) -> None:
    """Form validator for text boxes where line breaks are fine (办理意见)."""
    if has_control_chars(value, allow_newlines=True):
        raise ValidationError(CONTROL_CHARS_MESSAGE, code=CONTROL_CHARS_CODE)
