"""Adding and removing 附件 (and scans, body sources, reference material) of a 公文.

Every check runs before anything is written: a refused upload leaves no object in storage and no row.
The file goes to storage under a random key (``attachment_key``); the name people gave it lives in the row.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import PurePosixPath

from django.core.files.base import ContentFile
from django.db import transaction

from documents.actions.search import do_index_document
from documents.models import Attachment, OfficialDocument
from documents.selectors.attachments import can_manage_attachments
from documents.uploads import check_file_type, extract_text, read_upload
from oa.actions.audit import do_record_audit
from oa.models import Person
from oa.refusals import Refusal

# What each role may hold; None = the whole allow-list (documents/uploads.py KINDS).
ROLE_KINDS: dict[str, frozenset[str] | None] = {
    Attachment.Role.ATTACHMENT: None,
    Attachment.Role.REFERENCE: None,
    Attachment.Role.SCAN: frozenset({"pdf", "ofd", "png", "jpeg", "tiff"}),
    Attachment.Role.BODY_SOURCE: frozenset({"docx"}),
}
TITLE_MAX = Attachment._meta.get_field("title").max_length
NAME_MAX = Attachment._meta.get_field("name").max_length
# 附件名称后不加标点符号 (GB/T 9704 §7.3.3 附件说明).
_TRAILING_PUNCTUATION = "。，、；：！？.,;:!?"


def clean_file_name(raw: str) -> str:
    """The last path component without control characters, at most 255 characters (extension kept)."""
    name = re.split(r"[\\/]", raw or "")[-1]
    name = re.sub(r"[\x00-\x1f\x7f]", "", name).strip()
    if len(name) > NAME_MAX:
        suffix = PurePosixPath(name).suffix[:16]
        name = name[: NAME_MAX - len(suffix)] + suffix
    return name


def clean_title(raw: str, file_name: str) -> str:
    """附件名称 as it will appear in 附件说明: given, else the file name without its extension."""
    title = (raw or "").strip() or PurePosixPath(file_name).stem.strip()
    title = re.sub(r"\s+", " ", title).rstrip(_TRAILING_PUNCTUATION).strip()
    if not title:
        raise Refusal("title_required", "请填写附件名称")
    if len(title) > TITLE_MAX:
        raise Refusal("title_too_long", f"附件名称不能超过{TITLE_MAX}字")
    return title


def _sync_attachment_note(document: OfficialDocument) -> tuple[list[str], list[str]]:
    """附件说明 = the titles of role=附件 in order, so the rendered 公文 and its attachments always agree."""
    old = list(document.attachment_note or [])
    titles = list(
        Attachment.objects.filter(document=document, role=Attachment.Role.ATTACHMENT)
        .order_by("position", "id")
        .values_list("title", flat=True)
    )
    if titles != old:
        document.attachment_note = titles
        document.save(update_fields=["attachment_note", "updated_at"])
    return old, titles


def _renumber(document: OfficialDocument, role: str) -> None:
    for position, attachment in enumerate(
        Attachment.objects.filter(document=document, role=role).order_by("position", "id"), start=1
    ):
        if attachment.position != position:
            Attachment.objects.filter(pk=attachment.pk).update(position=position)


def _refuse_unless_allowed(actor: Person, document: OfficialDocument, role: str, verb: str) -> None:
    if not can_manage_attachments(actor, document, role):
        raise Refusal("not_editable", f"当前环节您不能{verb}此公文的{Attachment.Role(role).label}", status=403)


def check_add_attachment(actor: Person, document: OfficialDocument, uploaded_file, *,
                         role: str = Attachment.Role.ATTACHMENT, title: str = "") -> Attachment:
    """Validate an upload (permission, size, type by content, readability) and store it."""
    if role not in Attachment.Role.values:
        raise Refusal("invalid_role", "附件用途无效")
    _refuse_unless_allowed(actor, document, role, "添加")
    if uploaded_file is None:
        raise Refusal("file_required", "请选择要上传的文件")
    file_name = clean_file_name(getattr(uploaded_file, "name", ""))
    if not file_name:
        raise Refusal("file_name_required", "文件缺少文件名")
    title = clean_title(title, file_name)
    data = read_upload(uploaded_file)  # file_empty / file_too_large, before the whole file is read
    kind = check_file_type(data, file_name, allowed=ROLE_KINDS[role])
    text = extract_text(data, kind)  # also proves the document opens (pdf_unreadable, docx_unreadable …)
    digest = hashlib.sha256(data).hexdigest()

    stored = None
    try:
        with transaction.atomic():
            doc = OfficialDocument.objects.select_for_update().get(pk=document.pk)
            _refuse_unless_allowed(actor, doc, role, "添加")  # the status may have moved while we checked
            last = Attachment.objects.filter(document=doc, role=role).order_by("-position").first()
            attachment = Attachment(
                document=doc, role=role, position=(last.position + 1) if last else 1, name=file_name,
                title=title, content_type=kind.mime, size=len(data), sha256=digest, text=text,
                uploaded_by=actor,
            )
            attachment.file.save(file_name, ContentFile(data), save=False)
            stored = attachment.file.name
            attachment.save()
            changes: dict = {
                "attachment_id": attachment.pk, "name": file_name, "title": title, "role": role,
                "position": attachment.position, "content_type": kind.mime, "size": len(data), "sha256": digest,
            }
            if role == Attachment.Role.ATTACHMENT:
                old, new = _sync_attachment_note(doc)
                if old != new:
                    changes["attachment_note"] = [old, new]
            do_record_audit(actor=actor, action="attachment.add", obj=doc, changes=changes)
            do_index_document(doc)  # the attachment's name and text are now found by search
    except BaseException:
        # The row never committed: take the object back out of storage (nothing stored on refusal).
        if stored:
            attachment.file.storage.delete(stored)
        raise
    document.attachment_note = doc.attachment_note
    return attachment


def check_remove_attachment(actor: Person, attachment: Attachment) -> None:
    """Delete the row, renumber the rest, keep 附件说明 in step; the object leaves storage after commit."""
    with transaction.atomic():
        doc = OfficialDocument.objects.select_for_update().get(pk=attachment.document_id)
        _refuse_unless_allowed(actor, doc, attachment.role, "删除")
        row = Attachment.objects.filter(pk=attachment.pk, document=doc).first()
        if row is None:
            raise Refusal("attachment_gone", "该附件已被删除", status=404)
        storage, key = row.file.storage, row.file.name
        row.delete()
        _renumber(doc, row.role)
        changes: dict = {
            "attachment_id": attachment.pk, "name": row.name, "title": row.title, "role": row.role,
            "position": row.position, "sha256": row.sha256, "size": row.size,
        }
        if row.role == Attachment.Role.ATTACHMENT:
            old, new = _sync_attachment_note(doc)
            if old != new:
                changes["attachment_note"] = [old, new]
        do_record_audit(actor=actor, action="attachment.remove", obj=doc, changes=changes)
        do_index_document(doc)
        # A rollback must not lose the file of a row that still exists, so delete only once committed.
        transaction.on_commit(lambda: storage.delete(key))
    if Attachment.document.is_cached(attachment):  # keep the caller's instance in step, without a query
        attachment.document.attachment_note = doc.attachment_note
