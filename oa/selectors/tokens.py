"""Bearer-token lookup for mobile/webview clients (REST API and /ws/events/)."""

from __future__ import annotations

import hashlib

from django.utils import timezone

from oa.models import ApiToken, Person


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def active_token(raw: str | None) -> ApiToken | None:
    """The token row behind a raw bearer token when it is usable: known, not expired or revoked, its person
    active. Reads only: the caller records the use with oa.actions.tokens.do_use_token."""
    if not raw or len(raw) > 200:
        return None
    token = (
        ApiToken.objects.select_related("person")
        .filter(key_hash=token_digest(raw), revoked_at__isnull=True, expires_at__gt=timezone.now())
        .first()
    )
    if token is None or not token.person.is_active:
        return None
    return token


def tokens_of(person: Person):
    return ApiToken.objects.filter(person=person, revoked_at__isnull=True).order_by("-id")


def token_for_raw(raw: str | None, person: Person) -> ApiToken | None:
    """The caller's own token row for a raw bearer token (to revoke the token in use)."""
    if not raw:
        return None
    return ApiToken.objects.filter(key_hash=token_digest(raw), person=person).first()
