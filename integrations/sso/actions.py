"""Writes of the SSO integration: linking identities, and starting a session for a vouched-for subject."""

from __future__ import annotations

import django_otp
from django.conf import settings
from django.contrib.auth import login as auth_login
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from integrations.sso.errors import SsoRefusal
from integrations.sso.models import Provider, SsoAssertionDevice, SsoIdentity
from oa.actions.audit import do_record_audit
from oa.actions.auth import SESSION_EXTERNAL_LOGOUT_URL
from oa.http import client_ip
from oa.middleware import SESSION_LAST_SEEN
from oa.models import Person
from oa.refusals import Refusal

SESSION_SSO = "oa_sso"


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
def do_unlink_identity(*, actor: Person | None, identity: SsoIdentity, via: str = "command") -> None:
    person, provider, subject = identity.person, identity.provider, identity.subject
    identity.delete()
    SsoAssertionDevice.objects.filter(user=person, provider=provider).delete()
    do_record_audit(actor=actor, actor_name="" if actor else "系统命令", action="sso.identity.unlink", obj=person,
                    changes={"provider": provider, "subject": subject, "via": via})


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
