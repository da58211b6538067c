"""The one public entry point for what another deployment sends us (called by integrations.exchange only).

A package becomes the receiving agency's 收文 (待签收, its ReceiptFlow started); a receipt updates our
分发 row; a 取回 request withdraws a 收文 not yet signed. Same functions as the in-process road, so both roads
behave alike (workflows.actions.distribution).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from documents.actions.incoming import IncomingFields
from documents.models import IncomingDocument, OfficialDocument
from oa.models import Agency
from workflows.actions.distribution import do_accept_incoming, do_apply_receipt
from workflows.models import DistributionRecipient
from workflows.selectors.distribution import final_pdf_field


def receive_package(*, agency: Agency, fields: IncomingFields, package_id: uuid.UUID, pdf_name: str,
                    pdf_sha256: str, attachments: list[dict]) -> tuple[IncomingDocument, bool]:
    return do_accept_incoming(agency=agency, source=IncomingDocument.Source.EXCHANGE, fields=fields,
                              package_id=package_id, pdf_name=pdf_name, pdf_sha256=pdf_sha256,
                              attachments=attachments)


def receive_receipt(recipient: DistributionRecipient, action: str, *, actor_name: str, reason: str = "",
                    copies: int | None = None, at: datetime | None = None) -> bool:
    return do_apply_receipt(recipient, action, actor_name=actor_name, reason=reason, copies=copies, at=at)


def receive_withdrawal(incoming: IncomingDocument, *, reason: str = "") -> bool:
    from workflows.actions.receipt import do_withdraw_incoming  # looked up per call (tests stand it in)

    return do_withdraw_incoming(incoming, reason=reason)


def package_pdf(document: OfficialDocument):
    """The file a remote receiver gets (the last stamped PDF, else the typeset one)."""
    return final_pdf_field(document)
