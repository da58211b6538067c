"""Writes to 收文 records (documents.IncomingDocument). The flow (workflows.actions.receipt) decides when;
these functions do the change, the audit entry and nothing else.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from documents.models import IncomingAccess, IncomingDocument, ReceiptNumberSequence
from documents.models.incoming import incoming_file_key
from documents.secrecy import CLASSIFIED_LEVELS
from oa.actions.audit import do_record_audit
from oa.models import Agency, Person
from oa.refusals import Refusal


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
    kind: str = "main"  # IncomingDocument.Kind: this agency was 主送 or 抄送


def build_incoming(*, agency: Agency, source: str, fields: IncomingFields, package_id: uuid.UUID | None,
                   pdf_name: str = "", pdf_sha256: str = "", attachments: list[dict] | None = None,
                   document=None, actor: Person | None = None) -> IncomingDocument:
    """The unsaved 收文 row (do_create_incoming saves one; 分发 to many agencies bulk-inserts them)."""
    row = IncomingDocument(
        agency=agency, source=source, package_id=package_id, document=document,
        kind=fields.kind if fields.kind in IncomingDocument.Kind.values else IncomingDocument.Kind.MAIN,
        title=fields.title[:300], doc_number=fields.doc_number[:64], doc_type=fields.doc_type[:20],
        sender_name=fields.sender_name[:200], sender_uscc=fields.sender_uscc[:18], secrecy=fields.secrecy,
        urgency=fields.urgency, signed_date=fields.signed_date, main_recipients=fields.main_recipients[:500],
        copies=max(int(fields.copies or 1), 1), attachment_note=fields.attachment_note[:500],
        metadata=fields.metadata, pdf_sha256=pdf_sha256, attachments=list(attachments or []), created_by=actor,
    )
    row.pdf.name = pdf_name
    return row


def do_record_incoming_created(row: IncomingDocument, *, actor: Person | None) -> None:
    """The audit entry of a new 收文 (do_create_incoming's, and 分发's for the rows it bulk-inserts)."""
    do_record_audit(actor=actor, action="incoming.create", obj=row, changes={
        "source": row.source, "package_id": str(row.package_id or ""), "title": row.title,
        "sender": row.sender_name, "doc_number": row.doc_number, "kind": row.kind})


def do_create_incoming(*, agency: Agency, source: str, fields: IncomingFields, package_id: uuid.UUID | None,
                       pdf_name: str = "", pdf_sha256: str = "", attachments: list[dict] | None = None,
                       document=None, actor: Person | None = None) -> tuple[IncomingDocument, bool]:
    """The 收文 for (agency, package_id), created once: a second delivery of the same package returns the first
    row and False. ``pdf_name`` is a name already in default storage (files are written before, by the caller)."""
    if package_id is not None:
        existing = IncomingDocument.objects.filter(agency=agency, package_id=package_id).first()
        if existing is not None:
            return existing, False
    row = build_incoming(agency=agency, source=source, fields=fields, package_id=package_id, pdf_name=pdf_name,
                         pdf_sha256=pdf_sha256, attachments=attachments, document=document, actor=actor)
    try:
        with transaction.atomic():  # savepoint: a concurrent duplicate must not break the caller's transaction
            row.save()
    except IntegrityError:
        if package_id is None:
            raise
        return IncomingDocument.objects.get(agency=agency, package_id=package_id), False
    do_record_incoming_created(row, actor=actor)
    return row, True


def do_grant_incoming_access(incoming: IncomingDocument, person: Person, *, reason: str = "") -> None:
    IncomingAccess.objects.get_or_create(incoming=incoming, person=person, defaults={"reason": reason[:40]})


def _joined(value: Any) -> str:
    """A list of names (as GB/T 33480 metadata carries 主送机关) as it is written on paper: joined with 、."""
    if isinstance(value, list | tuple):
        return "、".join(str(v) for v in value if v)
    return str(value or "")


def fields_from_metadata(core: dict[str, Any], *, sender_name: str, sender_uscc: str) -> IncomingFields:
    """登记 fields from GB/T 33480 core metadata (labels as documents.selectors.archive.core_metadata writes them)."""
    from documents.models import Secrecy, Urgency

    by_label = {label: value for value, label in Secrecy.choices}
    urgency_by_label = {label: value for value, label in Urgency.choices}
    secrecy = core.get("密级和保密期限") or {}
    signed = core.get("成文日期") or ""
    try:
        signed_date = dt.date.fromisoformat(str(signed)[:10]) if signed else None
    except ValueError:
        signed_date = None
    return IncomingFields(
        title=str(core.get("标题") or "（无标题）"),
        sender_name=sender_name,
        sender_uscc=sender_uscc,
        doc_number=str(core.get("发文字号") or ""),
        doc_type=str(core.get("文种") or ""),
        secrecy=by_label.get(str(secrecy.get("密级") or ""), "") if isinstance(secrecy, dict) else "",
        urgency=urgency_by_label.get(str(core.get("紧急程度") or ""), ""),
        signed_date=signed_date,
        main_recipients=_joined(core.get("主送机关")),
        attachment_note=str(core.get("附件说明") or ""),
        metadata={"核心元数据": core},
    )


def kind_from_metadata(core: dict[str, Any], agency: Agency) -> str:
    """主送 or 抄送 for one addressee of an exchange package: 抄送 when the metadata's 抄送机关 names the agency (全称
    or 简称) and its 主送机关 does not. A package is addressed to several agencies at once, so this is per agency."""

    def names(key: str) -> set[str]:
        value = core.get(key) or []
        if isinstance(value, list | tuple):
            return {str(v).strip() for v in value}
        return {part.strip() for part in re.split(r"[，、,;；\n]+", str(value))}

    own = {agency.name, agency.short_name} - {""}
    if own & names("抄送机关") and not own & names("主送机关"):
        return IncomingDocument.Kind.CC
    return IncomingDocument.Kind.MAIN


# ---- 收文办理: the writes each ReceiptFlow step makes (workflows.actions.receipt decides when) ----------------

# The 登记 fields a clerk may correct (and a paper 来文 is registered with).
REGISTER_FIELDS = ("title", "doc_number", "sender_name", "secrecy", "urgency", "signed_date", "main_recipients",
                   "copies", "attachment_note")
COPIES_MAX = 9999


def receipt_number_label(year: int, seq: int) -> str:
    """收文号 as printed on the 收文登记簿 and the 收文处理单: 收〔2026〕12号 (per agency and year)."""
    return f"收〔{year}〕{seq}号"


def clean_register_fields(changes: dict[str, Any]) -> dict[str, Any]:
    """Validate 登记 fields (only those given); Refusal with the field's own code and Chinese message."""
    from documents.models import Secrecy, Urgency

    clean: dict[str, Any] = {}
    for name, value in changes.items():
        if name not in REGISTER_FIELDS:
            raise Refusal("unknown_field", f"登记时不能修改字段 {name}")
        if name in ("title", "sender_name"):
            value = (value or "").strip()
            label, limit = ("标题", 300) if name == "title" else ("来文单位", 200)
            if not value:
                raise Refusal(f"{name}_required", f"{label}不能为空")
            if len(value) > limit:
                raise Refusal(f"{name}_too_long", f"{label}不能超过{limit}字")
        elif name in ("doc_number", "main_recipients", "attachment_note"):
            value = (value or "").strip()
            label, limit = {"doc_number": ("来文字号", 64), "main_recipients": ("主送机关", 500),
                            "attachment_note": ("附件说明", 500)}[name]
            if len(value) > limit:
                raise Refusal(f"{name}_too_long", f"{label}不能超过{limit}字")
        elif name == "secrecy":
            value = value or ""
            if value not in Secrecy.values:
                raise Refusal("invalid_secrecy", "密级须为非密、秘密、机密或绝密")
        elif name == "urgency":
            value = value or ""
            if value not in Urgency.values:
                raise Refusal("invalid_urgency", "紧急程度须为平件、加急或特急")
        elif name == "signed_date":
            if isinstance(value, str):
                try:
                    value = dt.date.fromisoformat(value) if value.strip() else None
                except ValueError:
                    raise Refusal("invalid_date", "成文日期格式须为 YYYY-MM-DD") from None
            if value is not None and value > timezone.localdate():
                raise Refusal("invalid_date", "成文日期不能晚于今天")
        elif name == "copies":
            try:
                value = int(value)
            except (TypeError, ValueError):
                raise Refusal("copies_invalid", "份数须为正整数") from None
            if not 1 <= value <= COPIES_MAX:
                raise Refusal("copies_invalid", f"份数须在 1～{COPIES_MAX} 之间")
        clean[name] = value
    return clean


