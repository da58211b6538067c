"""Chinese full-text search: jieba tokens, the text a 公文 is indexed by, and server-side highlighting.

Pure functions (no database writes): ``documents.actions.search.do_index_document`` stores what
``index_text`` computes; ``documents.selectors.search`` builds the query from ``query_tokens``.

Tokens: the index holds ``cut_for_search`` tokens (every dictionary word *and* its 2/3-character sub-words),
the query is cut in precise mode, so "财政预算" finds "财政预算" and "预算" both. HMM (new-word guessing) is
off on both sides: it is context-dependent, and a word guessed in a document but not in the query (or the
other way round) would silently miss. Words jieba splits oddly (place names such as 揭东) are caught by the
selector's icontains fallback on 标题 and 发文字号.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, Sequence
from typing import Any

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString

_tokenizer = None
_tokenizer_lock = threading.Lock()

# A search_text past this many tokens keeps only tokens not seen before: every distinct word stays
# findable while the tsvector stays far below PostgreSQL's 1 MB limit.
MAX_INDEX_TOKENS = 100_000

_WORD = re.compile(r"\w")  # a token must contain a letter, digit or 汉字 (drops punctuation and spaces)


def tokenizer():
    """jieba's tokenizer, built once per process on first use (loading its dictionary takes ~1 s)."""
    global _tokenizer
    if _tokenizer is None:
        with _tokenizer_lock:
            if _tokenizer is None:
                import jieba

                jieba.setLogLevel(logging.WARNING)  # no "Building prefix dict…" chatter on stderr
                tk = jieba.Tokenizer()
                tk.initialize()
                _tokenizer = tk
    return _tokenizer


def _clean(tokens: Iterable[str]) -> list[str]:
    return [t.strip().lower() for t in tokens if _WORD.search(t)]


def index_tokens(text: str) -> list[str]:
    """Tokens to index ``text`` by, in order (repeats kept: they weigh in the rank)."""
    if not text:
        return []
    return limit_index_tokens(_clean(tokenizer().cut_for_search(text, HMM=False)))


def limit_index_tokens(tokens: list[str]) -> list[str]:
    """At most MAX_INDEX_TOKENS in order, then only tokens not seen yet. Tokenizing the lines of a text one by
    one and limiting the concatenation gives what ``index_tokens`` gives for the whole text (jieba never joins
    across a line break): the 文号 allocator tokenizes everything but the number before it takes its lock."""
    if len(tokens) <= MAX_INDEX_TOKENS:
        return tokens
    head = tokens[:MAX_INDEX_TOKENS]
    seen = set(head)
    for token in tokens[MAX_INDEX_TOKENS:]:
        if token not in seen:
            seen.add(token)
            head.append(token)
    return head


def query_tokens(q: str) -> list[str]:
    """The words of a query (precise mode), without punctuation or repeats."""
    if not q or not q.strip():
        return []
    return list(dict.fromkeys(_clean(tokenizer().cut(q.strip(), HMM=False))))


def body_text(content: Any) -> str:
    """Plain text of a structured 正文: paragraphs and table cells, one per line."""
    lines: list[str] = []
    blocks = content.get("blocks", []) if isinstance(content, dict) else []
    for block in blocks:
        if not isinstance(block, dict):
            continue
        if isinstance(block.get("text"), str):
            lines.append(block["text"])
        for row in block.get("rows") or []:
            if isinstance(row, list):
                lines.append(" ".join(str(cell) for cell in row if cell is not None))
    return "\n".join(line for line in lines if line)


def document_body_text(document) -> str:
    body = document.current_body
    return body_text(body.content) if body is not None else ""


def attachment_texts(document) -> list[str]:
    """附件名称 and extracted text of every file except a 正文 import source (it repeats the 正文)."""
    from documents.models import Attachment

    parts: list[str] = []
    for att in document.attachments.exclude(role=Attachment.Role.BODY_SOURCE):
        parts.extend(p for p in (att.title, att.name, att.text) if p)
    return parts


def index_text(document) -> str:
    """Everything a 公文 is found by: 标题, 发文字号, 来文单位, 附件说明, 正文, 附件 (names and text)."""
    before, after = index_text_around_number(document)
    return "\n".join(p for p in (before, document.doc_number, after) if p)


def index_text_around_number(document) -> tuple[str, str]:
    """``index_text`` without the 发文字号: the text before it and the text after it."""
    parts = [
        document.source_agency_name,
        " ".join(document.attachment_note or []),
        document_body_text(document),
        *attachment_texts(document),
    ]
    return document.title, "\n".join(p for p in parts if p)


# ---- highlighting ---------------------------------------------------------------------------------------

_BRACKETS = str.maketrans({"[": "〔", "]": "〕", "［": "〔", "］": "〕", "(": "〔", ")": "〕", "（": "〔", "）": "〕",
                           "【": "〔", "】": "〕", "{": "〔", "}": "〕"})


def normalise_doc_number_fragment(q: str) -> str:
    """People type 〔2026〕 as [2026], (2026) or （2026）; 文号 are stored with 六角括号."""
    return "".join(q.split()).translate(_BRACKETS)


def highlight_terms(q: str) -> list[str]:
    """What to mark in results: the query as typed, its 文号 form, and its words of two or more characters
    (single characters only when the query is one: marking every 的 or 号 is noise)."""
    q = (q or "").strip()
    if not q:
        return []
    tokens = query_tokens(q)
    terms = [q, normalise_doc_number_fragment(q)]
    terms += [t for t in tokens if len(t) > 1 or len(tokens) == 1]
    return list(dict.fromkeys(t for t in terms if t))


def _pattern(terms: Sequence[str]) -> re.Pattern[str] | None:
    terms = [t for t in terms if t]
    if not terms:
        return None
    # Longest first, so "财政预算" is marked whole rather than as "财政" + "预算".
    return re.compile("|".join(re.escape(t) for t in sorted(set(terms), key=len, reverse=True)), re.IGNORECASE)


def highlight(text: str, terms: Sequence[str]) -> SafeString:
    """``text`` HTML-escaped, with each hit wrapped in <mark>. Every piece is escaped before it is joined."""
    text = text or ""
    pattern = _pattern(terms)
    if pattern is None:
        return escape(text)
    out = SafeString("")
    pos = 0
    for match in pattern.finditer(text):
        out += escape(text[pos:match.start()]) + format_html("<mark>{}</mark>", match.group())
        pos = match.end()
    return out + escape(text[pos:])


def snippet(text: str, terms: Sequence[str], *, width: int = 90, before: int = 24) -> SafeString:
    """A highlighted excerpt around the first hit (or the start of ``text`` when nothing matches)."""
    text = " ".join((text or "").split())
    if not text:
        return SafeString("")
    pattern = _pattern(terms)
    match = pattern.search(text) if pattern else None
    start = max(0, match.start() - before) if match else 0
    end = min(len(text), start + width)
    piece = highlight(text[start:end], terms)
    return format_html("{}{}{}", "…" if start else "", piece, "…" if end < len(text) else "")
