"""公文检索: jieba index over 标题/文号/正文/附件, the PostgreSQL and SQLite query branches, filters, highlighting,
and visibility — a document a user may not see is never found, shown or counted (page and API)."""

from __future__ import annotations

import datetime
import importlib
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from documents.actions.attachments import check_add_attachment
from documents.actions.body import do_save_body
from documents.actions.documents import do_create_document, do_set_document_status
from documents.actions.numbering import do_allocate_doc_number
from documents.actions.search import do_index_document
from documents.body import normalize_body
from documents.models import DocType, OfficialDocument
from documents.search import highlight, index_tokens, query_tokens, snippet, tokenizer
from documents.selectors.search import search_documents, text_query
from oa.actions.tokens import do_issue_token
from oa.models import Agency, Department
from oa.refusals import Refusal

pytestmark = pytest.mark.django_db

OFFICE = "揭阳市揭东区人民政府办公室"
FINANCE = "揭阳市揭东区财政局"
on_postgres = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL full-text branch")


def docx_bytes(*paragraphs: str) -> bytes:
    from docx import Document

    doc = Document()
    for p in paragraphs:
        doc.add_paragraph(p)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def make_document(actor, *, agency: str = OFFICE, title: str, body: list | None = None, department: str | None = None,
                  number_year: int | None = None, attachment: tuple[str, str, str] | None = None, index: bool = True,
                  **fields) -> OfficialDocument:
    """A document as the real actions make it: created, 正文 saved, optionally an attachment and a 文号."""
    agency_obj = Agency.objects.get(name=agency)
    dept = Department.objects.get(agency=agency_obj, name=department) if department else None
    doc = do_create_document(actor=actor, agency=agency_obj, title=title, department=dept, **fields)
    if body is not None:
        do_save_body(actor, doc, normalize_body({"blocks": body}))
    if attachment is not None:
        name, title_, text = attachment
        check_add_attachment(actor, doc, SimpleUploadedFile(name, docx_bytes(text)), title=title_)
    if number_year is not None:
        do_allocate_doc_number(actor, doc, year=number_year)
    doc.refresh_from_db()
    if index:
        do_index_document(doc)
    return doc


def p(text: str, level: int = 0) -> dict:
    return {"type": "p", "level": level, "text": text}


@pytest.fixture
def corpus(cast):
    """Four 区府办 documents and one of 区财政局 that says the same words (invisible to 区府办 people)."""
    flood = make_document(
        cast.zhangwei, title="关于做好2026年汛期安全防范工作的通知", department="秘书科", doc_type=DocType.NOTICE,
        written_date="2026-04-03", number_year=2026,
        body=[p("各镇人民政府、各街道办事处："), p("为切实做好防汛抢险救灾工作，现将有关事项通知如下。"),
              p("加强组织领导", 1), {"type": "table", "rows": [["单位", "值班电话"], ["曲溪街道", "8765432"]]}],
        attachment=("值班表.docx", "汛期值班安排表", "水库巡查责任人名单及联系方式"),
    )
    budget = make_document(
        cast.zhangwei, title="关于报送2025年财政预算执行情况的报告", department="秘书科", doc_type=DocType.REPORT,
        written_date="2025-12-20", body=[p("根据区人大常委会要求，现将财政预算执行情况报告如下。")],
    )
    meeting = make_document(
        cast.zhangwei, title="区政府常务会议纪要", department="秘书科", doc_type=DocType.MINUTES,
        body=[p("会议研究了防汛物资储备事项。")],
    )
    # 综合科 (gaojun): the office's clerk sees it, 秘书科's 张伟 does not.
    other_dept = make_document(
        cast.gaojun, title="关于防汛物资采购的请示", department="综合科", doc_type=DocType.REQUEST,
        written_date="2026-05-10", body=[p("拟采购防汛沙袋一批。")],
    )
    finance = make_document(
        cast.finance06, agency=FINANCE, title="关于防汛资金拨付的通知", department="预算科", doc_type=DocType.NOTICE,
        written_date="2026-04-08", body=[p("下达防汛抢险救灾资金。")],
    )
    return {"flood": flood, "budget": budget, "meeting": meeting, "other_dept": other_dept, "finance": finance}


def found(user, q="", **filters) -> list[int]:
    return [d.pk for d in search_documents(user, q, **filters).results]


# --- tokens and the index ---------------------------------------------------------------------------------


def test_jieba_is_loaded_once_and_cut_for_search_keeps_sub_words():
    assert tokenizer() is tokenizer()
    tokens = index_tokens("中华人民共和国财政预算，（一）")
    assert {"中华人民共和国", "人民", "共和国", "财政预算", "财政", "预算"} <= set(tokens)
    assert "，" not in tokens and "（" not in tokens  # punctuation is not a word
    assert query_tokens("财政预算 财政预算") == ["财政预算"]  # precise mode, no repeats