def _locked(incoming: IncomingDocument) -> IncomingDocument:
    return IncomingDocument.objects.select_for_update().get(pk=incoming.pk)


def _sync(target: IncomingDocument, source: IncomingDocument) -> None:
    # The caller's instance sees what was written (views render it right after).
    for f in IncomingDocument._meta.concrete_fields:
        setattr(target, f.attname, getattr(source, f.attname))


def do_sign_incoming(incoming: IncomingDocument, *, actor: Person, copies: int | None = None,
                     on_behalf_of: Person | None = None, ip: str | None = None) -> bool:
    """签收: who, when, how many copies. False (nothing changed) when it was signed already — a 签收 step
    reached again by 退回 inside the flow keeps the first signature, which the sender has been told."""
    with transaction.atomic():
        row = _locked(incoming)
        if row.status != IncomingDocument.Status.PENDING:
            _sync(incoming, row)
            return False
        if copies is not None:
            row.copies = clean_register_fields({"copies": copies})["copies"]
        row.status = IncomingDocument.Status.SIGNED
        row.signed_at = timezone.now()
        row.signed_by = actor
        row.save(update_fields=["status", "signed_at", "signed_by", "copies"])
        do_record_audit(actor=actor, action="incoming.sign", obj=row, ip=ip, on_behalf_of=on_behalf_of,
                        changes={"copies": row.copies, "source": row.source, "sender": row.sender_name})
    _sync(incoming, row)
    return True


