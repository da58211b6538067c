"""What the 收文 file pages read: the watermarked preview's sources (the 正文 PDF and PDF attachments as received)
and the 收文处理单 (阅办单) of one 收文. Callers pass a 收文 they got through ``access_incoming_by_id``."""

from __future__ import annotations

from django.utils import timezone

from documents.models import IncomingDocument
from documents.preview import PreviewSource
from documents.rendering.slip import (
    KIND_HANDLE,
    KIND_INSTRUCT,
    KIND_OTHER,
    KIND_PROPOSE,
    ReceiptSlip,
    SlipOpinion,
)
from documents.secrecy import refuse_classified
from oa.refusals import Refusal
from workflows.models import Opinion
from workflows.selectors.opinions import opinions_for_process
from workflows.selectors.receipt import incoming_attachment, incoming_file, receipt_process_of

PDF_MIME = "application/pdf"
_SLIP_KINDS = {"propose": KIND_PROPOSE, "instruct": KIND_INSTRUCT, "handle": KIND_HANDLE}


def incoming_pdf_source(incoming: IncomingDocument) -> PreviewSource:
    """The 正文 PDF as received. Its hash (checked on arrival) keys the page cache; a stored name is never reused."""
    refuse_classified(incoming, "在线预览或加水印显示正文")  # 非涉密 only (docs/security.md §12)
    if not incoming.pdf:
        raise Refusal("preview_unavailable", "该收文没有正文 PDF，暂无可预览的文件", status=404)
    key = f"incoming:sha256:{incoming.pdf_sha256}" if incoming.pdf_sha256 else f"incoming:{incoming.pdf.name}"
    return PreviewSource(key=key, file=incoming.pdf, label=f"{incoming.title}（来文正文）")


def incoming_attachment_source(incoming: IncomingDocument, index: int) -> PreviewSource:
    """The index-th attachment (1-based) when it is a PDF; Http404 when there is none, a clear refusal otherwise."""
    refuse_classified(incoming, "在线预览或加水印显示附件")
    item = incoming_attachment(incoming, index)
    if str(item.get("content_type") or "") != PDF_MIME:
        raise Refusal("preview_not_pdf", "只能预览 PDF 文件；此附件请下载后查看", status=415)
    key = f"sha256:{item['sha256']}" if item.get("sha256") else f"incoming:{item['key']}"
    return PreviewSource(key=key, file=incoming_file(incoming, str(item["key"])),
                         label=str(item.get("name") or f"附件{index}"))


def slip_kind(opinion: Opinion) -> str:
    """The box of the 收文处理单 an opinion goes in, by the flow node it was written at."""
    return _SLIP_KINDS.get(opinion.node, KIND_OTHER)


def receipt_slip(incoming: IncomingDocument) -> ReceiptSlip:
    """The 收文处理单 of ``incoming``: 登记 facts and every opinion of its 收文 flow, oldest first."""
    process = receipt_process_of(incoming)
    opinions = list(opinions_for_process(process).select_related("author", "on_behalf_of")) if process else []
    handlers = (process.data or {}).get("handlers", []) if process else []
    received = incoming.signed_at or incoming.received_at
    return ReceiptSlip(
        agency=incoming.agency.name,
        title=incoming.title,
        sender=incoming.sender_name,
        doc_number=incoming.doc_number,
        receipt_number=incoming.receipt_number,
        received_date=timezone.localtime(received).date() if received else None,
        signed_date=incoming.signed_date,
        secrecy=incoming.get_secrecy_display() if incoming.secrecy else "",
        urgency=incoming.get_urgency_display() if incoming.urgency else "",
        copies=incoming.copies,
        attachments=incoming.attachment_note,
        host_department=incoming.host_department.name if incoming.host_department_id else "",
        assist_departments=[str(h.get("dept") or "") for h in handlers
                            if isinstance(h, dict) and h.get("role") == "assist"],
        due_date=incoming.due_date,
        result=incoming.result,
        closed_date=timezone.localtime(incoming.closed_at).date() if incoming.closed_at else None,
        opinions=[
            SlipOpinion(
                # 拟办/批办 boxes are named after their step; 承办（主办）, 初审 … keep their own line
                step="" if o.node in ("propose", "instruct") else o.step, name=o.author.get_full_name(),
                on_behalf_of=o.on_behalf_of.get_full_name() if o.on_behalf_of_id else "",
                text=o.text, date=o.created_at, kind=slip_kind(o), circled=o.kind == Opinion.Kind.CIRCLE,
            )
            for o in opinions
        ],
    )
