"""GB/T 9704-2012 rendering: pure functions from a DocumentSpec to document bytes."""

from documents.rendering.docx import render_docx
from documents.rendering.spec import BodyBlock, DocumentSpec, format_cn_date

__all__ = ["BodyBlock", "DocumentSpec", "format_cn_date", "render_docx"]
