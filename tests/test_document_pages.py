"""公文 pages and the 正文 JSON endpoints through HTTP as the demo cast: list, 拟稿, detail with the 18 要素, the
editor endpoint (ETag/If-Match, 409 naming the other editor, 403/404), 清稿 and import forms, 痕迹 view, 要素 form,
and the same through the token API."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client
from django.urls import reverse

from documents.actions.body import check_save_body
from documents.actions.documents import do_create_document, do_grant_document_access
from documents.models import BodyVersion, OfficialDocument
from oa.actions.tokens import do_issue_token
from oa.models import Agency, AuditEntry
from tests.test_body_import import PNG, sample_docx
from tests.test_ui import assert_clean_html

pytestmark = pytest.mark.django_db

OFFICE = "揭阳市揭东区人民政府办公室"
TITLE = "关于做好2027年元旦春节期间安全生产工作的通知"
ELEMENTS = ("份号", "密级和保密期限", "紧急程度", "发文机关标志", "发文字号", "签发人", "标题", "主送机关", "正文",
            "附件说明", "发文机关署名", "成文日期", "印章", "附注", "附件", "抄送机关", "印发机关和印发日期", "页码")


def P(text: str, level: int = 0) -> dict:
    return {"type": "p", "level": level, "text": text}


def _draft(cast, **fields) -> OfficialDocument:
    return do_create_document(actor=cast.zhangwei, agency=Agency.objects.get(name=OFFICE), title=TITLE, **fields)


def as_user(person) -> Client:
    client = Client()
    client.force_login(person)
    return client


def put_body(client: Client, doc, blocks, if_match=None, **extra):
    headers = {} if if_match is None else {"HTTP_IF_MATCH": if_match}
    return client.put(reverse("documents:body", args=[doc.pk]), json.dumps({"blocks": blocks}),
                      content_type="application/json", **headers, **extra)


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code and re.search(r"[\u4e00-\u9fff]", body["message"])
    return body


# --- list, 拟稿, detail ---------------------------------------------------------------------------------------


def test_list_shows_only_visible_documents(cast):
    doc = _draft(cast)
    html = as_user(cast.zhangwei).get(reverse("documents:list")).content.decode()
    assert TITLE in html and f'href="{reverse("documents:detail", args=[doc.pk])}"' in html
    assert 'href="/documents/new"' in html  # 拟稿 button
    assert_clean_html(html)
    assert 'aria-current="page"' in html.split('<span>公文</span>')[0].rsplit("<li>", 1)[1]  # nav entry is current
    assert TITLE not in as_user(cast.finance06).get(reverse("documents:list")).content.decode()


def test_create_form_uses_the_primary_appointment_and_audits(cast):
    client = as_user(cast.zhangwei)
    form = client.get(reverse("documents:create")).content.decode()
    for label in ("文种", "标题", "上行文", "重要公文", "密级", "紧急程度", "份号", "主送机关", "抄送机关", "发布层次", "附注",
                  "成文日期"):
        assert f">{label}" in form
    assert form.count('<option value="') >= 15  # the 15 文种 at least
    assert_clean_html(form)
    response = client.post(reverse("documents:create"), {
        "doc_type": "qingshi", "title": "关于申请安全生产专项经费的请示", "main_recipients": "区人民政府",
        "cc": "区财政局\n区应急管理局", "publicity": "not_public", "urgency": "jiaji", "written_date": "2026-11-27",
    })
    doc = OfficialDocument.objects.get(title="关于申请安全生产专项经费的请示")
    assert response.status_code == 302 and response["Location"] == reverse("documents:detail", args=[doc.pk]) + "#body"
    assert doc.agency.name == OFFICE and doc.department.name == "秘书科" and doc.created_by == cast.zhangwei
    assert doc.is_upward and doc.urgency == "jiaji" and doc.cc == ["区财政局", "区应急管理局"]
    assert doc.main_recipients == ["区人民政府"] and str(doc.written_date) == "2026-11-27"
    assert AuditEntry.objects.filter(action="document.create", object_id=str(doc.pk)).exists()


def test_create_form_shows_the_rule_on_its_field(cast):
    before = OfficialDocument.objects.count()
    response = as_user(cast.zhangwei).post(reverse("documents:create"), {
        "doc_type": "tongzhi", "title": "涉密通知", "secrecy": "jimi", "publicity": "not_public"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "本系统只处理非涉密公文" in html and 'id="id_secrecy_error"' in html
    assert 'value="涉密通知"' in html  # the form is kept
    assert OfficialDocument.objects.count() == before


def test_create_form_checks_the_copy_number_format_at_drafting(cast):
    before = OfficialDocument.objects.count()
    response = as_user(cast.zhangwei).post(reverse("documents:create"), {
        "doc_type": "tongzhi", "title": "关于开展防火检查的通知", "copy_number": "12", "publicity": "not_public"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "份号须为6位阿拉伯数字" in html and 'id="id_copy_number_error"' in html
    assert OfficialDocument.objects.count() == before
    ok = as_user(cast.zhangwei).post(reverse("documents:create"), {
        "doc_type": "tongzhi", "title": "关于开展防火检查的通知", "copy_number": "000012", "publicity": "not_public"})
    assert ok.status_code == 302 and OfficialDocument.objects.get(title="关于开展防火检查的通知").copy_number == "000012"


def test_create_and_elements_forms_refuse_a_title_that_cannot_break_within_three_lines(cast):
    """§7.3.1 at 拟稿 and 修改要素, not first at 核稿: the message beside 标题, the form kept, nothing stored."""
    from tests.test_documents import UNBREAKABLE_TITLES

    title = UNBREAKABLE_TITLES[0]
    client = as_user(cast.zhangwei)
    before = OfficialDocument.objects.count()
    response = client.post(reverse("documents:create"), {
        "doc_type": "tongzhi", "title": title, "main_recipients": "各镇人民政府", "publicity": "not_public"})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="id_title_error"' in html and "标题过长" in html and "无法在3行内" in html
    assert f'value="{title}"' in html and "各镇人民政府" in html  # the form is kept as posted
    assert OfficialDocument.objects.count() == before
    assert_clean_html(html)

    doc = _draft(cast)
    data = {"doc_type": "tongzhi", "layout": "standard", "title": title, "publicity": "not_public",
            "main_recipients": "各镇人民政府", "signature": OFFICE, "issuer_mark": f"{OFFICE}文件",
            "printing_org": OFFICE, "seal_required": "on"}
    response = client.post(reverse("documents:edit", args=[doc.pk]), data)
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="id_title_error"' in html and "标题过长" in html and f'value="{title}"' in html
    doc.refresh_from_db()
    assert doc.title == TITLE and doc.main_recipients == []


def test_detail_shows_all_18_elements_and_the_editor_for_the_drafter(cast):
    doc = _draft(cast, main_recipients=["各镇人民政府", "各街道办事处"], copy_number="000012")
    # A legacy row marked 机密 (nothing can draft one now: docs/security.md §12) still shows its 密级 when read.
    OfficialDocument.objects.filter(pk=doc.pk).update(secrecy="jimi", secrecy_period="1年")
    check_save_body(cast.zhangwei, doc, {"blocks": [P("总体要求", 1), P("各单位要高度重视。")]}, if_match=0)
    html = as_user(cast.zhangwei).get(reverse("documents:detail", args=[doc.pk])).content.decode()
    for label in ELEMENTS:
        assert f"<dt>{label}</dt>" in html, label
    assert "机密★1年" in html and "各镇人民政府、各街道办事处" in html
    assert 'id="editor"' in html and "documents/editor.js" in html and 'data-version="1"' in html
    assert 'role="status" aria-live="polite"' in html and 'id="editor-alert" role="alert"' in html
    assert '<span class="body-ordinal">一、</span>总体要求' in html  # read-only fallback, ordinal generated
    assert reverse("documents:body_import", args=[doc.pk]) in html and ">清稿</button>" in html
    assert_clean_html(html)  # CSP: no inline script or style, no external asset


def test_detail_is_read_only_for_a_reviewer_and_404_for_another_agency(cast):
    doc = _draft(cast)
    check_save_body(cast.zhangwei, doc, {"blocks": [P("正文。")]}, if_match=0)
    html = as_user(cast.lina).get(reverse("documents:detail", args=[doc.pk])).content.decode()
    assert "正文。" in html and 'id="editor"' not in html and ">清稿</button>" not in html
    assert "修改要素" not in html
    assert as_user(cast.finance06).get(reverse("documents:detail", args=[doc.pk])).status_code == 404
    assert as_user(cast.lina).get(reverse("documents:edit", args=[doc.pk])).status_code == 403


# --- the editor's JSON endpoint -------------------------------------------------------------------------------


def test_body_endpoint_etag_if_match_and_conflict_naming_the_other_editor(cast):
    doc = _draft(cast)
    do_grant_document_access(doc, cast.lina, can_edit=True)
    zhang, li = as_user(cast.zhangwei), as_user(cast.lina)

    got = zhang.get(reverse("documents:body", args=[doc.pk]))
    assert got.status_code == 200 and got["ETag"] == '"0"' and got["Cache-Control"] == "no-store"
    assert got.json()["version"] is None and got.json()["can_edit"] is True

    assert_error(put_body(zhang, doc, [P("初稿。")]), 428, "if_match_required")
    assert_error(put_body(zhang, doc, [P("初稿。")], if_match="abc"), 400, "if_match_invalid")
    saved = put_body(zhang, doc, [P("初稿。")], if_match='"0"')
    assert saved.status_code == 200 and saved["ETag"] == '"1"'
    assert saved.json()["version"]["number"] == 1 and saved.json()["created"] is True

    # Same content again: no new version.
    again = put_body(zhang, doc, [P("初稿。")], if_match="1")
    assert again.status_code == 200 and again.json()["created"] is False and again["ETag"] == '"1"'

    # 李娜 saves on top of 第1版; 张伟, still on 第1版, is told who and when, and nothing is overwritten.
    assert put_body(li, doc, [P("初稿，李娜修改。")], if_match='"1"').status_code == 200
    conflict = put_body(zhang, doc, [P("初稿，张伟修改。")], if_match='"1"')
    body = assert_error(conflict, 409, "version_conflict")
    assert re.fullmatch(r"李娜 已于 (\d+月\d+日 )?\d\d:\d\d 保存了第2版，请先查看其修改", body["message"]), body["message"]
    assert body["current"]["number"] == 2 and body["current"]["author"] == "李娜" and conflict["ETag"] == '"2"'
    doc.refresh_from_db()
    assert doc.current_body.number == 2 and doc.current_body.content == {"blocks": [P("初稿，李娜修改。")]}

    bad = put_body(zhang, doc, [P("（一）要求", 1)], if_match="2")
    assert "序号" in assert_error(bad, 400, "body_heading_ordinal")["message"]
    assert BodyVersion.objects.filter(document=doc).count() == 2


def test_body_endpoint_permissions_and_csrf(cast):
    doc = _draft(cast)
    # 李娜 (same 科室) may read the draft but not edit it; 财政局 cannot even see it.
    assert as_user(cast.lina).get(reverse("documents:body", args=[doc.pk])).json()["can_edit"] is False
    assert_error(put_body(as_user(cast.lina), doc, [P("李娜改。")], if_match="0"), 403, "not_editable")
    assert_error(put_body(as_user(cast.finance06), doc, [P("x")], if_match="0"), 404, "not_found")
    assert_error(Client().get(reverse("documents:body", args=[doc.pk])), 401, "not_authenticated")

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(cast.zhangwei)
    assert_error(put_body(strict, doc, [P("x")], if_match="0"), 403, "csrf_failed")
    strict.get(reverse("documents:detail", args=[doc.pk]))  # sets the CSRF cookie, as the page does
    token = strict.cookies["csrftoken"].value
    assert put_body(strict, doc, [P("x")], if_match="0", HTTP_X_CSRFTOKEN=token).status_code == 200
    assert not BodyVersion.objects.filter(document=doc, author=cast.lina).exists()


# --- 清稿, import, 痕迹 pages ---------------------------------------------------------------------------------


def test_clean_and_view_the_marked_up_draft(cast):
    doc = _draft(cast)
    do_grant_document_access(doc, cast.lina, can_edit=True)
    check_save_body(cast.zhangwei, doc, {"blocks": [P("各单位要重视。")]}, if_match=0)
    check_save_body(cast.lina, doc, {"blocks": [P("各单位要高度重视。")]}, if_match=1)
    client = as_user(cast.zhangwei)
    stale = client.post(reverse("documents:body_clean", args=[doc.pk]), {"if_match": "1"}, follow=True)
    assert "李娜 已于" in stale.content.decode()  # the stale page is told who saved since
    assert not BodyVersion.objects.filter(document=doc, kind=BodyVersion.Kind.CLEAN).exists()

    response = client.post(reverse("documents:body_clean", args=[doc.pk]), {"if_match": "2"}, follow=True)
    html = response.content.decode()
    assert "已清稿：生成第3版（清稿），第2版花脸稿保留可查" in html
    clean = BodyVersion.objects.get(document=doc, number=3)
    assert clean.kind == BodyVersion.Kind.CLEAN and clean.marked_up_from.number == 2
    assert "?from=1&amp;to=2#diff" in html and "查看花脸稿" in html

    marks = client.get(reverse("documents:detail", args=[doc.pk]), {"from": 1, "to": 2}).content.decode()
    assert re.search(r'<ins class="trk trk-a1" title="李娜 · 第2版 · [^"]+ 插入">'
                     r'<span class="visually-hidden">［李娜插入：</span>高度<span class="visually-hidden">］</span></ins>'
                     r'<sup class="trk-mark trk-a1" aria-hidden="true">①</sup>', marks)
    assert re.search(r'<div class="diff-legend-item trk-a1">\s*<dt><span class="trk-mark" aria-hidden="true">①</span>李娜</dt>',
                     marks)
    assert "第1版 → 第2版 的痕迹" in marks
    assert_clean_html(marks)


def test_import_form_success_and_refusal(cast):
    doc = _draft(cast)
    client = as_user(cast.zhangwei)
    url = reverse("documents:body_import", args=[doc.pk])
    bad = client.post(url, {"if_match": "0", "file": _upload("正文.docx", PNG)}, follow=True)
    assert "导入失败：文件内容实际是PNG 图片，不是 Word 文档（.docx）" in bad.content.decode()
    assert not BodyVersion.objects.filter(document=doc).exists()

    good = client.post(url, {"if_match": "0", "file": _upload("通知.docx", sample_docx())})
    assert good.status_code == 302 and good["Location"].endswith("#body")
    version = BodyVersion.objects.get(document=doc)
    assert version.kind == BodyVersion.Kind.IMPORT and version.content["blocks"][0] == P("总体要求", 1)
    assert as_user(cast.lina).post(url, {"if_match": "1", "file": _upload("x.docx", sample_docx())}).status_code == 302
    assert BodyVersion.objects.filter(document=doc).count() == 1  # 李娜 may not edit: refused


def _upload(name: str, data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type="application/vnd.openxmlformats-officedocument.wordprocessingml.document")


def test_elements_form_updates_through_the_action(cast):
    doc = _draft(cast)
    client = as_user(cast.zhangwei)
    page = client.get(reverse("documents:edit", args=[doc.pk])).content.decode()
    assert ">签发人" in page and ">印发日期" in page and TITLE in page
    data = {"doc_type": "tongzhi", "layout": "standard", "title": TITLE, "publicity": "public",
            "main_recipients": "各镇人民政府、各街道办事处", "signers": "", "cc": "区委办公室",
            "attachment_note": "值班表", "signature": OFFICE, "issuer_mark": f"{OFFICE}文件", "seal_required": "on",
            "printing_org": OFFICE, "printing_date": "2026-11-28", "written_date": "2026-11-27"}
    response = client.post(reverse("documents:edit", args=[doc.pk]), data)
    assert response.status_code == 302
    doc.refresh_from_db()
    assert doc.main_recipients == ["各镇人民政府", "各街道办事处"] and doc.attachment_note == ["值班表"]
    assert doc.publicity == "public" and str(doc.printing_date) == "2026-11-28"
    entry = AuditEntry.objects.filter(action="document.update", object_id=str(doc.pk)).latest("id")
    assert entry.changes["publicity"] == ["not_public", "public"]


# --- REST API with a token ------------------------------------------------------------------------------------


def test_token_api_body_versions_diff_clean_import(cast):
    doc = _draft(cast)
    raw, _ = do_issue_token(cast.zhangwei, name="张伟的手机")
    api = Client(headers={"Authorization": f"Bearer {raw}"})
    base = f"/api/documents/{doc.pk}/body"
    assert api.get(base)["ETag"] == '"0"'
    saved = api.put(base, json.dumps({"blocks": [P("初稿。")]}), content_type="application/json", HTTP_IF_MATCH="0")
    assert saved.status_code == 200 and saved["ETag"] == '"1"'
    api.put(base, json.dumps({"blocks": [P("初稿，改。")]}), content_type="application/json", HTTP_IF_MATCH="1")
    stale = api.put(base, json.dumps({"blocks": [P("x")]}), content_type="application/json", HTTP_IF_MATCH="1")
    assert assert_error(stale, 409, "version_conflict")["message"].startswith("您本人")

    versions = api.get(f"{base}/versions").json()["results"]
    assert [v["number"] for v in versions] == [2, 1] and versions[0]["baseline"] == 1
    diff = api.get(f"{base}/diff", {"from": 1, "to": 2}).json()
    assert diff["blocks"][0]["spans"][1] == {"kind": "ins", "text": "，改", "by": diff["blocks"][0]["spans"][1]["by"]}
    assert diff["blocks"][0]["spans"][1]["by"]["author"] == "张伟" and diff["authors"][0]["versions"] == [2]
    assert_error(api.get(f"{base}/diff", {"from": 1, "to": 9}), 404, "version_not_found")

    cleaned = api.post(f"{base}/clean", HTTP_IF_MATCH="2")
    assert cleaned.status_code == 201 and cleaned.json()["marked_up_from"] == 2
    assert_error(api.post(f"{base}/clean", HTTP_IF_MATCH="3"), 409, "already_clean")

    imported = api.post(f"{base}/import", {"file": _upload("通知.docx", sample_docx())}, HTTP_IF_MATCH="3")
    assert imported.status_code == 201 and imported.json()["version"]["kind"] == "import"
    assert_error(api.post(f"{base}/import", {"file": _upload("a.docx", PNG)}, HTTP_IF_MATCH="4"), 400, "not_docx")
    assert_error(api.get(f"/api/documents/{doc.pk + 10_000}/body"), 404, "not_found")
