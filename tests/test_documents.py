"""The 公文 record: creation with the 18 要素, validation of 要素, who may see and change a document."""

from __future__ import annotations

import datetime

import pytest
from django.http import Http404

from documents.actions.documents import (
    check_update_document,
    do_create_document,
    do_grant_document_access,
    do_set_co_issuers,
)
from documents.models import BodyVersion, DocType, Layout, OfficialDocument
from documents.selectors.documents import access_document_by_id, can_edit_document, documents_visible_to
from oa.models import Agency, AuditEntry
from oa.refusals import Refusal

pytestmark = pytest.mark.django_db

OFFICE = "揭阳市揭东区人民政府办公室"


def _draft(cast, **fields) -> OfficialDocument:
    agency = Agency.objects.get(name=OFFICE)
    return do_create_document(actor=cast.zhangwei, agency=agency, title="关于做好2027年元旦春节期间安全生产工作的通知",
                              **fields)


def test_create_fills_defaults_from_the_agency_and_audits(cast):
    doc = _draft(cast, main_recipients="各镇人民政府、各街道办事处，区直各单位", urgency="jiaji")
    doc.refresh_from_db()
    assert doc.identifier and doc.status == OfficialDocument.Status.DRAFT
    assert doc.issuer_mark == f"{OFFICE}文件"
    assert doc.signature == OFFICE and doc.printing_org == OFFICE
    assert doc.main_recipients == ["各镇人民政府", "各街道办事处", "区直各单位"]
    assert doc.get_urgency_display() == "加急" and not doc.is_upward
    entry = AuditEntry.objects.filter(action="document.create", object_id=str(doc.pk)).get()
    assert entry.changes["title"] == doc.title


def test_fifteen_doc_types_and_upward_by_nature(cast):
    assert len(DocType.choices) == 15
    assert _draft(cast, doc_type=DocType.REQUEST).is_upward
    minutes = _draft(cast, doc_type=DocType.MINUTES)
    assert minutes.layout == Layout.MINUTES and minutes.seal_required is False  # 纪要不加盖印章


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"secrecy": "jimi"}, "classified_not_allowed"),  # 非涉密 only (docs/security.md §12)
        ({"secrecy": "juemi", "copy_number": "000001"}, "classified_not_allowed"),
        ({"copy_number": "12"}, "invalid_copy_number"),  # 份号 is 6 digits (GB/T 9704 §7.2.1), checked at 拟稿
        ({"copy_number": "１２３４５６"}, "invalid_copy_number"),
        ({"secrecy_period": "1年"}, "secrecy_period_without_level"),
        ({"copy_number": "0000001"}, "invalid_copy_number"),
        ({"doc_type": "baogao2"}, "invalid_doc_type"),
        ({"written_date": "2026/11/27"}, "invalid_date"),
        ({"status": "archived"}, "unknown_field"),
    ],
)
def test_bad_elements_are_refused_and_nothing_is_stored(cast, fields, code):
    before = OfficialDocument.objects.count()
    with pytest.raises(Refusal) as err:
        _draft(cast, **fields)
    assert err.value.code == code and err.value.message
    assert OfficialDocument.objects.count() == before


def test_update_records_a_diff_and_respects_step_permissions(cast):
    doc = _draft(cast)
    check_update_document(cast.zhangwei, doc, {"written_date": "2026-11-27", "cc": ["区委办公室"]})
    doc.refresh_from_db()
    assert doc.written_date == datetime.date(2026, 11, 27) and doc.cc == ["区委办公室"]
    entry = AuditEntry.objects.filter(action="document.update", object_id=str(doc.pk)).latest("id")
    assert entry.changes["cc"] == [[], ["区委办公室"]]
    with pytest.raises(Refusal) as err:
        check_update_document(cast.zhangwei, doc, {"title": "新标题"}, allowed=frozenset({"cc"}))
    assert err.value.code == "field_not_allowed" and "标题" in err.value.message
    doc.refresh_from_db()
    assert doc.title != "新标题"


# §7.3.1 标题回行, checked when the title is written: three 机关名称 of the directory that may not be split need four
# lines (54.8 字 of 60, so only the directory's names make it unbreakable), and one simply longer than three lines.
UNBREAKABLE_TITLES = [
    "揭阳市揭东区市场监督管理局 揭阳市揭东区教育局 揭阳市揭东区应急管理局关于加强2026年春季学校食品安全管理的通知",
    "揭阳市揭东区人民政府办公室关于进一步加强和改进全区政务服务数据管理工作和政务信息化项目建设管理工作以及"
    "数字政府建设考核评价工作的通知",
]


@pytest.mark.parametrize("title", UNBREAKABLE_TITLES)
def test_a_title_that_cannot_break_within_three_lines_is_refused_at_drafting(cast, title):
    before, audits = OfficialDocument.objects.count(), AuditEntry.objects.count()
    with pytest.raises(Refusal) as err:
        do_create_document(actor=cast.zhangwei, agency=Agency.objects.get(name=OFFICE), title=title)
    assert err.value.code == "title_unbreakable"
    assert "标题过长" in err.value.message and "3行" in err.value.message and "精简标题" in err.value.message
    assert OfficialDocument.objects.count() == before and AuditEntry.objects.count() == audits
    # A 修改要素 to such a title is refused the same way and changes nothing.
    doc = _draft(cast)
    with pytest.raises(Refusal) as err:
        check_update_document(cast.zhangwei, doc, {"title": title, "cc": ["区委办公室"]})
    assert err.value.code == "title_unbreakable"
    doc.refresh_from_db()
    assert doc.title == "关于做好2027年元旦春节期间安全生产工作的通知" and doc.cc == []
    assert not AuditEntry.objects.filter(action="document.update", object_id=str(doc.pk)).exists()


