"""What a step page shows above its opinion box (docs/workbench.md "在办理页上阅读"): the 正文 of the current version
(with 痕迹 when an earlier version exists), the 要素 that matter, the attachments and every earlier opinion in order.

Callers hold the task (``access_task_by_id`` and the holder check of the step view) and pass the document or 收文
reached through it; nothing here checks visibility again.
"""

from __future__ import annotations

from typing import Any

from viewflow.workflow.models import Process

from documents.models import Attachment, BodyVersion, IncomingDocument, OfficialDocument
from documents.preview import max_pages, source_info
from documents.selectors.attachments import PDF_MIME, attachments_of
from documents.selectors.body import body_diff, display_blocks, markup_range
from oa.refusals import Refusal
from workflows.selectors.opinions import opinions_for_process

# The attachments a reader of the step is shown: what the document carries (附件) and what the drafter added to
# explain it (参考材料). 纸质扫描件 and the 正文 import source are kept on the attachment page.
READING_ROLES = (Attachment.Role.ATTACHMENT, Attachment.Role.REFERENCE)


def markup_span(current: BodyVersion | None) -> tuple[int, int] | None:
    """(from, to) of the 痕迹 the step page offers for the current version, or None when there is nothing earlier:
    the marks since the last 清稿 (or version 1); for a version that is its own baseline, the change from the
    version before it."""
    if current is None or current.number <= 1:
        return None
    lo, hi = markup_range(current)
    if lo == hi:
        lo = current.number - 1
    return lo, hi


def _opinions(process: Process) -> list:
    return list(opinions_for_process(process))


def issuance_reading(process: Process, document: OfficialDocument) -> dict[str, Any]:
    current = (BodyVersion.objects.select_related("author").get(pk=document.current_body_id)
               if document.current_body_id else None)
    span = markup_span(current)
    diff = body_diff(document, *span) if span else None
    attachments = [a for a in attachments_of(document) if a.role in READING_ROLES]
    return {
        "reading_blocks": display_blocks(document),
        "reading_current": current,
        "reading_diff": diff,
        "reading_attachments": [{"obj": a, "is_pdf": a.content_type == PDF_MIME} for a in attachments],
        "reading_opinions": _opinions(process),
    }


def _incoming_pages(incoming: IncomingDocument) -> dict[str, Any]:
    """The 正文 PDF as watermarked page images (the receiver's name burnt in by the page view)."""
    from workflows.selectors.receipt_files import incoming_pdf_source

    if not incoming.pdf:
        return {"pages": [], "total": 0, "error": ""}
    try:
        info = source_info(incoming_pdf_source(incoming))
    except Refusal as exc:  # damaged file, poppler timeout: say so, the step stays usable
        return {"pages": [], "total": 0, "error": exc.message}
    return {"pages": [{"n": n, "width": w, "height": h} for n, (w, h) in enumerate(info.sizes, start=1)],
            "total": info.pages, "error": "", "limit": max_pages()}


def incoming_reading(process: Process, incoming: IncomingDocument) -> dict[str, Any]:
    """For a 收文 step: the 正文 as text when the 来文 came from an agency of this deployment (the sealed 公文's own
    正文, which is what its PDF prints), and the PDF's pages as images in every case."""
    blocks = None
    source = incoming.document
    if source is not None and source.current_body_id:
        blocks = display_blocks(source)
    attachments = [{"index": i, **a} for i, a in enumerate(incoming.attachments or [], start=1) if isinstance(a, dict)]
    return {
        "reading_blocks": blocks,
        "reading_pages": _incoming_pages(incoming),
        "reading_attachments": attachments,
        "reading_opinions": _opinions(process),
    }

