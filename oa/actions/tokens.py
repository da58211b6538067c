"""Issue and revoke bearer tokens. The raw token is shown once; only its SHA-256 is stored."""

from __future__ import annotations

import datetime as dt
import secrets
import time
from dataclasses import dataclass
from importlib import import_module

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from oa.actions.audit import do_record_audit
from oa.models import ApiToken, Person
from oa.refusals import Refusal
from oa.selectors.auth import login_gate
from oa.selectors.tokens import token_digest

TOKEN_DAYS = 30
WS_TICKET_SECONDS = 60
WS_TICKET_KEY = "oa:ws-ticket:{digest}"


def do_issue_token(person: Person, *, name: str, days: int = TOKEN_DAYS, ip: str | None = None) -> tuple[str, ApiToken]:
    raw = "oa_" + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            person=person,
            name=name[:100] or "移动端",
            key_hash=token_digest(raw),
            prefix=raw[:8],
            expires_at=timezone.now() + dt.timedelta(days=days),
        )
        do_record_audit(actor=person, action="auth.token_issue", obj=token, ip=ip, changes={"days": days})
    return raw, token


def do_revoke_token(*, actor: Person, token: ApiToken, ip: str | None = None) -> None:
    with transaction.atomic():
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        do_record_audit(actor=actor, action="auth.token_revoke", obj=token, ip=ip)


TOUCH_SECONDS = 60


def do_use_token(token: ApiToken) -> None:
    """Record that a bearer token was used (last_used_at), at most once a minute: a busy client must not turn
    every request into a write."""
    token.last_used_at = do_touch_token(token.pk, token.last_used_at)


def do_touch_token(token_id: int, last_used_at: dt.datetime | None) -> dt.datetime | None:
    """do_use_token by id (oa.api.lean has no ApiToken instance): writes last_used_at when the stored one is
    older than TOUCH_SECONDS; returns the value now stored."""
    now = timezone.now()
    if last_used_at is None or (now - last_used_at).total_seconds() > TOUCH_SECONDS:
        ApiToken.objects.filter(pk=token_id).update(last_used_at=now)
        return now
    return last_used_at


# --- token login (POST /api/auth/token): the login page's controls, then a token instead of a session --------


_PASSWORD_STATUS_CODES = {429: "throttled", 403: "account_locked", 503: "directory_unavailable"}


def check_token_login(
    request: HttpRequest, *, username: str, password: str, otp: str = "", name: str = ""
) -> tuple[str, ApiToken]:
    """Same lockout, IP throttle and audit as the login page (oa.actions.auth), 2FA roles must pass TOTP in
    the same request; a forced password change must happen on the web first. Returns (raw token, token);
    raises Refusal (invalid_credentials 400, account_locked 403, throttled 429, directory_unavailable 503,
    otp_setup_required 403, otp_required/otp_invalid 400, password_change_required 403)."""
    from oa.actions.auth import OTP_THROTTLED, check_credentials, check_otp_code, client_ip
    from oa.selectors.auth import has_confirmed_device
    from oa.selectors.directory import requires_two_factor

    result = check_credentials(request, username=username, password=password)
    if not result.ok:
        code = _PASSWORD_STATUS_CODES.get(result.status, "invalid_credentials")
        raise Refusal(code, result.error, result.status if result.status != 200 else 400)
    person = result.user
    if requires_two_factor(person):
        if not has_confirmed_device(person):
            raise Refusal("otp_setup_required", "您的岗位须使用手机令牌，请先在网页端完成绑定。", 403)
        if not otp.strip():
            raise Refusal("otp_required", "您的岗位须进行二次验证，请填写手机令牌上的 6 位验证码。", 400)
        error, device = check_otp_code(request, person, otp.strip())
        if device is None:
            if error == OTP_THROTTLED:
                raise Refusal("throttled", error, 429)
            raise Refusal("otp_invalid", error, 400)
    if person.must_change_password:
        raise Refusal("password_change_required", "请先在网页端修改初始密码。", 403)
    ip = client_ip(request)
    with transaction.atomic():
        Person.objects.filter(pk=person.pk).update(failed_login_count=0, locked_until=None)
        do_record_audit(actor=person, action="auth.login", obj=person, ip=ip, changes={"via": "api"})
        return do_issue_token(person, name=name or "移动端", ip=ip)


# --- websocket tickets (POST /api/ws-ticket, then /ws/events/?ticket=) ------------------------------------------
#
# A URL ends up in access logs, so the 30-day bearer token never goes into one: the client trades it (or its
# session) for a ticket that opens one socket within a minute. Only the SHA-256 of a ticket is stored, in the
# cache (Redis in production, shared by every process). Issuing is not audited: clients do it at every
# reconnect, and the token login that made it possible already is.


@dataclass(frozen=True)
class WsTicketAdmission:
    person: Person
    gate: str | None  # as oa.selectors.auth.login_gate: a page the person must go through first, or None


def do_issue_ws_ticket(
    person: Person, *, token: ApiToken | None = None, session_key: str | None = None
) -> tuple[str, dt.datetime]:
    """A random single-use ticket for `person`, valid WS_TICKET_SECONDS; it dies with the token or session
    that asked for it. Returns (raw ticket, expiry)."""
    raw = "wst_" + secrets.token_urlsafe(32)
    expires = time.time() + WS_TICKET_SECONDS
    cache.set(
        WS_TICKET_KEY.format(digest=token_digest(raw)),
        {"person": person.pk, "token": token.pk if token else None, "session": session_key, "expires": expires},
        # The expiry in the value decides (one clock for every cache backend); the cache timeout only
        # clears tickets nobody used.
        timeout=WS_TICKET_SECONDS + 30,
    )
    return raw, dt.datetime.fromtimestamp(expires, tz=dt.UTC)


def claim_ws_ticket(raw: str) -> dict | None:
    """Take the ticket out of the cache. Of two connections racing with the same ticket only the one whose
    delete removed the key gets it (cache.delete reports whether it did, atomically, on Redis and locmem)."""
    if not raw or len(raw) > 200:
        return None
    key = WS_TICKET_KEY.format(digest=token_digest(raw))
    data = cache.get(key)
    if not isinstance(data, dict) or not cache.delete(key):
        return None
    return data


def do_redeem_ws_ticket(raw: str) -> WsTicketAdmission | None:
    """The person a ticket admits, once: None for an unknown, used or expired ticket, a disabled person, or
    when the token or session that asked for it is gone (revoked, expired, logged out)."""
    data = claim_ws_ticket(raw)
    if data is None or time.time() > data["expires"]:
        return None
    person = Person.objects.filter(pk=data["person"], is_active=True).first()
    if person is None:
        return None
    if data["token"] is not None and not ApiToken.objects.filter(
        pk=data["token"], person=person, revoked_at__isnull=True, expires_at__gt=timezone.now()
    ).exists():
        return None
    if data["session"] is not None and not import_module(settings.SESSION_ENGINE).SessionStore().exists(
        data["session"]
    ):
        return None
    # Second factor was checked when the ticket was issued (token login or a verified session); a forced
    # password change set since then still applies.
    return WsTicketAdmission(person, login_gate(person, otp_verified=True))