def test_index_covers_title_number_body_table_and_attachment_text(corpus):
    doc = corpus["flood"]
    tokens = set(doc.search_text.split())
    assert {"汛期", "安全", "通知"} <= tokens  # 标题
    assert {"揭东", "2026"} <= tokens and doc.doc_number.startswith("揭东府办〔2026〕")  # 文号
    assert {"防汛", "抢险", "救灾"} <= tokens  # 正文 paragraph
    assert {"值班", "电话", "8765432"} <= tokens  # 正文 table cells
    assert {"水库", "巡查", "责任人"} <= tokens  # 附件 text (extracted from the uploaded DOCX)
    assert {"值班", "安排"} <= tokens  # 附件 title
    stored = OfficialDocument.objects.get(pk=doc.pk)
    assert stored.search_text == doc.search_text


def test_indexing_is_derived_data_and_does_not_touch_updated_at(cast):
    doc = make_document(cast.zhangwei, title="关于开展消防检查的通知", body=[p("检查消防通道。")], index=False)
    OfficialDocument.objects.filter(pk=doc.pk).update(search_text="")  # as before a re-index
    before = OfficialDocument.objects.get(pk=doc.pk).updated_at
    text = do_index_document(doc)
    after = OfficialDocument.objects.get(pk=doc.pk)
    assert after.search_text == text and "消防" in text.split() and after.updated_at == before


# --- finding ------------------------------------------------------------------------------------------------


def test_finds_by_body_table_attachment_title_and_number(cast, corpus):
    z, flood = cast.zhangwei, corpus["flood"].pk
    assert flood in found(z, "抢险救灾")  # 正文
    assert flood in found(z, "值班电话")  # table cell
    assert flood in found(z, "水库巡查")  # attachment text
    assert found(z, "汛期安全") == [flood]  # 标题
    assert found(z, corpus["flood"].doc_number) == [flood]  # the whole 文号
    assert flood in found(z, "揭东府办")  # 文号 fragments, as typed
    assert flood in found(z, "〔2026〕")
    assert flood in found(z, "[2026]")  # people type square brackets for 六角括号
    number = corpus["flood"].doc_number.split("〕")[1]  # e.g. "5号"
    assert flood in found(z, f"〔2026〕{number}")
    assert found(z, "沙袋") == []  # only in 综合科's document


def test_single_characters_and_odd_splits_fall_back_to_the_title(cast, corpus):
    z = cast.zhangwei
    # jieba cuts "汛期" as one word, so "汛" alone is no token: the title match still finds it.
    assert "汛" not in corpus["flood"].search_text.split()
    assert corpus["flood"].pk in found(z, "汛")
    assert corpus["meeting"].pk in found(z, "常务会")  # 常务 + 会议 in the index; the title holds "常务会"


def test_every_word_must_match(cast, corpus):
    assert found(cast.zhangwei, "防汛 预算") == []
    assert found(cast.zhangwei, "财政 预算") == [corpus["budget"].pk]


def test_invisible_documents_are_never_found_nor_counted(cast, corpus):
    z = cast.zhangwei
    # The same words are in 区财政局's and 综合科's documents; 张伟 sees neither.
    hits = found(z, "防汛")
    assert set(hits) == {corpus["flood"].pk, corpus["meeting"].pk}
    assert search_documents(z, "防汛").results.count() == 2
    assert corpus["finance"].pk not in found(z, "防汛资金拨付")
    assert corpus["finance"].pk not in found(z, "")  # not even when listing everything
    # The office's clerk sees the whole office, not the bureau; the bureau's drafter sees its own.
    assert set(found(cast.liuyang, "防汛")) == {corpus["flood"].pk, corpus["meeting"].pk, corpus["other_dept"].pk}
    assert found(cast.finance06, "防汛") == [corpus["finance"].pk]


