"""套红排版: render the final DOCX and PDF of a document; the GB/T 9704 checker must pass before they are kept."""

from __future__ import annotations

import dataclasses
import hashlib
import uuid

from django.core.files.base import ContentFile
from django.db import transaction

from documents.actions.documents import do_set_document_status
from documents.checker import check_gbt9704
from documents.models import OfficialDocument
from documents.rendering import render_docx
from documents.rendering.pdf import render_pdf_with_layout
from documents.secrecy import refuse_classified
from documents.selectors.documents import FROZEN_STATUSES
from documents.specs import spec_from_document
from oa.actions.audit import do_record_audit
from oa.models import Person
from oa.refusals import Refusal


@transaction.atomic
def check_typeset_document(actor: Person, document: OfficialDocument) -> OfficialDocument:
    """Render and keep the 正式文件. Flows call this in their 套红排版 step (after 登记 gave the 文号).

    The uploaded 附件 become pages of the PDF (and pictures in the DOCX); a 附件说明 that disagrees with them or an
    attachment that cannot be converted refuses here, before anything is written (documents.specs)."""
    doc = OfficialDocument.objects.select_for_update(of=("self",)).select_related("agency", "current_body").get(
        pk=document.pk
    )
    refuse_classified(doc, "套红排版")
    if doc.status in FROZEN_STATUSES:
        raise Refusal("document_frozen", "公文已用印或归档，不能重新排版", status=409)
    spec = spec_from_document(doc)
    docx = render_docx(spec)
    failures = [r for r in check_gbt9704(docx, upward=spec.upward) if not r.passed]
    if failures:
        listed = "；".join(f"{r.rule}（实测 {r.measured}）" for r in failures[:5])
        raise Refusal("gbt9704_failed", f"排版结果不符合 GB/T 9704：{listed}", status=422)
    pdf = render_pdf_with_layout(spec)
    # Random names: the storage key never carries the title or 文号.
    stem = uuid.uuid4().hex
    old = (doc.final_docx.name, doc.final_pdf.name)
    doc.final_docx.save(f"{stem}.docx", ContentFile(docx), save=False)
    doc.final_pdf.save(f"{stem}.pdf", ContentFile(pdf.data), save=False)
    doc.seal_anchors = [dataclasses.asdict(a) for a in pdf.seal_anchors]
    doc.save(update_fields=["final_docx", "final_pdf", "seal_anchors", "updated_at"])
    for name in old:
        if name:
            transaction.on_commit(lambda n=name: doc.final_pdf.storage.delete(n))
    do_set_document_status(doc, OfficialDocument.Status.TYPESET, actor=actor)
    do_record_audit(
        actor=actor, action="document.typeset", obj=doc,
        changes={
            "doc_number": doc.doc_number,
            "docx_sha256": hashlib.sha256(docx).hexdigest(),
            "pdf_sha256": hashlib.sha256(pdf.data).hexdigest(),
            "pages": pdf.page_count,
            "body_version": doc.current_body.number,
            # The uploaded 附件 merged into the PDF (用印 refuses the PDF once these change).
            "attachments": [{"title": p.title, "sha256": p.digest} for p in spec.attachment_pages],
        },
    )
    return doc
