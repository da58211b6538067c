"""Who may see and change a 公文. Every fetch on behalf of a user goes through ``access_document_by_id``."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.http import Http404

from documents.models import DocumentAccess, OfficialDocument
from oa.models import Appointment, Person, Role, RoleAssignment

# Roles that see every document of their agency: the office that checks and registers, the leaders who
# sign, and the seal keeper who stamps (条例 第二十一条: 办公厅(室)审核).
AGENCY_WIDE_ROLES = (Role.CLERK, Role.REVIEWER, Role.PRINCIPAL, Role.DEPUTY_LEADER, Role.SEAL_KEEPER)


def documents_visible_to(person: Person) -> QuerySet[OfficialDocument]:
    if not person.is_authenticated or not person.is_active:
        return OfficialDocument.objects.none()
    wide_agencies = RoleAssignment.objects.filter(person=person, role__in=AGENCY_WIDE_ROLES).values("agency_id")
    my_departments = Appointment.objects.filter(person=person).values("department_id")
    granted = DocumentAccess.objects.filter(person=person).values("document_id")
    return OfficialDocument.objects.filter(
        Q(created_by=person)
        | Q(agency_id__in=wide_agencies)
        | Q(department_id__in=my_departments)
        | Q(pk__in=granted)
    ).distinct()


def access_document_by_id(user: Person, document_id: int) -> OfficialDocument:
    """The document, or Http404 whether it is missing or merely invisible (no existence leaks)."""
    try:
        return documents_visible_to(user).select_related("agency", "current_body").get(pk=document_id)
    except OfficialDocument.DoesNotExist:
        raise Http404("公文不存在或无权查看") from None


def access_document_by_identifier(user: Person, identifier: str) -> OfficialDocument:
    try:
        return documents_visible_to(user).select_related("agency", "current_body").get(identifier=identifier)
    except (OfficialDocument.DoesNotExist, ValueError):
        raise Http404("公文不存在或无权查看") from None


FROZEN_STATUSES = frozenset(
    {OfficialDocument.Status.SEALED, OfficialDocument.Status.DISTRIBUTED, OfficialDocument.Status.ARCHIVED,
     OfficialDocument.Status.WITHDRAWN}
)


def can_edit_document(user: Person, document: OfficialDocument) -> bool:
    """May change the 正文 and 要素 now: the drafter while drafting, or someone a flow step granted edit to."""
    if document.status in FROZEN_STATUSES or not user.is_authenticated:
        return False
    if document.status == OfficialDocument.Status.DRAFT and document.created_by_id == user.pk:
        return True
    return DocumentAccess.objects.filter(document=document, person=user, can_edit=True).exists()
