"""Issue and revoke bearer tokens. The raw token is shown once; only its SHA-256 is stored."""

from __future__ import annotations

import datetime as dt
import secrets

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from oa.actions.audit import do_record_audit
from oa.models import ApiToken, Person
from oa.selectors.tokens import token_digest

TOKEN_DAYS = 30


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


# --- token login (POST /api/auth/token): the login page's controls, then a token instead of a session --------


class LoginRefused(Exception):
    """Why a token login was refused: stable `code`, Chinese `message`, HTTP `status`."""

    def __init__(self, code: str, message: str, status: int) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


_PASSWORD_STATUS_CODES = {429: "throttled", 403: "account_locked", 503: "directory_unavailable"}


def check_token_login(
    request: HttpRequest, *, username: str, password: str, otp: str = "", name: str = ""
) -> tuple[str, ApiToken]:
    """Same lockout, IP throttle and audit as the login page (oa.actions.auth), 2FA roles must pass TOTP in
    the same request; a forced password change must happen on the web first. Returns (raw token, token)."""
    from oa.actions.auth import OTP_THROTTLED, check_credentials, check_otp_code, client_ip
    from oa.selectors.auth import has_confirmed_device
    from oa.selectors.directory import requires_two_factor

    result = check_credentials(request, username=username, password=password)
    if not result.ok:
        code = _PASSWORD_STATUS_CODES.get(result.status, "invalid_credentials")
        raise LoginRefused(code, result.error, result.status if result.status != 200 else 400)
    person = result.user
    if requires_two_factor(person):
        if not has_confirmed_device(person):
            raise LoginRefused("otp_setup_required", "您的岗位须使用手机令牌，请先在网页端完成绑定。", 403)
        if not otp.strip():
            raise LoginRefused("otp_required", "您的岗位须进行二次验证，请填写手机令牌上的 6 位验证码。", 400)
        error, device = check_otp_code(request, person, otp.strip())
        if device is None:
            if error == OTP_THROTTLED:
                raise LoginRefused("throttled", error, 429)
            raise LoginRefused("otp_invalid", error, 400)
    if person.must_change_password:
        raise LoginRefused("password_change_required", "请先在网页端修改初始密码。", 403)
    ip = client_ip(request)
    with transaction.atomic():
        Person.objects.filter(pk=person.pk).update(failed_login_count=0, locked_until=None)
        do_record_audit(actor=person, action="auth.login", obj=person, ip=ip, changes={"via": "api"})
        return do_issue_token(person, name=name or "移动端", ip=ip)
