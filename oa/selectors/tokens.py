"""Bearer-token lookup for mobile/webview clients (REST API and /ws/events/)."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import NamedTuple

from django.utils import timezone

from oa.models import ApiToken, Person
from oa.rawsql import aware, db_datetime, fast_cursor


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


class BearerIdentity(NamedTuple):
    """What the lean 待办 list (oa.api.lean) needs of a bearer token and its person: no model instances."""

    token_id: int
    last_used_at: dt.datetime | None
    person_id: int
    username: str
    name: str
    must_change_password: bool


# The same conditions as active_token, in one fixed statement: compiling the ORM query cost more CPU than the
# database spends on it (docs/performance.md "待办 API"). tests/test_api_lean.py checks the table names.
_BEARER_SQL = (
    'SELECT t."id", t."last_used_at", p."id", p."username", p."name", p."must_change_password" '
    'FROM "oa_apitoken" t INNER JOIN "oa_person" p ON p."id" = t."person_id" '
    'WHERE t."key_hash" = %s AND t."revoked_at" IS NULL AND t."expires_at" > %s AND p."is_active"'
)


def bearer_identity(raw: str | None) -> BearerIdentity | None:
    """active_token without model instances: the token and its person when the token is known, not expired
    or revoked and the person is active. Reads only: the caller records the use with
    oa.actions.tokens.do_touch_token and refuses a person who must change the password first."""
    if not raw or len(raw) > 200:
        return None
    with fast_cursor() as cursor:
        cursor.execute(_BEARER_SQL, [token_digest(raw), db_datetime(timezone.now())])
        row = cursor.fetchone()
    if row is None:
        return None
    token_id, last_used_at, person_id, username, name, must_change = row
    return BearerIdentity(token_id, aware(last_used_at), person_id, username, name, bool(must_change))


def tokens_of(person: Person):
    return ApiToken.objects.filter(person=person, revoked_at__isnull=True).order_by("-id")


def token_for_raw(raw: str | None, person: Person) -> ApiToken | None:
    """The caller's own token row for a raw bearer token (to revoke the token in use)."""
    if not raw:
        return None
    return ApiToken.objects.filter(key_hash=token_digest(raw), person=person).first()
