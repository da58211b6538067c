"""等保三级 login controls (docs/security.md): password login with account lockout and a per-IP throttle,
forced password change with history, TOTP second factor, logout and idle logout. Every event is audited.

Views stay thin: they validate the form, call one function here and render what it returns.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import django_otp
from django.conf import settings
from django.contrib.auth import authenticate, update_session_auth_hash
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth.password_validation import validate_password
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from oa.actions.audit import do_record_audit
from oa.actions.login_limits import (
    account_address_limit,
    account_limit,
    address_limit,
    do_clear,
    do_count_failure,
    locked_until,
    login_name_key,
)
from oa.http import (
    backend_unavailable,
    client_ip,  # the one client-address rule (oa/proxies.py)
)
from oa.middleware import SESSION_LAST_SEEN
from oa.models import PasswordHistory, Person
from oa.selectors.auth import confirmed_devices, has_signed_in_from, pending_device

GENERIC_FAILURE = "用户名或密码错误。"


def _local(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def _throttled_message() -> str:
    return f"该网络地址登录失败次数过多，已暂停登录，请 {settings.OA_IP_THROTTLE_MINUTES} 分钟后再试。"


def _address_locked_message(until: dt.datetime, *, now_locked: bool) -> str:
    if now_locked:
        return (
            f"连续 {settings.OA_LOCKOUT_THRESHOLD} 次登录失败，账号已锁定至 {_local(until)}（仅限本网络地址），"
            "请稍后再试。"
        )
    return f"账号已锁定（仅限本网络地址），请于 {_local(until)} 之后再试。"


def _account_locked_message(until: dt.datetime) -> str:
    return f"该账号登录失败次数过多，已暂停登录至 {_local(until)}；如非本人操作，请联系安全管理员。"


# --- password login ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoginResult:
    """What a password login attempt came to. `status` is the HTTP status the view should answer with."""

    user: Person | None = None
    error: str = ""
    status: int = 200

    @property
    def ok(self) -> bool:
        return self.user is not None


def check_login(request: HttpRequest, *, username: str, password: str) -> LoginResult:
    """Authenticate through AUTHENTICATION_BACKENDS with lockout and IP throttle; on success log the user in.

    An unknown username gets the same answer as a wrong password and is audited without an actor.
    """
    result = check_credentials(request, username=username, password=password)
    if result.ok:
        do_login(request, result.user)
    return result


def _audit_attempt(person: Person | None, username: str, ip: str | None, action: str, changes: dict) -> None:
    if person is not None:
        do_record_audit(actor=person, action=action, obj=person, ip=ip, changes=changes)
    else:
        do_record_audit(
            actor=None, actor_name="匿名", action=action, object_type="oa.person",
            object_repr=f"未知账号 {username[:100]}", changes=changes, ip=ip,
        )


def check_credentials(request: HttpRequest, *, username: str, password: str) -> LoginResult:
    """check_login without starting a session: the same throttle, lockout and audit. The API's token
    endpoint uses it directly and issues a bearer token instead of a session.

    The answer never depends on whether the name exists: an unknown name is counted and locked like a real
    one, and the backend runs the password hasher for it too (ModelBackend does), so the time is alike.
    """
    ip = client_ip(request)
    address = ip or "unknown"
    username = username.strip()
    name = login_name_key(username)
    if locked_until(address_limit(), address):
        do_record_audit(
            actor=None, actor_name="匿名", action="auth.ip_throttled", object_type="auth.ip",
            object_id=ip or "", object_repr=f"来自 {ip} 的登录尝试", changes={"username": username[:150]}, ip=ip,
        )
        return LoginResult(error=_throttled_message(), status=429)

    person = Person.objects.filter(username=username).first()
    until = locked_until(account_address_limit(), name, address)
    if until is not None:
        do_count_failure(address_limit(), address)
        _audit_attempt(person, username, ip, "auth.login_failed", {"reason": "locked", "scope": "address"})
        return LoginResult(error=_address_locked_message(until, now_locked=False), status=403)
    until = _account_locked_until(person, name)
    if until is not None and not (person is not None and has_signed_in_from(person, ip)):
        do_count_failure(address_limit(), address)
        _audit_attempt(person, username, ip, "auth.login_failed", {"reason": "locked", "scope": "account"})
        return LoginResult(error=_account_locked_message(until), status=403)

    user = authenticate(request, username=username, password=password)
    if user is None:
        directory_error = backend_unavailable(request)
        if directory_error:
            # The directory, not the password, failed: no lockout count, but the attempt is on record.
            _audit_attempt(person, username, ip, "auth.login_failed", {"reason": "directory_unavailable"})
            return LoginResult(error=directory_error, status=503)
        return _login_failed(person, username=username, ip=ip)
    do_clear(account_address_limit(), name, address)
    do_clear(account_limit(), name)
    return LoginResult(user=user)


def _account_locked_until(person: Person | None, name: str) -> dt.datetime | None:
    """The lock over all addresses. For a real account Person.locked_until decides (the admin shows it and
    can lift it; WeCom login honours it); for an unknown name the cache, which holds the same lock."""
    if person is None:
        return locked_until(account_limit(), name)
    if person.locked_until is not None and person.locked_until > timezone.now():
        return person.locked_until
    return None


def _login_failed(person: Person | None, *, username: str, ip: str | None) -> LoginResult:
    address, name = ip or "unknown", login_name_key(username)
    do_count_failure(address_limit(), address)
    address_lock = do_count_failure(account_address_limit(), name, address)
    account_lock = do_count_failure(account_limit(), name)
    with transaction.atomic():
        if person is not None:
            person = Person.objects.select_for_update().get(pk=person.pk)
            person.failed_login_count += 1  # 连续登录失败次数, every address: shown in the admin
            if account_lock is not None:
                person.locked_until = account_lock
            person.save(update_fields=["failed_login_count", "locked_until"])
            failed = {"reason": "bad_credentials", "failed_count": person.failed_login_count}
        else:
            failed = {"reason": "unknown_user"}
        _audit_attempt(person, username, ip, "auth.login_failed", failed)
        for scope, until in (("address", address_lock), ("account", account_lock)):
            if until is not None:
                _audit_attempt(person, username, ip, "auth.lockout", {"scope": scope, "locked_until": until})
    if account_lock is not None:
        return LoginResult(error=_account_locked_message(account_lock), status=403)
    if address_lock is not None:
        return LoginResult(error=_address_locked_message(address_lock, now_locked=True), status=403)
    return LoginResult(error=GENERIC_FAILURE, status=200)


def do_login(request: HttpRequest, user: Person) -> None:
    """Start a session for an authenticated user (the session key is rotated) and audit it."""
    auth_login(request, user)
    request.session[SESSION_LAST_SEEN] = timezone.now().timestamp()
    Person.objects.filter(pk=user.pk).update(failed_login_count=0, locked_until=None)
    user.failed_login_count, user.locked_until = 0, None
    do_record_audit(actor=user, action="auth.login", obj=user, ip=client_ip(request))


# A login through an outside identity provider (integrations/sso) leaves here the provider's logout URL (OIDC
# end_session_endpoint, CAS /logout), written by our own code only: logging out here then ends that session too.
SESSION_EXTERNAL_LOGOUT_URL = "oa_external_logout_url"


def do_logout(request: HttpRequest) -> str:
    """End the session; returns the identity provider's logout URL to send the browser to, or ""."""
    user = request.user
    external = request.session.get(SESSION_EXTERNAL_LOGOUT_URL) or ""
    if user.is_authenticated:
        changes = {"single_logout": True} if external else None
        do_record_audit(actor=user, action="auth.logout", obj=user, ip=client_ip(request), changes=changes)
    auth_logout(request)
    return external if isinstance(external, str) else ""


