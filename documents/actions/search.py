"""Keeping the search index (``OfficialDocument.search_text``) in step with what a 公文 says.

Call ``do_index_document(document)`` from every action that changes what a document is found by — 标题,
发文字号, the current 正文, 附件 (added, removed, or their text extracted) — inside that action's transaction,
so the index and the change commit together. It is derived data: no audit entry, no ``updated_at`` bump.
"""

from __future__ import annotations

from collections.abc import Iterable

from documents.models import OfficialDocument
from documents.search import (
    _clean,
    index_text,
    index_text_around_number,
    index_tokens,
    limit_index_tokens,
    tokenizer,
)


def do_index_document(document: OfficialDocument) -> str:
    """Recompute and store the jieba tokens of ``document``; returns the new ``search_text``."""
    search_text = " ".join(index_tokens(index_text(document)))
    # update() rather than save(): neither clobbers fields another action holds in memory nor touches updated_at.
    OfficialDocument.objects.filter(pk=document.pk).update(search_text=search_text)
    document.search_text = search_text
    return search_text


def _raw_tokens(text: str) -> list[str]:
    return _clean(tokenizer().cut_for_search(text, HMM=False)) if text else []


def prepare_numbered_index(document: OfficialDocument) -> tuple[list[str], list[str]]:
    """The slow part of indexing (jieba over the 正文 and 附件) done before the 文号 is known."""
    before, after = index_text_around_number(document)
    return _raw_tokens(before), _raw_tokens(after)


def numbered_search_text(prepared: tuple[list[str], list[str]], doc_number: str) -> str:
    """What ``do_index_document`` would store once the document carries ``doc_number``."""
    before, after = prepared
    return " ".join(limit_index_tokens(before + _raw_tokens(doc_number) + after))


def do_index_documents(documents: Iterable[OfficialDocument]) -> int:
    """Re-index many (after a jieba upgrade or an import); returns how many were indexed."""
    count = 0
    for document in documents:
        do_index_document(document)
        count += 1
    return count