def allocate_receipt_number(agency: Agency, year: int) -> int:
    """The next 收文顺序号 of ``agency`` in ``year``. Call inside the 登记 transaction: the sequence row stays
    locked until it commits, so concurrent 登记 get distinct numbers and a refused one uses none."""
    ReceiptNumberSequence.objects.get_or_create(agency=agency, year=year)  # a concurrent create is retried by get
    seq = ReceiptNumberSequence.objects.select_for_update().get(agency=agency, year=year)
    seq.last += 1
    seq.save(update_fields=["last"])
    return seq.last


def do_register_incoming(incoming: IncomingDocument, *, actor: Person, changes: dict[str, Any] | None = None,
                         on_behalf_of: Person | None = None, ip: str | None = None) -> IncomingDocument:
    """登记: correct the register fields and give the 收文 its 收文号 (once: 登记 reached again by 退回 keeps it)."""
    clean = clean_register_fields(changes or {})
    with transaction.atomic():
        row = _locked(incoming)
        diff = {name: [getattr(row, name), value] for name, value in clean.items() if getattr(row, name) != value}
        if "secrecy" in diff and diff["secrecy"][1] in CLASSIFIED_LEVELS and (row.pdf or row.attachments):
            # 非涉密 only (docs/security.md §12): a 收文 whose content is stored here cannot become classified.
            raise Refusal("secrecy_content_stored",
                          f"该来文的正文或附件已存入本系统，不能改标为“{CLASSIFIED_LEVELS[diff['secrecy'][1]]}”。"
                          "本系统只处理非涉密公文；如确属涉密，请联系系统管理员按保密规定处置已存文件")
        for name, (_, value) in diff.items():
            setattr(row, name, value)
        allocated = row.receipt_seq is None
        if allocated:
            year = timezone.localdate().year
            row.receipt_year, row.receipt_seq = year, allocate_receipt_number(row.agency, year)
            row.receipt_number = receipt_number_label(year, row.receipt_seq)
            row.registered_at = timezone.now()
            row.registered_by = actor
        if row.status == IncomingDocument.Status.SIGNED:
            row.status = IncomingDocument.Status.REGISTERED
        row.save()
        do_record_audit(actor=actor, action="incoming.register", obj=row, ip=ip, on_behalf_of=on_behalf_of,
                        changes={"receipt_number": row.receipt_number, "allocated": allocated, "fields": diff})
    _sync(incoming, row)
    return incoming


def do_return_incoming(incoming: IncomingDocument, *, actor: Person, reason: str,
                       on_behalf_of: Person | None = None, ip: str | None = None) -> None:
    """初审 退回来文单位: the 收文 is not handled here; the reason goes back to the sender (the caller tells it)."""
    reason = (reason or "").strip()
    if not reason:
        raise Refusal("reason_required", "退回来文单位必须填写理由")
    if len(reason) > 500:
        raise Refusal("reason_too_long", "退回理由不能超过 500 字")
    with transaction.atomic():
        row = _locked(incoming)
        if row.status in (IncomingDocument.Status.RETURNED, IncomingDocument.Status.WITHDRAWN,
                          IncomingDocument.Status.CLOSED, IncomingDocument.Status.ARCHIVED):
            raise Refusal("incoming_closed", f"该收文当前状态为“{row.get_status_display()}”，不能退回",
                                status=409)
        row.status = IncomingDocument.Status.RETURNED
        row.returned_at = timezone.now()
        row.returned_reason = reason
        row.save(update_fields=["status", "returned_at", "returned_reason"])
        do_record_audit(actor=actor, action="incoming.return", obj=row, ip=ip, on_behalf_of=on_behalf_of,
                        changes={"reason": reason, "sender": row.sender_name})
    _sync(incoming, row)


