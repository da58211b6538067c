"""Writes of the SSO integration: linking identities, and starting a session for a vouched-for subject."""

from __future__ import annotations

import csv
from importlib import import_module

import django_otp
from django.conf import settings
from django.contrib.auth import login as auth_login
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from integrations.sso.errors import SsoRefusal
from integrations.sso.models import Provider, SsoAssertionDevice, SsoIdentity
from integrations.sso.selectors import provider_configured
from oa.actions.audit import do_record_audit
from oa.actions.auth import SESSION_EXTERNAL_LOGOUT_URL
from oa.http import client_ip
from oa.middleware import SESSION_LAST_SEEN
from oa.models import Person, Role
from oa.refusals import Refusal
from oa.selectors.manage import FORBIDDEN, holds_admin_role, person_in_scope

SESSION_SSO = "oa_sso"
MANAGE_VIA = "manage"


class LinkRowsRefusal(Refusal):
    """A CSV of links refused as a whole: `errors` holds one Chinese line per bad row (“第 N 行：…”)."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("sso_csv_rows", "未关联任何账号：\n" + "\n".join(errors), 400)
        self.errors = errors


def _require_manager(actor: Person, provider: str | None = None) -> None:
    """The /manage/ checks: the 系统管理员 role (三员分立: not the 安全/审计管理员) and a configured provider."""
    if not holds_admin_role(actor, Role.SYSADMIN):
        raise Refusal("manage_forbidden", FORBIDDEN[Role.SYSADMIN], 403)
    if provider is None:
        return
    if provider not in Provider.values:
        raise Refusal("sso_provider_invalid", "认证方式只能是 OpenID Connect 或 CAS。", 400)
    if not provider_configured(provider):
        raise Refusal("sso_provider_off",
                      f"本系统尚未配置{Provider(provider).label}省统一身份认证（见 docs/sso.md “设置”），不能关联该方式的统一身份。",
                      409)


def _require_person(actor: Person, person: Person) -> None:
    if not person_in_scope(actor, Role.SYSADMIN, person):
        raise Refusal("manage_out_of_scope",
                      f"{person.get_full_name() or person.username} 不在您的管理范围内。", 403)


def _clean_subject(subject: str) -> str:
    subject = (subject or "").strip()
    if not subject:
        raise Refusal("sso_subject_required", "请填写统一身份标识（OIDC 的 sub 或 CAS 用户名）。", 400)
    if len(subject) > 255:
        raise Refusal("sso_subject_too_long", "统一身份标识过长（至多 255 个字符）。", 400)
    return subject


@transaction.atomic
def check_link_identity(*, actor: Person | None, provider: str, subject: str, person: Person,
                        via: str = "command") -> SsoIdentity:
    """Link a provincial identity to a Person. One identity per person per provider, one person per identity."""
    if provider not in Provider.values:
        raise Refusal("sso_provider_invalid", "认证方式只能是 oidc 或 cas。", 400)
    subject = _clean_subject(subject)
    if not person.is_active:
        raise Refusal("sso_person_inactive", f"{person.get_full_name() or person.username} 的账号已停用，不能关联统一身份。", 409)
    existing = SsoIdentity.objects.filter(provider=provider, subject=subject).select_related("person").first()
    if existing is not None:
        raise Refusal("sso_subject_taken",
                      f"统一身份标识 {subject} 已关联 {existing.person.get_full_name() or existing.person.username}，"
                      "请先解除原关联。", 409)
    if SsoIdentity.objects.filter(provider=provider, person=person).exists():
        raise Refusal("sso_person_linked",
                      f"{person.get_full_name() or person.username} 已关联一个{Provider(provider).label}统一身份，请先解除原关联。",
                      409)
    try:
        with transaction.atomic():
            identity = SsoIdentity.objects.create(provider=provider, subject=subject, person=person, linked_by=actor)
    except IntegrityError as exc:  # a concurrent link of the same subject or person
        raise Refusal("sso_subject_taken", f"统一身份标识 {subject} 刚被关联，请刷新后重试。", 409) from exc
    do_record_audit(actor=actor, actor_name="" if actor else "系统命令", action="sso.identity.link", obj=person,
                    changes={"provider": provider, "subject": subject, "via": via})
    return identity


@transaction.atomic
def do_unlink_identity(*, actor: Person | None, identity: SsoIdentity, via: str = "command", reason: str = "") -> None:
    person, provider, subject = identity.person, identity.provider, identity.subject
    identity.delete()
    SsoAssertionDevice.objects.filter(user=person, provider=provider).delete()
    changes = {"provider": provider, "subject": subject, "via": via}
    if reason:
        changes["reason"] = reason
    do_record_audit(actor=actor, actor_name="" if actor else "系统命令", action="sso.identity.unlink", obj=person,
                    changes=changes)


def check_link_identities_csv(*, actor: Person | None, provider: str, text: str, via: str) -> int:
    """Link many identities from CSV text (header subject,username): all or nothing. Every bad row is reported
    with its line number in one LinkRowsRefusal and nothing is linked. With an `actor` (the /manage/ page) the
    actor must be a 系统管理员, the provider configured and each person in the actor's scope; without one (the
    `sso_link` command on the server) neither applies. Returns how many were linked."""
    if actor is not None:
        _require_manager(actor, provider)
    elif provider not in Provider.values:
        raise Refusal("sso_provider_invalid", "认证方式只能是 oidc 或 cas。", 400)
    reader = csv.DictReader(text.splitlines())
    if not reader.fieldnames or {"subject", "username"} - {(f or "").strip() for f in reader.fieldnames}:
        raise Refusal("sso_csv_header", "CSV 表头须为 subject,username", 400)
    reader.fieldnames = [(f or "").strip() for f in reader.fieldnames]
    errors: list[str] = []
    linked = 0
    with transaction.atomic():
        for line, row in enumerate(reader, start=2):
            subject, username = (row.get("subject") or "").strip(), (row.get("username") or "").strip()
            person = Person.objects.filter(username=username).first() if username else None
            if person is None:
                errors.append(f"第 {line} 行：本系统没有登录名为 {username or '（空）'} 的人员")
                continue
            try:
                with transaction.atomic():
                    if actor is not None:
                        _require_person(actor, person)
                    check_link_identity(actor=actor, provider=provider, subject=subject, person=person, via=via)
            except Refusal as exc:
                errors.append(f"第 {line} 行：{exc.message}")
                continue
            linked += 1
        if not errors and not linked:
            errors.append("文件中没有数据行（第 2 行起每行一个：subject,username）")
        if errors:
            transaction.set_rollback(True)
    if errors:
        raise LinkRowsRefusal(errors)
    return linked


def check_manage_link_identity(*, actor: Person, provider: str, subject: str, person: Person) -> SsoIdentity:
    """系统管理员 → 统一身份关联 → 关联: the command's rules, plus role, configured provider and scope."""
    _require_manager(actor, provider)
    _require_person(actor, person)
    return check_link_identity(actor=actor, provider=provider, subject=subject, person=person, via=MANAGE_VIA)


