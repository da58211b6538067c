"""Login against the directory (active when OA_LDAP_URL is set; see oa/settings.py AUTHENTICATION_BACKENDS).

Search the user's entry with the service account (the login name is filter-escaped), then bind as that
entry with the typed password; the Person is found by entryUUID. Local accounts (source=local, e.g. the
emergency administrator) keep authenticating against their local password hash.

When the directory cannot be reached the backend returns None (Django then reports bad credentials) and
sets `request.ldap_error` to LDAP_UNAVAILABLE_MESSAGE, so the login view can say 目录服务器不可用 instead.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from integrations.ldap.client import (
    DirectoryBindError,
    DirectoryClient,
    DirectoryConfigError,
    DirectoryError,
    DirectoryUnavailable,
    LdapConfig,
)
from integrations.ldap.sync import PERSON_ATTRS, upsert_person_from_entry
from oa.http import BACKEND_UNAVAILABLE_ATTR, backend_unavailable
from oa.models import Person

logger = logging.getLogger(__name__)

LDAP_UNAVAILABLE_MESSAGE = "目录服务器不可用，暂时无法通过统一身份认证登录，请稍后再试或联系系统管理员。"
REQUEST_ATTR = BACKEND_UNAVAILABLE_ATTR  # read by oa.actions.auth through oa.http.backend_unavailable


def ldap_error(request: HttpRequest | None) -> str | None:
    """The message to show after a failed login when the directory, not the password, was the problem."""
    return backend_unavailable(request)


def ldap_status() -> str | None:
    """Probe the directory with the service account: None when usable, else a Chinese message (ops pages)."""
    if not settings.LDAP_URL:
        return None
    try:
        with DirectoryClient(LdapConfig.from_settings()):
            return None
    except DirectoryError as exc:
        return str(exc)


class LdapBackend(ModelBackend):
    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> Person | None:
        if not username or not password:
            return None
        if Person.objects.filter(username=username, source=Person.Source.LOCAL).exists():
            return super().authenticate(request, username=username, password=password, **kwargs)
        if not settings.LDAP_URL:
            return None
        try:
            config = LdapConfig.from_settings()
            with DirectoryClient(config) as client:
                entries = [e for e in client.find_user(username, [config.login_attr, *PERSON_ATTRS]) if e.uuid]
                # Exactly one entry, or nobody: never guess between two people with the same login name.
                if len(entries) != 1 or not client.check_password(entries[0].dn, password):
                    return None
        except (DirectoryUnavailable, DirectoryBindError, DirectoryConfigError) as exc:
            logger.warning("LDAP login for %r not possible: %s", username, exc)
            if request is not None:
                setattr(request, REQUEST_ATTR, LDAP_UNAVAILABLE_MESSAGE)
            return None
        person = upsert_person_from_entry(entries[0], config)
        if person is None or not self.user_can_authenticate(person):
            return None
        return person