def do_mark_incoming_withdrawn(incoming: IncomingDocument, *, reason: str = "") -> bool:
    """The sender took the 收文 back (取回) before it was signed. False (nothing changed) once it was signed."""
    with transaction.atomic():
        row = _locked(incoming)
        if row.status != IncomingDocument.Status.PENDING:
            _sync(incoming, row)
            return False
        row.status = IncomingDocument.Status.WITHDRAWN
        row.save(update_fields=["status"])
        do_record_audit(actor=None, actor_name=row.sender_name or "来文单位", action="incoming.withdraw", obj=row,
                        changes={"reason": reason})
    _sync(incoming, row)
    return True


def do_accept_incoming_for_handling(incoming: IncomingDocument, *, actor: Person, ip: str | None = None) -> None:
    """初审 passed: the 收文 is being handled (办理中)."""
    with transaction.atomic():
        row = _locked(incoming)
        if row.status in (IncomingDocument.Status.SIGNED, IncomingDocument.Status.REGISTERED):
            row.status = IncomingDocument.Status.IN_PROGRESS
            row.save(update_fields=["status"])
            do_record_audit(actor=actor, action="incoming.accept", obj=row, ip=ip, changes={})
    _sync(incoming, row)


def do_assign_incoming_handling(incoming: IncomingDocument, *, actor: Person, host_department, due_date: dt.date,
                                assist_departments: list | None = None, on_behalf_of: Person | None = None,
                                ip: str | None = None) -> None:
    """批办: the 主办 department and the time limit (办理时限) the leader set."""
    with transaction.atomic():
        row = _locked(incoming)
        row.host_department = host_department
        row.due_date = due_date
        if row.status in (IncomingDocument.Status.SIGNED, IncomingDocument.Status.REGISTERED):
            row.status = IncomingDocument.Status.IN_PROGRESS
        row.save(update_fields=["host_department", "due_date", "status"])
        do_record_audit(actor=actor, action="incoming.instruct", obj=row, ip=ip, on_behalf_of=on_behalf_of,
                        changes={"host": host_department.name, "assist": [d.name for d in assist_departments or []],
                                 "due_date": due_date})
    _sync(incoming, row)


def do_close_incoming(incoming: IncomingDocument, *, actor: Person, result: str, reply_document=None,
                      on_behalf_of: Person | None = None, ip: str | None = None) -> None:
    """办结: the result of the handling, and the 答复 draft when one was started."""
    result = (result or "").strip()
    if not result:
        raise Refusal("result_required", "办结须填写办理结果")
    if len(result) > 2000:
        raise Refusal("result_too_long", "办理结果不能超过 2000 字")
    with transaction.atomic():
        row = _locked(incoming)
        row.status = IncomingDocument.Status.CLOSED
        row.closed_at = timezone.now()
        row.result = result
        row.handling_note = result
        if reply_document is not None:
            row.reply_document = reply_document
        row.save(update_fields=["status", "closed_at", "result", "handling_note", "reply_document"])
        do_record_audit(actor=actor, action="incoming.close", obj=row, ip=ip, on_behalf_of=on_behalf_of,
                        changes={"result": result, "reply_document": reply_document.pk if reply_document else None})
    _sync(incoming, row)


def do_archive_incoming(incoming: IncomingDocument, *, actor: Person, on_behalf_of: Person | None = None,
                        ip: str | None = None) -> None:
    with transaction.atomic():
        row = _locked(incoming)
        row.status = IncomingDocument.Status.ARCHIVED
        row.save(update_fields=["status"])
        do_record_audit(actor=actor, action="incoming.archive", obj=row, ip=ip, on_behalf_of=on_behalf_of,
                        changes={"receipt_number": row.receipt_number})
    _sync(incoming, row)


# ---- 纸质来文: a scanned PDF the clerk holds -------------------------------------------------------------

def check_incoming_scan(scan) -> tuple[bytes, str]:
    """The bytes and SHA-256 of a scanned 来文, refused unless it is a readable PDF within OA_UPLOAD_MAX_BYTES
    (checked by content: magic bytes, then poppler opens it). Nothing is stored here."""
    from documents.actions.attachments import clean_file_name
    from documents.uploads import KINDS, check_file_type, extract_text, read_upload

    if scan is None:
        raise Refusal("file_required", "请选择来文扫描件（PDF）")
    name = clean_file_name(getattr(scan, "name", "")) or "scan.pdf"
    data = read_upload(scan)  # file_empty / file_too_large (413)
    check_file_type(data, name, allowed=frozenset({"pdf"}))  # type_mismatch / type_not_allowed / unsupported_type
    extract_text(data, KINDS["pdf"])  # pdf_unreadable: a damaged or password-protected scan is refused now
    return data, hashlib.sha256(data).hexdigest()


def do_store_incoming_pdf(data: bytes) -> str:
    """Write a received PDF under a random key (incoming_file_key); the caller deletes it if its transaction
    fails. Returns the storage name."""
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    return default_storage.save(incoming_file_key(None, "scan.pdf"), ContentFile(data))
