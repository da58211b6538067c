"""Keeping the search index (``OfficialDocument.search_text``) in step with what a 公文 says.

Call ``do_index_document(document)`` from every action that changes what a document is found by — 标题,
发文字号, the current 正文, 附件 (added, removed, or their text extracted) — inside that action's transaction,
so the index and the change commit together. It is derived data: no audit entry, no ``updated_at`` bump.
"""

from __future__ import annotations

from collections.abc import Iterable

from documents.models import OfficialDocument
from documents.search import index_text, index_tokens


def do_index_document(document: OfficialDocument) -> str:
    """Recompute and store the jieba tokens of ``document``; returns the new ``search_text``."""
    search_text = " ".join(index_tokens(index_text(document)))
    # update() rather than save(): neither clobbers fields another action holds in memory nor touches updated_at.
    OfficialDocument.objects.filter(pk=document.pk).update(search_text=search_text)
    document.search_text = search_text
    return search_text


def do_index_documents(documents: Iterable[OfficialDocument]) -> int:
    """Re-index many (after a jieba upgrade or an import); returns how many were indexed."""
    count = 0
    for document in documents:
        do_index_document(document)
        count += 1
    return count