def do_record_idle_logout(request: HttpRequest) -> None:
    """Called by IdleTimeoutMiddleware when the session was idle longer than OA_IDLE_TIMEOUT_MINUTES."""
    user = request.user
    if user.is_authenticated:
        do_record_audit(
            actor=user, action="auth.idle_logout", obj=user, ip=client_ip(request),
            changes={"idle_minutes": settings.OA_IDLE_TIMEOUT_MINUTES},
        )
    auth_logout(request)


# --- passwords ------------------------------------------------------------------------------------------------


def check_change_password(request: HttpRequest | None, person: Person, new_password: str) -> None:
    """Validate against AUTH_PASSWORD_VALIDATORS (raises ValidationError with Chinese messages), then change."""
    validate_password(new_password, person)
    do_change_password(request, person, new_password)


def do_retire_password(person: Person) -> None:
    """Push the current hash (if any) into the history before it is replaced, keeping OA_PASSWORD_HISTORY.

    Called by every password write: the person's own change and the administrator's reset."""
    if person.password and person.has_usable_password():
        PasswordHistory.objects.create(person=person, password=person.password)
        stale = list(
            PasswordHistory.objects.filter(person=person).values_list("pk", flat=True)[settings.OA_PASSWORD_HISTORY:]
        )
        if stale:
            PasswordHistory.objects.filter(pk__in=stale).delete()


@transaction.atomic
def do_change_password(request: HttpRequest | None, person: Person, new_password: str) -> None:
    """Push the old hash into the history (keeping OA_PASSWORD_HISTORY), set the new one, clear the force flag."""
    forced = person.must_change_password
    do_retire_password(person)
    person.set_password(new_password)
    person.password_changed_at = timezone.now()
    person.must_change_password = False
    person.save(update_fields=["password", "password_changed_at", "must_change_password"])
    if request is not None and getattr(request, "user", None) is not None and request.user.pk == person.pk:
        update_session_auth_hash(request, person)
    do_record_audit(
        actor=person, action="auth.password_change", obj=person,
        ip=client_ip(request) if request is not None else None, changes={"forced": forced},
    )


