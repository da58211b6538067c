"""Loading JSON that came from outside: the one function every entry point uses (the API parser, the exchange
endpoints and packages, the websocket). docs/security.md「恶意输入：JSON、交换包与 websocket」.

Python's json raises RecursionError (not ValueError) on deep nesting such as ``[`` × 100000, which callers that
catch ValueError turn into a 500; and it accepts what nothing downstream can handle: NaN/Infinity (not JSON, and
our renderers refuse to write them back), lone surrogates (no UTF-8 form: every later ``encode`` fails) and
U+0000 (PostgreSQL stores it in neither text nor jsonb). All of these are refused here, with a stable code.
"""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 32  # no body we accept is deeper than 5; deep enough for any honest client, shallow enough to walk
INVALID, TOO_DEEP, TOO_LARGE = "invalid_json", "json_too_deep", "json_too_large"


class JsonRefused(ValueError):
    """``code`` is one of INVALID / TOO_DEEP / TOO_LARGE; ``message`` is Chinese. A ValueError, so code that
    already catches a json.loads ValueError keeps working."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _constant(name: str) -> None:
    raise JsonRefused(INVALID, f"不是标准 JSON：不允许 {name}")


def text_problem(text: str) -> str | None:
    """Why ``text`` cannot be stored or encoded (None when it can): U+0000, or a lone surrogate."""
    if "\x00" in text:
        return "含有空字符（U+0000）"
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return "含有无效的 Unicode 代理字符"
    return None


def _check(value: Any, max_depth: int) -> None:
    """Depth and strings of an already parsed value, walked with an explicit stack (no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            problem = text_problem(item)
            if problem:
                raise JsonRefused(INVALID, f"JSON 字符串{problem}")
        elif isinstance(item, dict | list):
            if depth > max_depth:
                raise JsonRefused(TOO_DEEP, f"JSON 嵌套超过 {max_depth} 层")
            if isinstance(item, dict):
                for key, child in item.items():
                    problem = text_problem(key)
                    if problem:
                        raise JsonRefused(INVALID, f"JSON 键名{problem}")
                    stack.append((child, depth + 1))
            else:
                stack.extend((child, depth + 1) for child in item)


def loads(data: bytes | str, *, max_bytes: int | None = None, max_depth: int = MAX_DEPTH) -> Any:
    """``data`` (bytes are UTF-8) as a JSON value, or JsonRefused. Never RecursionError, never NaN."""
    if max_bytes is not None and (len(data) > max_bytes or (
            isinstance(data, str) and not data.isascii() and len(data.encode("utf-8", "surrogatepass")) > max_bytes)):
        raise JsonRefused(TOO_LARGE, f"JSON 内容超过上限 {max_bytes} 字节")
    if isinstance(data, bytes | bytearray | memoryview):
        try:
            data = bytes(data).decode("utf-8")
        except UnicodeDecodeError:
            raise JsonRefused(INVALID, "不是有效的 UTF-8 文本") from None
    try:
        value = json.loads(data, parse_constant=_constant)
    except RecursionError:
        # The C scanner gives up at the interpreter's recursion limit (~1000 levels): far past max_depth anyway.
        raise JsonRefused(TOO_DEEP, f"JSON 嵌套超过 {max_depth} 层") from None
    except JsonRefused:
        raise
    except json.JSONDecodeError as exc:
        raise JsonRefused(INVALID, f"不是有效的 JSON（第 {exc.lineno} 行第 {exc.colno} 列）") from None
    except ValueError:  # an integer longer than Python converts (4300 digits)
        raise JsonRefused(INVALID, "不是有效的 JSON：数字过长") from None
    _check(value, max_depth)
    return value
