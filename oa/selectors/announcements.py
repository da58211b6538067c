"""Reads of 通知公告: what one person sees, who may publish, one announcement through access_*.

A person sees the live announcements (published, not withdrawn, not expired) of every agency they serve in
(主职或兼职) and the district-wide ones (区府办's). Publishers — 办公室/文书 (Role.CLERK) of an agency — also see
their own agency's withdrawn and expired ones, to check what was said.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from oa.models import Agency, Announcement, Appointment, Person, Role, RoleAssignment


def publishing_agencies(person: Person) -> QuerySet[Agency]:
    """The agencies ``person`` may publish for: where they hold 办公室/文书 (agency-wide or in a department)."""
    ids = RoleAssignment.objects.filter(person=person, role=Role.CLERK).values("agency_id")
    return Agency.objects.filter(pk__in=ids, is_active=True).order_by("sort_order", "id")


def may_publish(person: Person) -> bool:
    return person.is_authenticated and publishing_agencies(person).exists()


def _live(now=None) -> Q:
    now = now or timezone.now()
    return Q(withdrawn_at__isnull=True, published_at__lte=now) & (Q(expires_at__isnull=True) | Q(expires_at__gt=now))


def announcements_visible_to(person: Person) -> QuerySet[Announcement]:
    """Live announcements for ``person``, pinned first then newest; one query (the agencies are a subquery)."""
    mine = Appointment.objects.filter(person=person).values("department__agency_id")
    return (
        Announcement.objects.filter(_live())
        .filter(Q(district_wide=True) | Q(agency_id__in=mine))
        .select_related("agency", "published_by")
        .order_by("-pinned", "-published_at", "-id")
    )


def latest_announcements(person: Person, limit: int = 5) -> list[Announcement]:
    return list(announcements_visible_to(person)[:limit])


def managed_announcements(person: Person) -> QuerySet[Announcement]:
    """Everything the publisher's agencies published, withdrawn and expired included (newest first)."""
    return (
        Announcement.objects.filter(agency__in=publishing_agencies(person))
        .select_related("agency", "published_by", "withdrawn_by")
        .order_by("-published_at", "-id")
    )


def can_withdraw(person: Person, announcement: Announcement) -> bool:
    return announcement.withdrawn_at is None and publishing_agencies(person).filter(pk=announcement.agency_id).exists()


def announcement_status(announcement: Announcement) -> str:
    if announcement.withdrawn_at is not None:
        return "已撤回"
    if announcement.expires_at is not None and announcement.expires_at <= timezone.now():
        return "已过期"
    return ""


def access_announcement_by_id(user: Person, announcement_id: int) -> Announcement:
    """The announcement, or Http404 whether it is missing, withdrawn or not addressed to ``user``."""
    found = (
        announcements_visible_to(user).filter(pk=announcement_id).first()
        or managed_announcements(user).filter(pk=announcement_id).first()
    )
    if found is None:
        raise Http404("没有这条通知公告")
    return found
