"""Issue and revoke bearer tokens. The raw token is shown once; only its SHA-256 is stored."""

from __future__ import annotations

import datetime as dt
import secrets

from django.db import transaction
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
