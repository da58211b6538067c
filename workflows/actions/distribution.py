"""分发 and its receipts: where 发文 meets 收文.

Inside the deployment, 分发 creates the receiving agency's 收文 in the same transaction (``do_deliver_internal``)
and the receiver's 签收/退回 update the sender's ``DistributionRecipient`` directly. For an agency hosted by another
deployment (``Agency.exchange_node``) the package and the receipts travel through the transport registered for
remote nodes (workflows.transports; integrations.exchange's outbox);
both roads end in the same two functions here: ``do_accept_incoming`` (receiver) and ``do_apply_receipt`` (sender).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from typing import TypedDict

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone

from documents.actions.incoming import (
    IncomingFields,
    build_incoming,
    do_create_incoming,
    fields_from_metadata,
)
from documents.models import IncomingDocument, OfficialDocument
from documents.secrecy import refuse_classified
from documents.selectors.archive import core_metadata, sha256_hex
from oa.actions.audit import do_record_audit
from oa.events import Event, register_event_type, send_event_on_commit
from oa.models import Agency, Person
from oa.refusals import Refusal
from workflows.models import DistributionRecipient
from workflows.selectors.distribution import final_pdf_field, may_manage_distribution
from workflows.transports import REMOTE, is_remote, transport_for, transport_named

Status = DistributionRecipient.Status

# Receipt actions (DOMAIN.md §2.4) and the status each leaves on the sender's side.
SIGNED, RETURNED, WITHDRAWN, WITHDRAW_REFUSED = "signed", "returned", "withdrawn", "withdraw_refused"
RECEIPT_ACTIONS = (SIGNED, RETURNED, WITHDRAWN, WITHDRAW_REFUSED)
_NEXT = {SIGNED: Status.SIGNED, RETURNED: Status.RETURNED, WITHDRAWN: Status.WITHDRAWN}
# From which status a receipt may move a recipient. 退回 can follow 签收 (初审 comes after it).
_ALLOWED_FROM = {
    SIGNED: {Status.PENDING},
    RETURNED: {Status.PENDING, Status.SIGNED},
    WITHDRAWN: {Status.PENDING},
    WITHDRAW_REFUSED: {Status.PENDING, Status.SIGNED, Status.RETURNED},
}

# A stable package id for internal delivery: the same document to the same agency is one 收文, however often
# 分发 is retried.
_INTERNAL_NS = uuid.UUID("5b0f1c1e-3c55-4b8e-9d55-6f8f0a3e7a10")


class DistributionReceipt(TypedDict):
    """A receiving agency signed, returned or acknowledged the 取回 of a 公文 we sent."""

    document_id: int
    agency: str
    status: str  # DistributionRecipient.Status value
    by: str
    reason: str


register_event_type("distribution.receipt", DistributionReceipt)


def internal_package_id(document: OfficialDocument, agency: Agency) -> uuid.UUID:
    return uuid.uuid5(_INTERNAL_NS, f"{document.identifier}:{agency.uscc}")


def recipient_package_id(recipient: DistributionRecipient) -> uuid.UUID:
    """The internal package of one row: stable for the first delivery (retries are one 收文); a 补发/改送 row is a
    new delivery, so its package (and the receiver's 收文) is new even when the agency is the same."""
    if recipient.replaces_id is None:
        return internal_package_id(recipient.document, recipient.agency)
    return uuid.uuid5(_INTERNAL_NS, f"{recipient.document.identifier}:{recipient.agency.uscc}:{recipient.pk}")


# ---- receiving side ---------------------------------------------------------------------------------------


def do_accept_incoming(*, agency: Agency, source: str, fields: IncomingFields, package_id: uuid.UUID | None,
                       pdf_name: str = "", pdf_sha256: str = "", attachments: list[dict] | None = None,
                       document: OfficialDocument | None = None,
                       actor: Person | None = None) -> tuple[IncomingDocument, bool]:
    """A 收文 arrives for ``agency``: create it (once per package) and start its ReceiptFlow at 签收."""
    from workflows.actions.receipt import do_start_receipt

    incoming, created = do_create_incoming(agency=agency, source=source, fields=fields, package_id=package_id,
                                           pdf_name=pdf_name, pdf_sha256=pdf_sha256, attachments=attachments,
                                           document=document, actor=actor)
    if created:
        do_start_receipt(incoming)
    return incoming, created


@dataclass(frozen=True)
class DeliveryContent:
    """What every internal recipient of one document receives: read and hashed once per 分发, not per recipient.
    Only the sealed PDF: the 附件 are pages inside it (套红 merges them), so none travels outside the seal's
    signature (docs/gbt9704.md, 附件说明与附件页)."""

    pdf_name: str
    pdf_sha256: str
    fields: IncomingFields


def delivery_content(document: OfficialDocument) -> DeliveryContent:
    pdf = final_pdf_field(document)
    if not pdf:
        raise Refusal("final_pdf_missing", "公文尚未生成正式 PDF，不能分发。", status=409)
    with pdf.open("rb") as fh:
        digest = sha256_hex(fh.read())
    fields = fields_from_metadata(core_metadata(document), sender_name=document.agency.name,
                                  sender_uscc=document.agency.uscc)
    return DeliveryContent(pdf.name, digest, fields)


def do_deliver_internal(recipient: DistributionRecipient, *, actor: Person,
                        content: DeliveryContent | None = None) -> IncomingDocument:
    """分发 to an agency of this deployment: its 收文 (待签收) exists when 分发's transaction commits. The files
    are shared by storage name (stored files are never rewritten). ``content`` is computed once for all recipients."""
    document = recipient.document
    refuse_classified(document, "分发")  # 非涉密 only (docs/security.md §12)
    content = content or delivery_content(document)
    incoming, _ = do_accept_incoming(
        agency=recipient.agency, source=IncomingDocument.Source.INTERNAL,
        fields=replace(content.fields, kind=recipient.kind),
        package_id=recipient_package_id(recipient), pdf_name=content.pdf_name,
        pdf_sha256=content.pdf_sha256, document=document, actor=actor)
    recipient.incoming = incoming
    recipient.package_id = incoming.package_id
    recipient.save(update_fields=["incoming", "package_id"])
    return incoming


def do_deliver_internal_many(rows: list[DistributionRecipient], *, actor: Person,
                             content: DeliveryContent | None = None) -> list[IncomingDocument]:
    """do_deliver_internal for every row of one 分发 (same document), without per-agency work in the sender's
    transaction: the 收文 rows in one INSERT as 送达中, the receiving offices and their 文书 checked in four queries
    (an agency that could not receive refuses the whole 分发, as before), the rows' links in one UPDATE and one
    outbox message per batch. After commit that job (workflows.actions.receipt_start) gives each agency exactly
    what do_deliver_internal gives it: its ReceiptFlow started at 签收 (through viewflow, so its tasks, timer,
    待办 and event are the ordinary ones), the same two audit entries, and the 收文 becomes 待签收."""
    from workflows.actions.receipt import _require_clerk
    from workflows.actions.receipt_start import do_schedule_receipt_starts
    from workflows.selectors.receipt import receiving_offices

    if not rows:
        return []
    document = rows[0].document
    refuse_classified(document, "分发")
    content = content or delivery_content(document)
    packages = {row.pk: recipient_package_id(row) for row in rows}
    existing = {(i.agency_id, i.package_id): i
                for i in IncomingDocument.objects.filter(package_id__in=list(packages.values()))}
    fresh = {row.pk: build_incoming(
        agency=row.agency, source=IncomingDocument.Source.INTERNAL, fields=replace(content.fields, kind=row.kind),
        package_id=packages[row.pk], pdf_name=content.pdf_name, pdf_sha256=content.pdf_sha256, document=document,
        actor=actor) for row in rows if (row.agency_id, packages[row.pk]) not in existing}
    offices = receiving_offices([row.agency for row in rows if row.pk in fresh])
    for office in offices.values():
        _require_clerk(office.office, office.clerk)  # the 收文 could land nowhere: refuse now, not in the job
    for incoming in fresh.values():
        incoming.status = IncomingDocument.Status.DELIVERING
    try:
        with transaction.atomic():  # savepoint: a concurrent 分发 of the same packages
            IncomingDocument.objects.bulk_create(list(fresh.values()))
    except IntegrityError:
        # Someone delivered some of these packages meanwhile: one by one sorts out which 收文 is whose.
        return [do_deliver_internal(row, actor=actor, content=content) for row in rows]
    for row in rows:
        incoming = fresh.get(row.pk) or existing[(row.agency_id, packages[row.pk])]
        row.incoming, row.package_id = incoming, incoming.package_id
    DistributionRecipient.objects.bulk_update(rows, ["incoming", "package_id"])
    do_schedule_receipt_starts([fresh[row.pk] for row in rows if row.pk in fresh])
    return [row.incoming for row in rows]


def do_send_remote(document: OfficialDocument, recipients: list[DistributionRecipient], *, actor: Person) -> None:
    """分发 to agencies of other deployments through the remote transport (in the caller's transaction); each row
    keeps the id of the package that carries it, which the receiver's receipts name."""
    if not recipients:
        return
    refuse_classified(document, "通过公文交换发送")
    sent = transport_named(REMOTE).send_package(document, recipients, actor=actor) or {}
    for row in recipients:
        if sent.get(row.pk):
            row.package_id = sent[row.pk]
            row.save(update_fields=["package_id"])


def do_report_receipt(incoming: IncomingDocument, action: str, *, actor_name: str, reason: str = "",
                      copies: int | None = None) -> None:
    """The receiver signed (签收) or returned (退回) ``incoming``: tell the sender, in this transaction (same
    deployment) or through the exchange outbox (another deployment). Paper 来文 has nobody to tell."""
    if incoming.source == IncomingDocument.Source.INTERNAL:
        recipient = DistributionRecipient.objects.filter(incoming=incoming).first()
        if recipient is not None:
            do_apply_receipt(recipient, action, actor_name=actor_name, reason=reason, copies=copies)
    elif incoming.source == IncomingDocument.Source.EXCHANGE:
        transport_named(REMOTE).send_receipt(incoming, action, actor_name=actor_name, reason=reason, copies=copies)


# ---- sending side -----------------------------------------------------------------------------------------


def do_apply_receipt(recipient: DistributionRecipient, action: str, *, actor_name: str, reason: str = "",
                     copies: int | None = None, at=None) -> bool:
    """Record a receipt on the sender's side. Returns False (and changes nothing) for a receipt that no longer
    fits (e.g. a late 签收 after the recipient was 取回): receipts may arrive late or twice."""
    if action not in RECEIPT_ACTIONS:
        raise Refusal("receipt_action_invalid", f"未知的回执类型：{action}", status=400)
    with transaction.atomic():
        row = DistributionRecipient.objects.select_for_update().select_related("agency", "document").get(
            pk=recipient.pk)
        if row.status not in _ALLOWED_FROM[action]:
            return False
        before = row.status
        if action == WITHDRAW_REFUSED:
            row.withdraw_requested_at = None
            row.save(update_fields=["withdraw_requested_at"])
        else:
            row.status = _NEXT[action]
            row.status_at = at or timezone.now()
            row.status_by = actor_name[:50]
            if action == RETURNED:
                row.reason = reason[:500]
            if action == SIGNED and copies:
                row.copies = copies
            if action == WITHDRAWN:
                row.withdraw_requested_at = None
            row.save(update_fields=["status", "status_at", "status_by", "reason", "copies", "withdraw_requested_at"])
        do_record_audit(actor=None, actor_name=actor_name or row.agency.name, action="distribution.receipt",
                        obj=row.document, changes={"agency": row.agency.name, "receipt": action, "from": before,
                                                   "to": row.status, "reason": reason, "copies": copies})
        label = {SIGNED: "已签收", RETURNED: "已退回", WITHDRAWN: "已取回", WITHDRAW_REFUSED: "取回未成功（对方已签收）"}
        send_event_on_commit(
            Event("distribution.receipt", f"{row.agency.name}{label[action]}：{row.document.title}",
                  f"{actor_name}" + (f"：{reason}" if reason else ""),
                  f"/flows/distribution/{row.document_id}/",
                  {"document_id": row.document_id, "agency": row.agency.name, "status": row.status,
                   "by": actor_name, "reason": reason}),
            [row.sent_by_id])
    return True


def check_withdraw_distribution(actor: Person, recipient: DistributionRecipient, *, reason: str = "",
                                ip: str | None = None) -> DistributionRecipient:
    """取回: only before the receiver has signed. Inside the deployment the receiver's 收文 is withdrawn at once;
    for another deployment a 取回 request goes out and the answer comes back as a receipt."""
    from workflows.actions.receipt import do_withdraw_incoming

    with transaction.atomic():
        row = DistributionRecipient.objects.select_for_update().select_related("agency", "document").get(
            pk=recipient.pk)
        if not may_manage_distribution(actor, row.document):
            raise PermissionDenied("只有发文机关的文书可以取回公文")
        if row.status != Status.PENDING:
            raise Refusal("withdraw_not_pending",
                            f"{row.agency.name}的状态为“{row.get_status_display()}”，只有待签收的公文可以取回。", status=409)
        transport = transport_for(row.agency)
        if transport is not None:
            if row.withdraw_requested_at is not None:
                raise Refusal("withdraw_requested", "已向对方申请取回，正在等待对方系统回执。", status=409)
            row.withdraw_requested_at = timezone.now()
            row.save(update_fields=["withdraw_requested_at"])
            transport.send_withdraw(row, reason=reason)
        else:
            incoming = row.incoming
            if incoming is None or not do_withdraw_incoming(incoming, reason=reason):
                raise Refusal("withdraw_signed", f"{row.agency.name}已签收，不能取回。", status=409)
            do_apply_receipt(row, WITHDRAWN, actor_name=actor.name, reason=reason)
            row.refresh_from_db()
        do_record_audit(actor=actor, action="distribution.withdraw", obj=row.document, ip=ip,
                        changes={"agency": row.agency.name, "reason": reason,
                                 "remote": bool(row.agency.exchange_node)})
    return row


# ---- 补发 / 改送 after a 退回 -------------------------------------------------------------------------------


def _locked_refused_row(actor: Person, recipient: DistributionRecipient) -> DistributionRecipient:
    row = DistributionRecipient.objects.select_for_update().select_related("agency", "document").get(pk=recipient.pk)
    if not may_manage_distribution(actor, row.document):
        raise Refusal("distribution_not_allowed", "只有发文机关的文书可以补发或改送公文。", status=403)
    if row.status != Status.RETURNED:
        raise Refusal("redistribute_not_returned",
                      f"{row.agency.name}的状态为“{row.get_status_display()}”，只有被退回的公文可以补发或改送。",
                      status=409)
    return row


def _redeliver(actor: Person, old: DistributionRecipient, agency: Agency, new_status: str) -> DistributionRecipient:
    """Mark the refused row superseded (it keeps its 退回 reason) and deliver a new row to ``agency`` the way the
    first 分发 did: in-process for an agency of this deployment, through the remote transport otherwise."""
    old.status = new_status
    old.save(update_fields=["status"])
    try:
        with transaction.atomic():  # savepoint: a concurrent 改送 to the same agency hits the unique live row
            row = DistributionRecipient.objects.create(document=old.document, process_id=old.process_id,
                                                       agency=agency, kind=old.kind, sent_by=actor, replaces=old)
    except IntegrityError:
        raise Refusal("recipient_exists", f"{agency.name}已是这份公文的收文机关，不能重复分发。", status=409) from None
    if is_remote(agency):
        do_send_remote(row.document, [row], actor=actor)
    else:
        do_deliver_internal(row, actor=actor)
    return row


def check_reissue_distribution(actor: Person, recipient: DistributionRecipient, *,
                               ip: str | None = None) -> DistributionRecipient:
    """补发: send a refused 公文 again to the same agency, as a new 收文 (the refused one stays with its reason)."""
    with transaction.atomic():
        old = _locked_refused_row(actor, recipient)
        if not old.agency.is_active:
            raise Refusal("recipient_invalid", f"{old.agency.name}已停用，不能补发，请改送其他机关。", status=409)
        row = _redeliver(actor, old, old.agency, Status.REISSUED)
        do_record_audit(actor=actor, action="distribution.reissue", obj=row.document, ip=ip,
                        changes={"agency": row.agency.name, "returned_reason": old.reason,
                                 "returned_by": old.status_by, "remote": is_remote(row.agency)})
    return row


def check_redirect_distribution(actor: Person, recipient: DistributionRecipient, agency: Agency, *,
                                ip: str | None = None) -> DistributionRecipient:
    """改送: send a refused 公文 instead to another agency of the directory; the refused row is marked 已改送."""
    with transaction.atomic():
        old = _locked_refused_row(actor, recipient)
        agency = Agency.objects.filter(pk=agency.pk, is_active=True).first()
        if agency is None:
            raise Refusal("recipient_invalid", "改送的收文机关不存在或已停用。", status=400)
        if agency.pk == old.document.agency_id:
            raise Refusal("recipient_is_sender", "不能改送给发文机关自己。", status=400)
        if agency.pk == old.agency_id:
            raise Refusal("redirect_same_agency", f"改送须选择{old.agency.name}以外的机关；再次发给该机关请用“补发”。",
                          status=400)
        live = (DistributionRecipient.objects.select_for_update().filter(document=old.document, agency=agency)
                .exclude(status__in=DistributionRecipient.SUPERSEDED).first())
        if live is not None:
            raise Refusal("recipient_exists", f"{agency.name}已是这份公文的收文机关（{live.get_status_display()}），"
                                              "不能重复分发。", status=409)
        row = _redeliver(actor, old, agency, Status.REDIRECTED)
        do_record_audit(actor=actor, action="distribution.redirect", obj=row.document, ip=ip,
                        changes={"from": old.agency.name, "to": agency.name, "returned_reason": old.reason,
                                 "returned_by": old.status_by, "remote": is_remote(agency)})
    return row