def test_filters_doc_type_year_agency_status(cast, corpus):
    clerk = cast.liuyang
    office = Agency.objects.get(name=OFFICE)
    assert found(clerk, "防汛", doc_type=DocType.REQUEST) == [corpus["other_dept"].pk]
    # Year = 成文日期's year; an undated document (the 纪要) counts in its creation year.
    this_year = timezone.localdate().year
    assert set(found(clerk, "", year=2025)) >= {corpus["budget"].pk}
    assert corpus["flood"].pk not in found(clerk, "", year=2025)
    assert corpus["meeting"].pk in found(clerk, "", year=this_year)
    assert corpus["budget"].pk not in found(clerk, "", year=this_year) or this_year == 2025
    assert set(found(clerk, "防汛", agency_id=office.pk)) == {
        corpus["flood"].pk, corpus["meeting"].pk, corpus["other_dept"].pk}
    finance = Agency.objects.get(name=FINANCE)
    assert found(clerk, "防汛", agency_id=finance.pk) == []  # filtering never widens visibility
    do_set_document_status(corpus["meeting"], OfficialDocument.Status.TYPESET, actor=clerk)
    assert found(clerk, "防汛", status=OfficialDocument.Status.TYPESET) == [corpus["meeting"].pk]
    assert found(clerk, "防汛", status=OfficialDocument.Status.DRAFT, year=2026, doc_type=DocType.NOTICE) == [
        corpus["flood"].pk]


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"doc_type": "baogao2"}, "invalid_doc_type"),
        ({"status": "done"}, "invalid_status"),
        ({"year": 1800}, "invalid_year"),
        ({"agency_id": 999999}, "invalid_agency"),
        ({"q": "汛" * 101}, "query_too_long"),
    ],
)
def test_bad_filters_are_refused(cast, kwargs, code):
    q = kwargs.pop("q", "防汛")
    with pytest.raises(Refusal) as exc:
        search_documents(cast.zhangwei, q, **kwargs)
    assert exc.value.code == code and re.search(r"[\u4e00-\u9fff]", exc.value.message)


def test_number_hits_rank_first(cast, corpus):
    # A second document that mentions the first one's 文号 in its 正文 ranks below the document holding it.
    number = corpus["flood"].doc_number
    follow_up = make_document(cast.zhangwei, title="关于汛期值班情况的通报", department="秘书科",
                              body=[p(f"根据{number}文件要求，各单位认真落实值班制度。")])
    hits = found(cast.zhangwei, number)
    assert hits[0] == corpus["flood"].pk and follow_up.pk in hits


# --- the two query branches -------------------------------------------------------------------------------


def test_sqlite_branch_builds_an_and_of_icontains(cast, corpus):
    """The embedded default's query, exercised here on whatever database the suite runs."""
    qs = OfficialDocument.objects.filter(pk__in=[d.pk for d in corpus.values()])
    sql = str(text_query(qs, "防汛 抢险", vendor="sqlite").query)
    assert "search_text" in sql and "to_tsvector" not in sql
    assert {d.pk for d in text_query(qs, "防汛 抢险", vendor="sqlite")} == {corpus["flood"].pk, corpus["finance"].pk}
    assert {d.pk for d in text_query(qs, "揭东府办", vendor="sqlite")} == {corpus["flood"].pk}
    assert set(text_query(qs, "防汛 预算", vendor="sqlite")) == set()


@on_postgres
def test_postgres_branch_uses_tsquery_and_ranks(cast, corpus):
    qs = OfficialDocument.objects.filter(pk__in=[d.pk for d in corpus.values()])
    sql = str(text_query(qs, "防汛 抢险", vendor="postgresql").query)
    assert "plainto_tsquery" in sql and "to_tsvector" in sql and "ts_rank" in sql
    pg = {d.pk for d in text_query(qs, "防汛 抢险", vendor="postgresql")}
    assert pg == {d.pk for d in text_query(qs, "防汛 抢险", vendor="sqlite")}
    ranked = list(text_query(qs, "防汛", vendor="postgresql").order_by("-search_rank"))
    assert all(d.search_rank > 0 for d in ranked)


# The migration's own statement (a no-op when migrations ran; it builds the index under --nomigrations).
INDEX_SQL = importlib.import_module("documents.migrations.0002_search_index_and_guards").INDEX


