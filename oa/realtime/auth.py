"""Who is on the other end of a websocket: a browser session (origin-checked) or a single-use ticket.

Browser connections carry the session cookie, so a page on another origin could open one on the user's
behalf (cross-site websocket hijacking): they go through AllowedHostsOriginValidator. Mobile/webview
connections first trade their bearer token for a ticket (POST /api/ws-ticket) and connect with `?ticket=`:
a secret no other page has, so they need no Origin (webviews often send none), and one that is worthless
once used or a minute old, so the access log that records the URL holds nothing reusable. A connection with
a `ticket` parameter is judged by the ticket alone, never by a cookie that happens to ride along.

The 30-day bearer token itself is refused in the URL (`?token=`, close 4401 like any failed login): it
would sit in every proxy's access log.
"""

from __future__ import annotations

import logging
import time
from urllib.parse import parse_qs

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.security.websocket import AllowedHostsOriginValidator
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.models import Device

from oa.actions.tokens import do_redeem_ws_ticket
from oa.middleware import SESSION_LAST_SEEN
from oa.selectors.auth import login_gate

logger = logging.getLogger(__name__)


def query_param(scope, name: str) -> str | None:
    values = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True).get(name)
    return values[0] if values else None


class TicketAuthMiddleware:
    """scope["user"] from `?ticket=<ticket>` (redeemed, so it admits once); anything else gives AnonymousUser."""

    def __init__(self, inner) -> None:
        self.inner = inner

    async def __call__(self, scope, receive, send):
        admission = await database_sync_to_async(do_redeem_ws_ticket)(query_param(scope, "ticket") or "")
        if admission is None:
            scope = dict(scope, user=AnonymousUser(), auth_method="ticket", auth_gate=None)
        else:
            scope = dict(scope, user=admission.person, auth_method="ticket", auth_gate=admission.gate)
        return await self.inner(scope, receive, send)


class QueryTokenRefusal:
    """`?token=`: the consumer closes with 4401. No Origin check first, so an old client sees the code."""

    def __init__(self, inner) -> None:
        self.inner = inner

    async def __call__(self, scope, receive, send):
        logger.warning("websocket: bearer token in the URL refused (use POST /api/ws-ticket)")
        scope = dict(scope, user=AnonymousUser(), auth_method="token_in_url", auth_gate=None)
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


class TicketOrSessionAuth:
    """Dispatch: `?token=` → refused; `?ticket=` → ticket auth (no Origin needed); otherwise origin check +
    session cookie."""

    def __init__(self, inner) -> None:
        self.refusal_app = QueryTokenRefusal(inner)
        self.ticket_app = TicketAuthMiddleware(inner)
        # AllowedHostsOriginValidator reads ALLOWED_HOSTS once, here (see STACK.md §3).
        self.session_app = AllowedHostsOriginValidator(AuthMiddlewareStack(SessionPolicyMiddleware(inner)))

    async def __call__(self, scope, receive, send):
        if query_param(scope, "token") is not None:
            return await self.refusal_app(scope, receive, send)
        if query_param(scope, "ticket") is not None:
            return await self.ticket_app(scope, receive, send)
        return await self.session_app(scope, receive, send)