def check_manage_unlink_identity(*, actor: Person, identity: SsoIdentity, reason: str) -> None:
    """系统管理员 → 统一身份关联 → 解除, with a reason kept in the audit entry."""
    _require_manager(actor)
    _require_person(actor, identity.person)
    reason = (reason or "").strip()
    if not reason:
        raise Refusal("sso_unlink_reason", "请填写解除关联的原因。", 400)
    do_unlink_identity(actor=actor, identity=identity, via=MANAGE_VIA, reason=reason)


def do_delete_orphan_session_tickets() -> int:
    """django-cas-ng's SessionTicket rows whose session no longer exists (expired, ended by logout or the idle
    timeout, or cleared by `clearsessions`): the single logout they served can no longer end anything. Returns the
    number of rows deleted. A database session counts as gone once it has expired."""
    from django_cas_ng.models import SessionTicket

    store = import_module(settings.SESSION_ENGINE).SessionStore
    keys = list(SessionTicket.objects.values_list("session_key", flat=True))
    if not keys:
        return 0
    if hasattr(store, "get_model_class"):  # db and cached_db: one query for every live session
        live = set(store.get_model_class().objects.filter(session_key__in=keys, expire_date__gt=timezone.now())
                   .values_list("session_key", flat=True))
    else:  # cache, file, signed cookies: ask the store about each one
        live = {key for key in keys if store().exists(key)}
    gone = [key for key in keys if key not in live]
    deleted = 0
    for start in range(0, len(gone), 500):
        deleted += SessionTicket.objects.filter(session_key__in=gone[start:start + 500]).delete()[0]
    return deleted