@on_postgres
@pytest.mark.django_db(transaction=True)
def test_the_gin_index_for_the_lead_migration_serves_the_query(demo_tx, cast):
    """The migration's index SQL serves the query (autocommit, CONCURRENTLY).

    Not inside a test transaction: an index built in the transaction that updated the rows is not usable by
    that transaction (broken HOT chains), so the plan would say nothing.
    """
    doc = make_document(cast.zhangwei, title="关于防汛检查的通知", body=[p("开展防汛检查。")])
    with connection.cursor() as cursor:
        cursor.execute(INDEX_SQL)
        with transaction.atomic():
            cursor.execute("SET LOCAL enable_seqscan = off")  # a tiny table would be scanned otherwise
            qs = text_query(OfficialDocument.objects.all(), "防汛", vendor="postgresql").values("pk")
            sql, params = qs.query.sql_with_params()
            cursor.execute("EXPLAIN " + sql, params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
            assert [r["pk"] for r in qs] == [doc.pk]
    assert "Bitmap Index Scan on documents_officialdocument_search_gin" in plan, plan


# --- highlighting -------------------------------------------------------------------------------------------


def test_highlight_escapes_first_then_marks():
    html = str(highlight('关于<script>alert("防汛")</script>的通知', ["防汛"]))
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<mark>防汛</mark>" in html
    assert str(highlight("财政预算执行", ["财政", "财政预算"])) == "<mark>财政预算</mark>执行"  # longest first
    assert str(highlight("A&B", [])) == "A&amp;B"
    cut = str(snippet("前" * 100 + "防汛" + "后" * 100, ["防汛"]))
    assert cut.startswith("…") and cut.endswith("…") and "<mark>防汛</mark>" in cut


# --- page and API ---------------------------------------------------------------------------------------------


def test_search_page_lists_only_visible_hits_highlighted(client, cast, corpus):
    client.force_login(cast.zhangwei)
    response = client.get("/documents/search/", {"q": "防汛"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "共 2 件" in html
    assert "<mark>防汛</mark>" in html  # in the excerpts
    assert "关于做好2026年<mark>汛期</mark>安全防范工作的通知" not in html  # "汛期" is not a query word here
    assert corpus["finance"].title not in html and corpus["other_dept"].title not in html
    assert f'href="/documents/{corpus["flood"].pk}/"' in html
    assert f'href="/documents/{corpus["finance"].pk}/"' not in html
    assert 'role="search"' in html and 'for="id_q"' in html and 'for="id_doc_type"' in html

    response = client.get("/documents/search/", {"q": "汛期", "doc_type": "tongzhi", "year": "2026"})
    assert "<mark>汛期</mark>" in response.content.decode() and "共 1 件" in response.content.decode()

    bad = client.get("/documents/search/", {"q": "防汛", "doc_type": "nope"})
    assert bad.status_code == 400 and "选择一个有效的选项" in bad.content.decode()

    assert client.get("/documents/search/").status_code == 200  # the empty page explains what to type


def test_search_page_requires_login(client):
    response = client.get("/documents/search/", {"q": "防汛"})
    assert response.status_code == 302 and "login" in response["Location"]


def test_search_api(cast, corpus):
    raw, _ = do_issue_token(cast.zhangwei, name="测试")
    api = Client(headers={"Authorization": f"Bearer {raw}"})
    body = api.get("/api/documents/search", {"q": "防汛"}).json()
    assert body["count"] == 2 and body["pages"] == 1
    ids = {r["id"] for r in body["results"]}
    assert ids == {corpus["flood"].pk, corpus["meeting"].pk}
    hit = next(r for r in body["results"] if r["id"] == corpus["flood"].pk)
    assert hit["doc_number"] == corpus["flood"].doc_number and hit["agency"]["name"] == OFFICE
    assert "<mark>防汛</mark>" in hit["snippet_html"] and hit["snippet_source"] == "正文"
    attachment_hit = api.get("/api/documents/search", {"q": "水库巡查"}).json()["results"][0]
    assert attachment_hit["snippet_source"] == "附件“汛期值班安排表”"
    assert "<mark>水库巡查</mark>" in attachment_hit["snippet_html"]

    filtered = api.get("/api/documents/search", {"q": "防汛", "doc_type": "jiyao"}).json()
    assert [r["id"] for r in filtered["results"]] == [corpus["meeting"].pk]

    bad = api.get("/api/documents/search", {"q": "防汛", "doc_type": "nope"})
    assert bad.status_code == 400 and bad.json()["code"] == "invalid" and "doc_type" in bad.json()["fields"]
    unknown_agency = api.get("/api/documents/search", {"q": "防汛", "agency": 999999})
    assert unknown_agency.status_code == 400 and unknown_agency.json()["code"] == "invalid_agency"

    finance_raw, _ = do_issue_token(cast.finance06, name="测试")
    finance = Client(headers={"Authorization": f"Bearer {finance_raw}"}).get("/api/documents/search", {"q": "防汛"})
    assert [r["id"] for r in finance.json()["results"]] == [corpus["finance"].pk]

    assert Client().get("/api/documents/search", {"q": "防汛"}).status_code == 401


def test_year_filter_uses_written_date_before_created_at(cast):
    doc = make_document(cast.zhangwei, title="关于跨年度工作安排的通知", department="秘书科",
                        written_date=datetime.date(2024, 12, 30).isoformat(), body=[p("跨年度安排。")])
    assert doc.pk in found(cast.zhangwei, "跨年度", year=2024)
    assert doc.pk not in found(cast.zhangwei, "跨年度", year=timezone.localdate().year)
