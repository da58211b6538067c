"""Who may see a 收文. Every fetch on behalf of a user goes through ``access_incoming_by_id``."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.http import Http404

from documents.models import IncomingAccess, IncomingDocument
from oa.models import Person, Role, RoleAssignment

# The receiving office (文书 who sign and register, 核稿 who propose 拟办) and the agency's leaders see every
# 收文 of their agency; everyone else only what the flow granted them (承办, 传阅).
INCOMING_WIDE_ROLES = (Role.CLERK, Role.REVIEWER, Role.PRINCIPAL, Role.DEPUTY_LEADER)


def incoming_visible_to(person: Person) -> QuerySet[IncomingDocument]:
    if not person.is_authenticated or not person.is_active:
        return IncomingDocument.objects.none()
    wide = RoleAssignment.objects.filter(person=person, role__in=INCOMING_WIDE_ROLES).values("agency_id")
    granted = IncomingAccess.objects.filter(person=person).values("incoming_id")
    # A 收文 still 送达中 (分发's job has not started its flow) is nobody's yet: not listed, not openable.
    return (IncomingDocument.objects.filter(Q(agency_id__in=wide) | Q(pk__in=granted))
            .exclude(status=IncomingDocument.Status.DELIVERING))


def access_incoming_by_id(user: Person, incoming_id: int) -> IncomingDocument:
    """The 收文, or Http404 whether it is missing or merely invisible (no existence leaks)."""
    try:
        return incoming_visible_to(user).select_related("agency").get(pk=incoming_id)
    except IncomingDocument.DoesNotExist:
        raise Http404("收文不存在或无权查看") from None


def is_incoming_office(person: Person, incoming: IncomingDocument) -> bool:
    """The receiving agency's 文书 (签收, 登记, 传阅 lists)."""
    return RoleAssignment.objects.filter(person=person, role=Role.CLERK, agency_id=incoming.agency_id).exists()
