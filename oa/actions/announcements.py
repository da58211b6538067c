"""Writes of 通知公告: publish and withdraw, each audited in the same transaction (docs/workbench.md)."""

from __future__ import annotations

import datetime as dt
import re

from django.db import transaction
from django.utils import timezone

from oa.actions.audit import do_record_audit
from oa.events import broadcast_announcement_on_commit
from oa.models import Agency, Announcement, Person
from oa.refusals import Refusal
from oa.selectors.announcements import publishing_agencies

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def clean_text(text: str) -> str:
    """Plain text: \\r\\n to \\n, other control characters dropped, blanks trimmed at both ends."""
    return _CONTROL.sub("", (text or "").replace("\r\n", "\n").replace("\r", "\n")).strip()


@transaction.atomic
def do_publish_announcement(
    actor: Person,
    *,
    agency: Agency,
    title: str,
    body: str,
    district_wide: bool = False,
    pinned: bool = False,
    expires_at: dt.datetime | None = None,
    ip: str | None = None,
) -> Announcement:
    """Publish now (the caller validated). Audited as announcement.publish."""
    announcement = Announcement.objects.create(
        title=title, body=body, agency=agency, district_wide=district_wide, pinned=pinned,
        published_by=actor, published_at=timezone.now(), expires_at=expires_at,
    )
    do_record_audit(
        actor=actor, action="announcement.publish", obj=announcement, ip=ip,
        changes={"agency": agency.short_name or agency.name, "district_wide": district_wide, "pinned": pinned,
                 "expires_at": expires_at, "title": title},
    )
    broadcast_announcement_on_commit(announcement)
    return announcement


def check_publish_announcement(
    actor: Person,
    *,
    agency: Agency,
    title: str,
    body: str,
    district_wide: bool = False,
    pinned: bool = False,
    expires_at: dt.datetime | None = None,
    ip: str | None = None,
) -> Announcement:
    """Validate, then publish. Refusal codes: announcement_forbidden (403), announcement_title,
    announcement_body, announcement_scope, announcement_expiry."""
    if not publishing_agencies(actor).filter(pk=agency.pk).exists():
        raise Refusal("announcement_forbidden", f"只有{agency}的办公室/文书可以发布该机关的通知公告", status=403)
    title, body = clean_text(title), clean_text(body)
    if not title:
        raise Refusal("announcement_title", "请填写标题")
    if len(title) > Announcement.TITLE_MAX:
        raise Refusal("announcement_title", f"标题不能超过 {Announcement.TITLE_MAX} 字")
    if not body:
        raise Refusal("announcement_body", "请填写正文")
    if len(body) > Announcement.BODY_MAX:
        raise Refusal("announcement_body", f"正文不能超过 {Announcement.BODY_MAX} 字")
    if district_wide and agency.kind != Agency.Kind.OFFICE:
        raise Refusal("announcement_scope", "只有区政府办公室可以向全区发布通知公告")
    if expires_at is not None and expires_at <= timezone.now():
        raise Refusal("announcement_expiry", "有效期须晚于现在")
    return do_publish_announcement(
        actor, agency=agency, title=title, body=body, district_wide=district_wide, pinned=pinned,
        expires_at=expires_at, ip=ip,
    )


@transaction.atomic
def do_withdraw_announcement(actor: Person, announcement: Announcement, *, ip: str | None = None) -> Announcement:
    """Take it off every workbench; the row stays (who published what, and when it was withdrawn)."""
    locked = Announcement.objects.select_for_update().get(pk=announcement.pk)
    if locked.withdrawn_at is not None:
        raise Refusal("announcement_withdrawn", "这条通知公告已经撤回", status=409)
    locked.withdrawn_at = timezone.now()
    locked.withdrawn_by = actor
    locked.save(update_fields=["withdrawn_at", "withdrawn_by"])
    do_record_audit(actor=actor, action="announcement.withdraw", obj=locked, ip=ip,
                    changes={"published_at": locked.published_at})
    broadcast_announcement_on_commit(locked, "announcement.withdrawn")
    return locked


def check_withdraw_announcement(actor: Person, announcement: Announcement, *, ip: str | None = None) -> Announcement:
    if not publishing_agencies(actor).filter(pk=announcement.agency_id).exists():
        raise Refusal("announcement_forbidden", "只有发布机关的办公室/文书可以撤回这条通知公告", status=403)
    return do_withdraw_announcement(actor, announcement, ip=ip)
