"""Every API error is `{"code": "<stable_snake_code>", "message": "<中文>", "fields": {...}?}` (docs/api.md)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from oa.refusals import Refusal

# DRF's default codes → our code and Chinese message (used when the raiser gave no Chinese text of its own).
DEFAULTS: dict[str, tuple[str, str]] = {
    "not_authenticated": ("not_authenticated", "请先登录或提供有效的访问令牌。"),
    "authentication_failed": ("authentication_failed", "身份认证失败。"),
    "permission_denied": ("permission_denied", "没有权限执行此操作。"),
    "not_found": ("not_found", "对象不存在或无权访问。"),
    "method_not_allowed": ("method_not_allowed", "不支持该请求方法。"),
    "not_acceptable": ("not_acceptable", "无法提供所请求的内容格式。"),
    "unsupported_media_type": ("unsupported_media_type", "不支持的请求内容类型，请使用 application/json。"),
    "parse_error": ("parse_error", "请求内容格式错误，无法解析。"),
    "throttled": ("throttled", "请求过于频繁，请稍后再试。"),
    "invalid": ("invalid", "提交的内容有误，请检查后重试。"),
}


def _has_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def _field_errors(detail) -> dict:
    if isinstance(detail, dict):
        return {k: _field_errors(v) if isinstance(v, dict) else [str(x) for x in _flatten(v)] for k, v in detail.items()}
    return {"non_field_errors": [str(x) for x in _flatten(detail)]}


def _flatten(value):
    if isinstance(value, list | tuple):
        for item in value:
            yield from _flatten(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _flatten(item)
    else:
        yield value


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    body = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    return body


def api_exception_handler(exc, context):
    if isinstance(exc, Refusal):  # the one refusal type (oa/refusals.py): its code, message and status as given
        set_rollback()
        return Response(error_body(exc.code, exc.message), status=exc.status)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            detail={"non_field_errors": exc.messages}, code=getattr(exc, "code", None) or "invalid"
        )
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        message = str(exc)
        exc = exceptions.PermissionDenied(message if _has_chinese(message) else None)
    if not isinstance(exc, exceptions.APIException):
        return None  # a bug: Django's 500 handling logs it

    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))
    set_rollback()

    if isinstance(exc, exceptions.ValidationError):
        return Response(
            error_body("invalid", DEFAULTS["invalid"][1], _field_errors(exc.detail)),
            status=status.HTTP_400_BAD_REQUEST,
            headers=headers,
        )

    detail = exc.detail
    raw_code = detail.code if hasattr(detail, "code") else exc.default_code
    code, message = DEFAULTS.get(raw_code, (raw_code or exc.default_code, ""))
    text = str(detail)
    if _has_chinese(text) and text != str(exc.default_detail):
        message = text  # the raiser's own Chinese message is more specific
    if isinstance(exc, exceptions.MethodNotAllowed):
        message = f"不支持该请求方法：{context['request'].method}。"
    elif isinstance(exc, exceptions.Throttled) and exc.wait:
        message = f"请求过于频繁，请 {int(exc.wait) + 1} 秒后再试。"
    if not message:
        message = DEFAULTS.get(exc.default_code, ("", "请求失败。"))[1]
    return Response(error_body(code, message), status=exc.status_code, headers=headers)
