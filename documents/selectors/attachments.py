"""Reads of 附件 and of what can be previewed. Objects are reached only through a visible document."""

from __future__ import annotations

from dataclasses import dataclass

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


# After 用印 the sealed PDF is the 正式文件; before, the typeset PDF is only a draft and says so wherever it is shown.
SEALED, PARTLY_SEALED, UNSEALED, NO_SEAL = "sealed", "partly_sealed", "unsealed", "no_seal"
_AFTER_SEALING = frozenset({OfficialDocument.Status.SEALED, OfficialDocument.Status.DISTRIBUTED,
                            OfficialDocument.Status.RECEIVED, OfficialDocument.Status.ARCHIVED})
_OFFICIAL_LABELS = {
    SEALED: "正式文件（已盖章）",
    PARTLY_SEALED: "正式文件（尚未全部盖章）",
    UNSEALED: "排版稿（未盖章）",
    NO_SEAL: "正式文件（不加盖印章）",
}
# Appended to the downloaded file's name so a saved draft cannot pass for the 正式文件.
_NAME_SUFFIX = {SEALED: "", NO_SEAL: "", PARTLY_SEALED: "（尚未全部盖章）", UNSEALED: "（未盖章稿）"}


@dataclass(frozen=True)
class OfficialPdf:
    """The PDF that stands for the document, and whether it is the final (sealed) one."""

    file: FieldFile
    state: str  # SEALED, PARTLY_SEALED, UNSEALED or NO_SEAL

    @property
    def is_final(self) -> bool:
        return self.state in (SEALED, NO_SEAL)

    @property
    def label(self) -> str:
        return _OFFICIAL_LABELS[self.state]

    @property
    def name_suffix(self) -> str:
        return _NAME_SUFFIX[self.state]


def official_pdf(document: OfficialDocument) -> OfficialPdf | None:
    """The latest sealed PDF once 用印 has happened (co-issuers stamp in turn), else the typeset PDF labelled as an
    unsealed draft; None before typesetting."""
    last = document.seal_uses.order_by("-signed_at", "-id").first()
    if last is not None and last.signed_pdf:
        state = SEALED if document.status in _AFTER_SEALING else PARTLY_SEALED
        return OfficialPdf(file=last.signed_pdf, state=state)
    if not document.final_pdf:
        return None
    return OfficialPdf(file=document.final_pdf, state=UNSEALED if document.seal_required else NO_SEAL)


def document_preview_file(document: OfficialDocument) -> FieldFile | None:
    """The PDF that represents the document itself (``official_pdf``), when there is one."""
    official = official_pdf(document)
    return official.file if official else None


def pdf_attachments_of(document: OfficialDocument) -> QuerySet[Attachment]:
    return attachments_of(document).filter(content_type=PDF_MIME)
