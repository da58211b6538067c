"""公文 search: full text (PostgreSQL tsvector over jieba tokens, or icontains on SQLite), 文号 fragments and
filters — always inside ``documents_visible_to(user)``, so an invisible document is never found nor counted.

The GIN index that makes the PostgreSQL branch fast is created by a PostgreSQL-only migration; its expression
must stay identical to ``search_vector()`` (see docs/search.md):

    CREATE INDEX CONCURRENTLY IF NOT EXISTS documents_officialdocument_search_gin
        ON documents_officialdocument USING gin (to_tsvector('simple'::regconfig, COALESCE(search_text, '')));
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector
from django.db import connection
from django.db.models import Case, F, FloatField, Q, QuerySet, Value, When

from documents.models import CoIssuer, DocType, OfficialDocument
from documents.search import highlight_terms, normalise_doc_number_fragment, query_tokens
from documents.selectors.documents import documents_visible_to
from oa.models import Agency, Person
from oa.refusals import Refusal

MAX_QUERY_LENGTH = 100
# A hit in 发文字号 or 标题 outranks one deep in the 正文.
DOC_NUMBER_BOOST = 1.0
TITLE_BOOST = 0.5


@dataclass
class DocumentSearch:
    """An ordered queryset (annotated with ``search_rank``) and the terms to highlight in it."""

    results: QuerySet[OfficialDocument]
    q: str
    terms: list[str] = field(default_factory=list)


def search_vector() -> SearchVector:
    # 'simple': no stemming and no stop words — the tokens are already jieba's words.
    return SearchVector("search_text", config="simple")


def text_query(queryset: QuerySet[OfficialDocument], q: str, *, vendor: str) -> QuerySet[OfficialDocument]:
    """Filter ``queryset`` to documents matching ``q`` and annotate ``search_rank``.

    A document matches when it holds every word of ``q`` (full text), or when ``q`` occurs as typed in its
    发文字号 (so "〔2026〕5号" and "揭东府办" work) or in its 标题 (single characters and words jieba splits
    differently in context). ``vendor`` is ``connection.vendor``; tests pass "sqlite" to exercise the fallback.
    """
    q = " ".join((q or "").split())
    if not q:
        return queryset.annotate(search_rank=Value(0.0, output_field=FloatField()))
    tokens = query_tokens(q)
    number = normalise_doc_number_fragment(q)
    literal = Q(doc_number__icontains=number) | Q(title__icontains=q)
    boost = Case(When(doc_number__icontains=number, then=Value(DOC_NUMBER_BOOST)), default=Value(0.0),
                 output_field=FloatField()) + Case(
        When(title__icontains=q, then=Value(TITLE_BOOST)), default=Value(0.0), output_field=FloatField()
    )
    if vendor == "postgresql":
        if not tokens:  # only punctuation: plainto_tsquery would be empty and match nothing anyway
            return queryset.filter(literal).annotate(search_rank=boost)
        query = SearchQuery(" ".join(tokens), config="simple", search_type="plain")
        # The full-text part as a subquery: it alone is answered from the GIN index, and the OR with the
        # icontains fallbacks then costs a hash probe per row instead of a to_tsvector() per row.
        matching = OfficialDocument.objects.alias(search_vector=search_vector()).filter(search_vector=query)
        return (
            queryset.filter(Q(pk__in=matching.values("pk")) | literal)
            .alias(search_vector=search_vector())  # alias: used by the rank, never selected
            .annotate(search_rank=SearchRank(F("search_vector"), query) + boost)
        )
    # SQLite (the embedded default): every word must occur in the token text. No ranking beyond the boosts.
    words = Q()
    for token in tokens:
        words &= Q(search_text__icontains=token)
    matched = (words | literal) if tokens else literal
    return queryset.filter(matched).annotate(search_rank=boost)


def document_year_filter(year: int) -> Q:
    """The year of a 公文 is its 成文日期's; a document not yet dated counts in the year it was created."""
    return Q(written_date__year=year) | Q(written_date__isnull=True, created_at__year=year)


def search_documents(
    user: Person,
    q: str = "",
    *,
    doc_type: str | None = None,
    year: int | None = None,
    agency_id: int | None = None,
    status: str | None = None,
    vendor: str | None = None,
) -> DocumentSearch:
    """What ``user`` may see that matches ``q`` and the filters, best first (then newest first)."""
    q = " ".join((q or "").split())
    if len(q) > MAX_QUERY_LENGTH:
        raise Refusal("query_too_long", f"检索词不能超过{MAX_QUERY_LENGTH}个字")
    if doc_type and doc_type not in DocType.values:
        raise Refusal("invalid_doc_type", "文种须为条例规定的15种之一")
    if status and status not in OfficialDocument.Status.values:
        raise Refusal("invalid_status", "无效的公文状态")
    if year is not None and not (1949 <= year <= datetime.date.today().year + 1):
        raise Refusal("invalid_year", "年份无效")
    if agency_id is not None and not Agency.objects.filter(pk=agency_id).exists():
        raise Refusal("invalid_agency", "机关不存在")

    # A subquery rather than the visibility queryset itself: it is DISTINCT, which would fight the rank ordering.
    qs = OfficialDocument.objects.filter(pk__in=documents_visible_to(user).values("pk"))
    if doc_type:
        qs = qs.filter(doc_type=doc_type)
    if status:
        qs = qs.filter(status=status)
    if year is not None:
        qs = qs.filter(document_year_filter(year))
    if agency_id is not None:
        # 主办 or 联合行文: a joint document belongs to every agency that issued it.
        qs = qs.filter(Q(agency_id=agency_id) | Q(pk__in=CoIssuer.objects.filter(agency_id=agency_id).values("document_id")))
    qs = text_query(qs, q, vendor=vendor or connection.vendor)
    qs = (
        qs.select_related("agency", "current_body")
        .defer("search_text")  # the token text is for the database, not for showing
        .order_by("-search_rank", "-created_at", "-id")
    )
    return DocumentSearch(results=qs, q=q, terms=highlight_terms(q))


def present_results(documents: list[OfficialDocument], terms: list[str]) -> list[dict]:
    """One row per result for the page and the API: escaped, <mark>-highlighted title, 文号 and an excerpt
    of the 正文 (or of the first attachment where the words occur)."""
    from documents.models import Attachment
    from documents.search import body_text, highlight, snippet

    ids = [d.pk for d in documents]
    texts: dict[int, list[tuple[str, str]]] = {pk: [] for pk in ids}
    for att in (Attachment.objects.filter(document_id__in=ids).exclude(role=Attachment.Role.BODY_SOURCE)
                .exclude(text="").only("document_id", "title", "name", "text").order_by("role", "position", "id")):
        texts[att.document_id].append((f"附件“{att.title or att.name}”", att.text))
    rows = []
    pattern_terms = [t for t in terms if t]
    for doc in documents:
        sources = [("正文", body_text(doc.current_body.content) if doc.current_body else ""), *texts[doc.pk]]
        source, text = next(
            ((label, text) for label, text in sources
             if text and any(t.lower() in text.lower() for t in pattern_terms)),
            sources[0],
        )
        rows.append({
            "document": doc,
            "title_html": highlight(doc.title, terms),
            "doc_number_html": highlight(doc.doc_number, terms),
            "snippet_html": snippet(text, terms),
            "snippet_source": source if text else "",
        })
    return rows