# --- TOTP second factor ----------------------------------------------------------------------------------------


def do_get_or_create_pending_device(person: Person) -> TOTPDevice:
    """The unconfirmed device whose secret the enrolment page shows as a QR code."""
    device = pending_device(person)
    if device is None:
        device = TOTPDevice.objects.create(user=person, name="手机令牌", confirmed=False)
    return device


def do_reset_two_factor(*, actor: Person, person: Person, via: str = "admin", reason: str = "") -> int:
    """重置二次验证: delete every TOTP device of `person` (lost phone, new phone). Their next login enrols a new one;
    a session verified with a deleted device is no longer verified (django_otp finds no device). The secret itself
    is never shown to the administrator: only its owner sees it, once, while enrolling. Returns devices removed."""
    with transaction.atomic():
        removed, _ = TOTPDevice.objects.filter(user=person).delete()
        changes = {"devices": removed, "via": via, **({"reason": reason} if reason else {})}
        do_record_audit(actor=actor, action="auth.otp_reset", obj=person, changes=changes)
    return removed


def do_unlock_account(*, actor: Person, person: Person, reason: str, via: str = "manage") -> bool:
    """解除锁定: clear the failure count and the lock over all addresses (Person.locked_until and its cache twin).
    A lock of one name from one address (account_address) is keyed on that address and simply runs out
    (OA_LOCKOUT_MINUTES). Returns whether the account was locked. Audited as `auth.unlock`."""
    with transaction.atomic():
        person = Person.objects.select_for_update().get(pk=person.pk)
        was_locked = person.locked_until is not None and person.locked_until > timezone.now()
        changes = {"via": via, "reason": reason, "failed_count": person.failed_login_count,
                   "locked_until": person.locked_until, "was_locked": was_locked}
        person.failed_login_count, person.locked_until = 0, None
        person.save(update_fields=["failed_login_count", "locked_until"])
        do_record_audit(actor=actor, action="auth.unlock", obj=person, changes=changes)
    do_clear(account_limit(), login_name_key(person.username))
    return was_locked


OTP_BAD_CODE = "验证码不正确或已使用过，请输入验证器中当前显示的 6 位数字。"
OTP_THROTTLED = "验证码错误次数过多，请稍候片刻再试。"


def _otp_failed(request: HttpRequest, person: Person, *, stage: str, reason: str) -> str:
    do_record_audit(
        actor=person, action="auth.otp_failed", obj=person, ip=client_ip(request),
        changes={"stage": stage, "reason": reason},
    )
    return OTP_THROTTLED if reason == "throttled" else OTP_BAD_CODE


def check_enrol_device(request: HttpRequest, person: Person, code: str) -> str:
    """Confirm the pending device with a code from the authenticator. Returns an error message, or "" on success
    (the session is then OTP-verified with the new device)."""
    device = pending_device(person)
    if device is None:
        return _otp_failed(request, person, stage="enrol", reason="no_pending_device")
    if not device.verify_is_allowed()[0]:
        return _otp_failed(request, person, stage="enrol", reason="throttled")
    if not device.verify_token(code):
        return _otp_failed(request, person, stage="enrol", reason="bad_code")
    with transaction.atomic():
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        TOTPDevice.objects.filter(user=person, confirmed=False).delete()
        do_record_audit(
            actor=person, action="auth.otp_enrol", obj=person, ip=client_ip(request),
            changes={"device_id": device.pk},
        )
    django_otp.login(request, device)
    return ""


def check_verify_otp(request: HttpRequest, person: Person, code: str) -> str:
    """Second step of login. Returns an error message, or "" when a confirmed device accepted the code.

    TOTPDevice refuses a code whose time step was already used (replay) and throttles after failures.
    """
    error, device = check_otp_code(request, person, code)
    if device is not None:
        django_otp.login(request, device)
    return error


def check_otp_code(request: HttpRequest, person: Person, code: str) -> tuple[str, TOTPDevice | None]:
    """Verify a TOTP code (replay refusal, throttle, audit) without touching the session: (error, device)."""
    devices = confirmed_devices(person)
    if not devices:
        return _otp_failed(request, person, stage="verify", reason="no_device"), None
    allowed = [d for d in devices if d.verify_is_allowed()[0]]
    if not allowed:
        return _otp_failed(request, person, stage="verify", reason="throttled"), None
    for device in allowed:
        if device.verify_token(code):
            do_record_audit(
                actor=person, action="auth.otp_verify", obj=person, ip=client_ip(request),
                changes={"device_id": device.pk},
            )
            return "", device
    return _otp_failed(request, person, stage="verify", reason="bad_code"), None
