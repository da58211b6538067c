"""Reads of the SSO integration: the links the 系统管理员 manages (/manage/sso/) and a person's own (我的 → 账号安全)."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Q, QuerySet
from django.http import Http404

from integrations.sso.models import Provider, SsoIdentity
from oa.models import Person, Role
from oa.selectors.manage import people_in_scope, require_admin


def _managed(user) -> QuerySet[SsoIdentity]:
    people = people_in_scope(user, Role.SYSADMIN).values("pk")
    return SsoIdentity.objects.filter(person_id__in=people).select_related("person", "linked_by")


def managed_identities(user, text: str = "", provider: str = "", *, limit: int = 200) -> list[SsoIdentity]:
    """Links of people in the 系统管理员's scope, found by subject, name or login name; newest first.
    403 without the role."""
    require_admin(user, Role.SYSADMIN)
    qs = _managed(user)
    if provider in Provider.values:
        qs = qs.filter(provider=provider)
    text = text.strip()
    if text:
        qs = qs.filter(Q(subject__icontains=text) | Q(person__name__icontains=text)
                       | Q(person__username__icontains=text))
    return list(qs.order_by("-linked_at", "-pk")[:limit])


def access_managed_identity_by_id(user, identity_id: int) -> SsoIdentity:
    """A link of someone in the 系统管理员's scope: 403 without the role, 404 outside the scope or missing."""
    require_admin(user, Role.SYSADMIN)
    identity = _managed(user).filter(pk=identity_id).first()
    if identity is None:
        raise Http404
    return identity


def identities_of(person: Person) -> list[SsoIdentity]:
    """The person's own links (read-only on 我的 → 账号安全)."""
    return list(SsoIdentity.objects.filter(person=person).order_by("provider"))


def provider_configured(provider: str) -> bool:
    """Is the provider switched on in this deployment (docs/sso.md § 设置)?"""
    from integrations.sso.oidc import oidc_enabled

    if provider == Provider.OIDC:
        return oidc_enabled()
    if provider == Provider.CAS:
        return bool(settings.OA_CAS_SERVER_URL)
    return False


def configured_providers() -> list[tuple[str, str]]:
    return [(value, label) for value, label in Provider.choices if provider_configured(value)]
