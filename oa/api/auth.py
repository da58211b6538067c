"""API authentication: `Authorization: Bearer <raw ApiToken>` for mobile/webview clients, the session (with
CSRF) for the browser workbench."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from oa.actions.tokens import do_use_token
from oa.selectors.tokens import active_token


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None  # not ours: let the session try
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("令牌格式不正确。", code="token_invalid")
        try:
            raw = header[1].decode()
        except UnicodeError as exc:
            raise exceptions.AuthenticationFailed("令牌格式不正确。", code="token_invalid") from exc
        token = active_token(raw)
        if token is None:
            raise exceptions.AuthenticationFailed("令牌无效、已过期或已吊销，请重新登录。", code="token_invalid")
        do_use_token(token)
        person = token.person
        if person.must_change_password:
            # The login page would force a password change first; a token must not bypass that.
            raise exceptions.AuthenticationFailed("请先在网页端修改初始密码后再使用移动端。", code="password_change_required")
        return person, raw

    def authenticate_header(self, request) -> str:
        # Makes DRF answer 401 (not 403) to anonymous requests, with a challenge clients understand.
        return 'Bearer realm="api"'


class CsrfSessionAuthentication(authentication.SessionAuthentication):
    """Session auth whose CSRF refusal carries our stable code instead of DRF's English text."""

    def enforce_csrf(self, request):
        try:
            super().enforce_csrf(request)
        except exceptions.PermissionDenied as exc:
            raise exceptions.PermissionDenied(
                "CSRF 校验失败，请刷新页面后重试。", code="csrf_failed"
            ) from exc


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "oa.api.auth.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "POST /api/auth/token 取得的令牌"}


class CsrfSessionScheme(OpenApiAuthenticationExtension):
    target_class = "oa.api.auth.CsrfSessionAuthentication"
    name = "cookieAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": "sessionid", "description": "网页会话（写操作需 CSRF 头）"}
