"""GB/T 9704-2012 rendering: pure functions from a DocumentSpec to document bytes."""

from documents.rendering.docx import render_docx
from documents.rendering.layout import RenderedPdf, SealAnchor
from documents.rendering.spec import AttachmentPage, BodyBlock, DocumentSpec, TableBlock, format_cn_date

__all__ = ["AttachmentPage", "BodyBlock", "DocumentSpec", "RenderedPdf", "SealAnchor", "TableBlock", "format_cn_date",
           "render_docx"]
