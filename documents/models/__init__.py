from documents.models.archive import ArchivePackage
from documents.models.body import BodyVersion, ImmutableError
from documents.models.document import (
    UPWARD_DOC_TYPES,
    Attachment,
    CoIssuer,
    Direction,
    DocType,
    DocumentAccess,
    Layout,
    OfficialDocument,
    Publicity,
    Secrecy,
    Urgency,
)
from documents.models.incoming import IncomingAccess, IncomingDocument, ReceiptNumberSequence
from documents.models.numbering import DocNumberEntry, DocNumberSequence, DocNumberSeries
from documents.models.seals import Seal, SealAuthority, SealAuthorization, SealUse

__all__ = [
    "UPWARD_DOC_TYPES",
    "ArchivePackage",
    "Attachment",
    "BodyVersion",
    "CoIssuer",
    "Direction",
    "DocNumberEntry",
    "DocNumberSequence",
    "DocNumberSeries",
    "DocType",
    "DocumentAccess",
    "ImmutableError",
    "IncomingAccess",
    "IncomingDocument",
    "Layout",
    "OfficialDocument",
    "Publicity",
    "ReceiptNumberSequence",
    "Seal",
    "SealAuthority",
    "SealAuthorization",
    "SealUse",
    "Secrecy",
    "Urgency",
]
