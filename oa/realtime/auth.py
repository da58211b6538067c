"""Who is on the other end of a websocket: a browser session (origin-checked) or a bearer token.

Browser connections carry the session cookie, so a page on another origin could open one on the user's
behalf (cross-site websocket hijacking): they go through AllowedHostsOriginValidator. Token connections
(`?token=`, mobile/webview) prove themselves with a secret no other page has, so they need no Origin —
webviews often send none. A connection with a `token` parameter is judged by the token alone, never by a
cookie that happens to ride along.
"""

from __future__ import annotations

import time
from urllib.parse import parse_qs

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.security.websocket import AllowedHostsOriginValidator
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.models import Device

from oa.middleware import SESSION_LAST_SEEN
from oa.selectors.auth import login_gate
from oa.selectors.tokens import person_for_token


def query_token(scope) -> str | None:
    values = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True).get("token")
    return values[0] if values else None


@database_sync_to_async
def _person_for_token(raw: str):
    return person_for_token(raw)


class TokenAuthMiddleware:
    """scope["user"] from `?token=<raw ApiToken>`; unknown, expired or revoked tokens give AnonymousUser."""

    def __init__(self, inner) -> None:
        self.inner = inner

    async def __call__(self, scope, receive, send):
        person = await _person_for_token(query_token(scope) or "")
        scope = dict(scope, user=person or AnonymousUser(), auth_method="token", auth_gate=None)
        return await self.inner(scope, receive, send)


def _session_gate(scope) -> str | None:
    """Same admission rules as the HTTP side (oa.middleware): idle timeout, forced password change, 2FA."""
    user, session = scope["user"], scope["session"]
    if not user.is_authenticated:
        return None
    last = session.get(SESSION_LAST_SEEN)
    if last is not None and time.time() - last > settings.OA_IDLE_TIMEOUT_MINUTES * 60:
        return "idle_timeout"
    verified = False
    device_id = session.get(DEVICE_ID_SESSION_KEY)
    if device_id:
        device = Device.from_persistent_id(device_id)
        verified = device is not None and device.user_id == user.pk and device.confirmed
    return login_gate(user, otp_verified=verified)


class SessionPolicyMiddleware:
    """Runs inside AuthMiddlewareStack: marks sessions that the HTTP side would not admit."""

    def __init__(self, inner) -> None:
        self.inner = inner

    async def __call__(self, scope, receive, send):
        gate = await database_sync_to_async(_session_gate)(scope)
        if gate == "idle_timeout":
            scope = dict(scope, user=AnonymousUser(), auth_method="session", auth_gate=None)
        else:
            scope = dict(scope, auth_method="session", auth_gate=gate)
        return await self.inner(scope, receive, send)


class TokenOrSessionAuth:
    """Dispatch: `?token=` → token auth (no Origin needed); otherwise origin check + session cookie."""

    def __init__(self, inner) -> None:
        self.token_app = TokenAuthMiddleware(inner)
        # AllowedHostsOriginValidator reads ALLOWED_HOSTS once, here (see STACK.md §3).
        self.session_app = AllowedHostsOriginValidator(AuthMiddlewareStack(SessionPolicyMiddleware(inner)))

    async def __call__(self, scope, receive, send):
        if query_token(scope) is not None:
            return await self.token_app(scope, receive, send)
        return await self.session_app(scope, receive, send)
