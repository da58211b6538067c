"""Writes to 收文 records (documents.IncomingDocument). The flow (workflows.actions.receipt) decides when;
these functions do the change, the audit entry and nothing else.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction

from documents.models import IncomingAccess, IncomingDocument
from oa.actions.audit import do_record_audit
from oa.models import Agency, Person


@dataclass
class IncomingFields:
    """What arrives with a 收文 (from a package's GB/T 33480 metadata, a local document, or a paper form)."""

    title: str
    sender_name: str
    doc_number: str = ""
    doc_type: str = ""
    sender_uscc: str = ""
    secrecy: str = ""
    urgency: str = ""
    signed_date: dt.date | None = None
    main_recipients: str = ""
    copies: int = 1
    attachment_note: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)


def do_create_incoming(*, agency: Agency, source: str, fields: IncomingFields, package_id: uuid.UUID | None,
                       pdf_name: str = "", pdf_sha256: str = "", attachments: list[dict] | None = None,
                       document=None, actor: Person | None = None) -> tuple[IncomingDocument, bool]:
    """The 收文 for (agency, package_id), created once: a second delivery of the same package returns the first
    row and False. ``pdf_name`` is a name already in default storage (files are written before, by the caller)."""
    if package_id is not None:
        existing = IncomingDocument.objects.filter(agency=agency, package_id=package_id).first()
        if existing is not None:
            return existing, False
    row = IncomingDocument(
        agency=agency, source=source, package_id=package_id, document=document,
        title=fields.title[:300], doc_number=fields.doc_number[:64], doc_type=fields.doc_type[:20],
        sender_name=fields.sender_name[:200], sender_uscc=fields.sender_uscc[:18], secrecy=fields.secrecy,
        urgency=fields.urgency, signed_date=fields.signed_date, main_recipients=fields.main_recipients[:500],
        copies=max(int(fields.copies or 1), 1), attachment_note=fields.attachment_note[:500],
        metadata=fields.metadata, pdf_sha256=pdf_sha256, attachments=list(attachments or []), created_by=actor,
    )
    row.pdf.name = pdf_name
    try:
        with transaction.atomic():  # savepoint: a concurrent duplicate must not break the caller's transaction
            row.save()
    except IntegrityError:
        if package_id is None:
            raise
        return IncomingDocument.objects.get(agency=agency, package_id=package_id), False
    do_record_audit(actor=actor, action="incoming.create", obj=row, changes={
        "source": source, "package_id": str(package_id or ""), "title": row.title, "sender": row.sender_name,
        "doc_number": row.doc_number})
    return row, True


def do_grant_incoming_access(incoming: IncomingDocument, person: Person, *, reason: str = "") -> None:
    IncomingAccess.objects.get_or_create(incoming=incoming, person=person, defaults={"reason": reason[:40]})
