"""Writes to the 正文: save a version, 清稿, import from .docx. Every change is a BodyVersion.

Concurrency is optimistic: the editor sends the version it started from (If-Match "5", or "5.3" after three
autosaves amended 第5版); the document row is locked while that is compared and the next state written, so two
saves from the same state cannot both succeed — the second gets a 409 naming whoever saved first, never a silent
overwrite.

自动保存会话 (docs/editor.md): the editor sends a session id per page load. While the same author keeps saving in
the same session — same step, nothing else done to the document since (编号, 排版, 附件 … touch its updated_at), and
no pause longer than SESSION_IDLE — each autosave amends the current version (revision + 1) instead of adding
one per pause; every amendment is audited with the previous and the new digest. Anything else is a new version,
immutable once another version follows it (the PostgreSQL guard enforces both).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from documents.actions.search import do_index_document
from documents.body import content_sha256, normalize_body
from documents.docx_import import parse_docx_body
from documents.models import BodyVersion, OfficialDocument
from documents.selectors.documents import can_edit_document
from oa.actions.audit import do_record_audit
from oa.models import Person
from oa.refusals import Refusal

# A pause longer than this ends the editing session: the next autosave starts a new version.
SESSION_IDLE = dt.timedelta(minutes=30)
_SESSION = re.compile(r"^[A-Za-z0-9_-]{8,64}$")

# If-Match as the actions take it: a version number (its unamended state) or (number, revision); None = no check.
IfMatch = int | tuple[int, int] | None


def clean_session(value: str | None) -> str:
    """The editor's session id if well formed, else "" (no session: every save is a new version)."""
    value = (value or "").strip()
    return value if _SESSION.match(value) else ""


class VersionConflict(Refusal):
    """The body moved on since the editor loaded it. Carries the current version for the client."""

    def __init__(self, actor: Person, current: BodyVersion | None, if_match: int) -> None:
        self.current = current
        if current is None:
            message = f"您编辑的是第{if_match}版，但正文目前还没有任何版本，请刷新页面后重试"
        else:
            who = "您本人（在另一窗口或设备上）" if current.author_id == actor.pk else current.author.get_full_name()
            message = f"{who} 已于 {saved_at(current)} 保存了第{current.number}版，请先查看其修改"
        super().__init__("version_conflict", message, status=409)


def saved_at(version: BodyVersion) -> str:
    """"10:32" today, "11月27日 10:32" otherwise (local time); the last autosave of a session counts."""
    at = timezone.localtime(version.last_saved_at)
    if at.date() == timezone.localdate():
        return at.strftime("%H:%M")
    return f"{at.month}月{at.day}日 {at:%H:%M}"


def _lock(document: OfficialDocument) -> OfficialDocument:
    doc = OfficialDocument.objects.select_for_update().get(pk=document.pk)
    # Load the current version in a statement of its own, after the lock is held: joined into the locking query,
    # a version committed by the transaction we waited for would be invisible to it (READ COMMITTED re-checks
    # only the locked row), and the body would look empty.
    if doc.current_body_id:
        doc.current_body = BodyVersion.objects.select_related("author").get(pk=doc.current_body_id)
    return doc


def _check_editable(actor: Person, document: OfficialDocument) -> None:
    if not can_edit_document(actor, document):
        raise Refusal("not_editable", "您现在不能修改此公文的正文（不是拟稿人，或当前环节未授权修改）", status=403)


def _check_if_match(actor: Person, document: OfficialDocument, if_match: IfMatch) -> None:
    if if_match is None:
        return  # internal callers (flows) that replace the body on purpose
    number, revision = if_match if isinstance(if_match, tuple) else (int(if_match), 0)
    current = document.current_body
    if (number, revision) != ((current.number, current.revision) if current else (0, 0)):
        raise VersionConflict(actor, current, number)


def _write_version(actor: Person, doc: OfficialDocument, content: dict[str, Any], *, kind: str, step: str,
                   marked_up_from: BodyVersion | None = None, session: str = "") -> BodyVersion:
    current = doc.current_body
    now = timezone.now()
    number = (BodyVersion.objects.filter(document=doc).aggregate(m=Max("number"))["m"] or 0) + 1
    # Tracked changes are measured from the last 清稿, or from version 1. A clean version (and version 1) is its
    # own baseline, stored as NULL because a new row cannot point at itself.
    baseline = None if current is None or kind == BodyVersion.Kind.CLEAN else (current.baseline or current)
    version = BodyVersion.objects.create(
        document=doc, number=number, kind=kind, content=content, parent=current, baseline=baseline,
        marked_up_from=marked_up_from, author=actor, step=step, sha256=content_sha256(content),
        edit_session=session, saved_at=now,
    )
    # The document's updated_at is set to the very instant stored on the version: an editing session continues
    # only while the two still agree (nothing else was done to the document since).
    OfficialDocument.objects.filter(pk=doc.pk).update(current_body=version, updated_at=now)
    doc.current_body, doc.updated_at = version, now
    do_index_document(doc)  # the 正文 is what people search for: index it in the same transaction
    return version


