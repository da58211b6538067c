"""Reads of 附件 and of what can be previewed. Objects are reached only through a visible document."""

from __future__ import annotations

from django.db.models import QuerySet
from django.db.models.fields.files import FieldFile
from django.http import Http404

from documents.models import Attachment, OfficialDocument
from documents.selectors.documents import FROZEN_STATUSES, access_document_by_id, can_edit_document
from documents.uploads import KINDS
from oa.models import Person, Role, RoleAssignment

PDF_MIME = KINDS["pdf"].mime


def attachments_of(document: OfficialDocument, role: str | None = None) -> QuerySet[Attachment]:
    qs = Attachment.objects.filter(document=document).select_related("uploaded_by")
    if role is not None:
        qs = qs.filter(role=role)
    return qs.order_by("role", "position", "id")


def access_attachment_by_id(user: Person, document_id: int, attachment_id: int) -> Attachment:
    """The attachment of a document the user may see, or Http404 (missing, invisible or another document's)."""
    document = access_document_by_id(user, document_id)
    try:
        attachment = Attachment.objects.select_related("uploaded_by").get(pk=attachment_id, document=document)
    except Attachment.DoesNotExist:
        raise Http404("附件不存在或无权查看") from None
    attachment.document = document  # the already-checked instance (with its agency) rather than a re-fetch
    return attachment


def is_agency_clerk(user: Person, document: OfficialDocument) -> bool:
    return RoleAssignment.objects.filter(person=user, role=Role.CLERK, agency_id=document.agency_id).exists()


def can_manage_attachments(user: Person, document: OfficialDocument, role: str) -> bool:
    """Who may add or remove attachments of ``role``.

    附件/参考材料/正文导入源文件 change what the document says, so they follow the 正文 rule
    (``can_edit_document``). 纸质来文扫描件 are registered by the agency's 文书 when paper arrives, whether or
    not they hold edit rights on the record, as long as the document is not frozen (sealed, sent, archived).
    """
    if not user.is_authenticated:
        return False
    if can_edit_document(user, document):
        return True
    if role == Attachment.Role.SCAN and document.status not in FROZEN_STATUSES:
        return is_agency_clerk(user, document)
    return False


def document_preview_file(document: OfficialDocument) -> FieldFile | None:
    """The PDF that represents the document itself: the final (typeset/sealed) PDF, when there is one."""
    return document.final_pdf if document.final_pdf else None


def pdf_attachments_of(document: OfficialDocument) -> QuerySet[Attachment]:
    return attachments_of(document).filter(content_type=PDF_MIME)