def _refuse(request: HttpRequest, *, provider: str, subject: str, person: Person | None, code: str,
            detail: str = "") -> SsoRefusal:
    do_record_audit(
        actor=person, actor_name="" if person else "匿名", action="auth.sso_login_failed",
        object_type="oa.person", object_id=person.pk if person else "",
        object_repr=str(person) if person else f"统一身份 {subject[:64]}",
        changes={"provider": provider, "subject": subject[:255], "reason": code}, ip=client_ip(request),
    )
    return SsoRefusal(code, detail)


def record_refusal(request: HttpRequest, *, provider: str, refusal: SsoRefusal) -> None:
    """A protocol-level refusal (state, token, ticket): audited, nothing else written."""
    do_record_audit(actor=None, actor_name="匿名", action="auth.sso_login_failed", object_type="oa.person",
                    object_id="", object_repr="统一身份认证", changes={"provider": provider, "reason": refusal.code},
                    ip=client_ip(request))


def check_sso_login(request: HttpRequest, *, provider: str, subject: str, acr: str = "", logout_url: str = "",
                    session_data: dict | None = None) -> Person:
    """The provider vouched for `subject`: find its Person through SsoIdentity and start a session.

    Unknown subjects are refused (never matched by e-mail, never created); disabled or locked accounts are refused.
    The refusal is audited in its own transaction and nothing else is written. On success the session starts
    (key rotated), the 2FA gate still applies unless `acr` is one the deployment accepts (OA_OIDC_STRONG_ACR)."""
    identity = SsoIdentity.objects.filter(provider=provider, subject=subject).select_related("person").first()
    person = identity.person if identity else None
    if identity is None:
        raise _refuse(request, provider=provider, subject=subject, person=None, code="sso_unknown_subject",
                      detail=subject[:64])
    if not person.is_active:
        raise _refuse(request, provider=provider, subject=subject, person=person, code="sso_account_disabled")
    if person.locked_until is not None and person.locked_until > timezone.now():
        until = timezone.localtime(person.locked_until).strftime("%Y-%m-%d %H:%M")
        raise _refuse(request, provider=provider, subject=subject, person=person, code="sso_account_locked",
                      detail=until)
    strong = provider == Provider.OIDC and bool(acr) and acr in settings.OA_OIDC_STRONG_ACR
    with transaction.atomic():
        _do_sso_login(request, identity, acr=acr, strong=strong, logout_url=logout_url,
                      session_data=session_data or {})
    return person


def _do_sso_login(request: HttpRequest, identity: SsoIdentity, *, acr: str, strong: bool, logout_url: str,
                  session_data: dict) -> None:
    person = identity.person
    # The session must name a backend that is in AUTHENTICATION_BACKENDS (LDAP replaces ModelBackend there), as
    # the platform login does: the provider is not an authentication backend, it only vouched for this person.
    auth_login(request, person, backend=settings.AUTHENTICATION_BACKENDS[0])
    request.session[SESSION_LAST_SEEN] = timezone.now().timestamp()
    request.session[SESSION_SSO] = {"provider": identity.provider, "subject": identity.subject, "acr": acr,
                                    "strong": strong, **session_data}
    if logout_url:
        request.session[SESSION_EXTERNAL_LOGOUT_URL] = logout_url
    if strong:
        device, _ = SsoAssertionDevice.objects.get_or_create(
            user=person, provider=identity.provider, defaults={"name": "省统一身份认证（强认证）", "confirmed": True})
        django_otp.login(request, device)
    identity.last_login_at = timezone.now()
    identity.save(update_fields=["last_login_at"])
    do_record_audit(actor=person, action="auth.login", obj=person, ip=client_ip(request),
                    changes={"via": identity.provider, "subject": identity.subject, "acr": acr, "strong_auth": strong})


def do_record_sso_logout(*, person: Person, provider: str, ip: str | None, reason: str) -> None:
    """A session ended by the provider (CAS single logout)."""
    do_record_audit(actor=person, action="auth.sso_logout", obj=person, ip=ip,
                    changes={"provider": provider, "reason": reason})