def _continues_session(actor: Person, doc: OfficialDocument, session: str, step: str) -> bool:
    current = doc.current_body
    return (
        bool(session) and current is not None and current.kind == BodyVersion.Kind.EDIT
        and current.author_id == actor.pk and current.edit_session == session and current.step == step
        and current.saved_at is not None and doc.updated_at == current.saved_at
        and timezone.now() - current.saved_at < SESSION_IDLE
    )


def _amend_version(doc: OfficialDocument, content: dict[str, Any], sha256: str) -> BodyVersion:
    """The next autosave of the session: the current version takes the new content (revision + 1)."""
    current = doc.current_body
    now = timezone.now()
    BodyVersion.objects.filter(pk=current.pk, revision=current.revision).update(
        content=content, sha256=sha256, revision=current.revision + 1, saved_at=now)
    OfficialDocument.objects.filter(pk=doc.pk).update(updated_at=now)
    version = BodyVersion.objects.select_related("author").get(pk=current.pk)
    doc.current_body, doc.updated_at = version, now
    do_index_document(doc)
    return version


@transaction.atomic
def do_save_body(actor: Person, document: OfficialDocument, content: dict[str, Any], *,
                 kind: str = BodyVersion.Kind.EDIT, step: str = "", audit: dict[str, Any] | None = None,
                 session: str = "") -> BodyVersion:
    """Store normalised ``content`` as the next version — or, within the author's editing ``session``, as the
    current version amended; identical content returns the current version."""
    doc = _lock(document)
    current = doc.current_body
    sha256 = content_sha256(content)
    if current is not None and current.sha256 == sha256:
        return current  # autosave fired with nothing new: no empty versions in the history
    if kind == BodyVersion.Kind.EDIT and _continues_session(actor, doc, session, step):
        version = _amend_version(doc, content, sha256)
        do_record_audit(
            actor=actor, action="document.body_edit", obj=doc,
            changes={"version": version.number, "revision": version.revision, "kind": kind, "sha256": sha256,
                     "previous_sha256": current.sha256, "step": step, "session": "continued"},
        )
        document.current_body = version
        return version
    version = _write_version(actor, doc, content, kind=kind, step=step,
                             session=session if kind == BodyVersion.Kind.EDIT else "")
    do_record_audit(
        actor=actor, action=f"document.body_{kind}", obj=doc,
        changes={"version": version.number, "parent": current.number if current else None, "kind": kind,
                 "sha256": version.sha256, "step": step, **(audit or {})},
    )
    document.current_body = version
    return version


@transaction.atomic
def check_save_body(actor: Person, document: OfficialDocument, content: Any, *, if_match: IfMatch,
                    step: str = "", session: str = "") -> BodyVersion:
    """Validate and save an edit. Raises Refusal (403 not_editable, 409 version_conflict, 400 body_*)."""
    doc = _lock(document)
    _check_editable(actor, doc)
    _check_if_match(actor, doc, if_match)
    version = do_save_body(actor, doc, normalize_body(content), step=step, session=clean_session(session))
    document.current_body = version
    return version


@transaction.atomic
def do_clean_body(actor: Person, document: OfficialDocument, *, step: str = "") -> BodyVersion:
    """清稿: a new CLEAN version with the same content; the marked-up 花脸稿 it came from stays as it is, and
    later 痕迹 are measured from the clean version."""
    doc = _lock(document)
    marked = doc.current_body
    if marked is None:
        raise Refusal("no_body", "正文还没有任何内容，无需清稿")
    if marked.kind == BodyVersion.Kind.CLEAN:
        raise Refusal("already_clean", f"第{marked.number}版已是清稿，清稿后还没有新的修改", status=409)
    clean = _write_version(actor, doc, marked.content, kind=BodyVersion.Kind.CLEAN, step=step, marked_up_from=marked)
    do_record_audit(
        actor=actor, action="document.body_clean", obj=doc,
        changes={"version": clean.number, "marked_up_from": marked.number,
                 "previous_baseline": (marked.baseline.number if marked.baseline else marked.number),
                 "sha256": clean.sha256, "step": step},
    )
    document.current_body = clean
    return clean


@transaction.atomic
def check_clean_body(actor: Person, document: OfficialDocument, *, if_match: IfMatch, step: str = "") -> BodyVersion:
    doc = _lock(document)
    _check_editable(actor, doc)
    _check_if_match(actor, doc, if_match)
    version = do_clean_body(actor, doc, step=step)
    document.current_body = version
    return version


def check_import_body(actor: Person, document: OfficialDocument, data: bytes, *, filename: str,
                      if_match: IfMatch, step: str = "") -> BodyVersion:
    """Replace the body with the one parsed from an uploaded .docx (a new IMPORT version).

    The file is checked and parsed before anything is locked or written: a bad file stores nothing.
    """
    _check_editable(actor, document)  # before spending time on someone else's file
    content = normalize_body(parse_docx_body(data))
    with transaction.atomic():
        doc = _lock(document)
        _check_editable(actor, doc)
        _check_if_match(actor, doc, if_match)
        version = do_save_body(
            actor, doc, content, kind=BodyVersion.Kind.IMPORT, step=step,
            audit={"filename": filename[:200], "size": len(data), "file_sha256": hashlib.sha256(data).hexdigest()},
        )
    document.current_body = version
    return version