def test_the_directory_names_decide_whether_a_title_breaks(cast):
    """The same four-line joint title is fine once shortened to the 规范化简称 the refusal suggests."""
    doc = _draft(cast)
    short = "区市场监管局 区教育局 区应急管理局关于加强2026年春季学校食品安全管理的通知"
    check_update_document(cast.zhangwei, doc, {"title": short})
    doc.refresh_from_db()
    assert doc.title == short


def test_visibility_drafter_office_department_and_grants(cast):
    doc = _draft(cast)
    assert access_document_by_id(cast.zhangwei, doc.pk) == doc
    assert access_document_by_id(cast.liuyang, doc.pk) == doc  # 文书 of the agency sees its documents
    assert access_document_by_id(cast.lina, doc.pk) == doc  # same department (秘书科)
    outsider = cast.finance06
    with pytest.raises(Http404):
        access_document_by_id(outsider, doc.pk)
    assert doc not in documents_visible_to(outsider)
    do_grant_document_access(doc, outsider, reason="reader")
    assert access_document_by_id(outsider, doc.pk) == doc
    assert not can_edit_document(outsider, doc)


def test_only_the_drafter_edits_a_draft_unless_a_step_grants_it(cast):
    doc = _draft(cast)
    assert can_edit_document(cast.zhangwei, doc) and not can_edit_document(cast.lina, doc)
    with pytest.raises(Refusal) as err:
        check_update_document(cast.lina, doc, {"notes": "此件公开发布"})
    assert err.value.status == 403
    do_grant_document_access(doc, cast.lina, can_edit=True)
    check_update_document(cast.lina, doc, {"notes": "此件公开发布"})
    doc.status = OfficialDocument.Status.SEALED
    assert not can_edit_document(cast.lina, doc)  # sealed documents are frozen


def test_co_issuers_exclude_the_lead_agency(cast):
    doc = _draft(cast)
    finance = Agency.objects.get(name="揭阳市揭东区财政局")
    do_set_co_issuers(doc, [finance], actor=cast.zhangwei)
    assert doc.is_co_issued and list(doc.co_issuers.all()) == [finance]
    with pytest.raises(Refusal):
        do_set_co_issuers(doc, [doc.agency], actor=cast.zhangwei)


def test_body_versions_are_immutable(cast):
    from documents.models import ImmutableError

    doc = _draft(cast)
    version = BodyVersion.objects.create(document=doc, number=1, content={"blocks": []}, author=cast.zhangwei,
                                         sha256="0" * 64)
    version.step = "核稿"
    with pytest.raises(ImmutableError):
        version.save()
    with pytest.raises(ImmutableError):
        version.delete()


# ---- REST API -----------------------------------------------------------------------------------------------


def _api(cast, username):
    from django.test import Client

    from oa.actions.tokens import do_issue_token

    raw, _ = do_issue_token(getattr(cast, username), name="test")
    return Client(headers={"Authorization": f"Bearer {raw}"})


def test_api_create_read_update_and_refusals(cast):
    zhang = _api(cast, "zhangwei")
    created = zhang.post("/api/documents/", {"title": "关于开展冬季防火检查的通知", "main_recipients": ["各镇人民政府"],
                                             "urgency": "teji"}, content_type="application/json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["agency"] == OFFICE and body["urgency"] == "teji" and body["can_edit"] is True
    doc_id = body["id"]
    assert OfficialDocument.objects.get(pk=doc_id).created_by == cast.zhangwei

    got = zhang.get(f"/api/documents/{doc_id}").json()
    assert got["identifier"] == body["identifier"] and got["doc_type_label"] == "通知"
    assert any(d["id"] == doc_id for d in zhang.get("/api/documents/").json()["results"])

    bad = zhang.patch(f"/api/documents/{doc_id}", {"secrecy": "jimi"}, content_type="application/json")
    assert bad.status_code == 400 and bad.json()["code"] == "classified_not_allowed"
    assert OfficialDocument.objects.get(pk=doc_id).secrecy == ""
    readonly = zhang.patch(f"/api/documents/{doc_id}", {"status": "sealed"}, content_type="application/json")
    assert readonly.status_code == 400 and "status" in readonly.json()["fields"]
    ok = zhang.patch(f"/api/documents/{doc_id}", {"notes": "此件公开发布"}, content_type="application/json")
    assert ok.status_code == 200 and ok.json()["notes"] == "此件公开发布"

    # 李娜 (same department) may read but not change 张伟's draft; another agency's clerk cannot even see it.
    lina = _api(cast, "lina")
    assert lina.get(f"/api/documents/{doc_id}").status_code == 200
    refused = lina.patch(f"/api/documents/{doc_id}", {"notes": "x"}, content_type="application/json")
    assert refused.status_code == 403 and refused.json()["code"] == "not_editable"
    outsider = _api(cast, "finance05")
    assert outsider.get(f"/api/documents/{doc_id}").status_code == 404
    assert all(d["id"] != doc_id for d in outsider.get("/api/documents/").json()["results"])
    assert OfficialDocument.objects.get(pk=doc_id).notes == "此件公开发布"
