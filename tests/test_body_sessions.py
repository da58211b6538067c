"""自动保存会话 (docs/editor.md): the autosaves of one editing session amend one version instead of adding one per
pause; a new session (page load), a pause over SESSION_IDLE, another author, another step, 清稿 or any other act
on the document starts a new version. If-Match carries the revision, so an amended version still cannot be
overwritten silently, and the PostgreSQL guard allows no other UPDATE of a version."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from documents.actions.body import SESSION_IDLE, check_clean_body, check_save_body
from documents.actions.documents import do_create_document, do_grant_document_access
from documents.models import BodyVersion, OfficialDocument
from oa.models import Agency, AuditEntry
from oa.refusals import Refusal
from tests.clients import login

pytestmark = pytest.mark.django_db

OFFICE = "揭阳市揭东区人民政府办公室"
S1 = "0b6f3c1e-aaaa-4bbb-8ccc-000000000001"
S2 = "0b6f3c1e-aaaa-4bbb-8ccc-000000000002"


def body(*texts: str) -> dict:
    return {"blocks": [{"type": "p", "level": 0, "text": t} for t in texts]}


def _draft(cast) -> OfficialDocument:
    return do_create_document(actor=cast.zhangwei, agency=Agency.objects.get(name=OFFICE), title="自动保存会话测试")


def _versions(doc) -> list[tuple[int, int, str]]:
    return [(v.number, v.revision, v.author.username)
            for v in BodyVersion.objects.filter(document=doc).select_related("author").order_by("number")]


def test_autosaves_in_one_session_amend_one_version_and_a_new_session_starts_the_next(cast):
    doc = _draft(cast)
    v = check_save_body(cast.zhangwei, doc, body("各单位"), if_match=0, session=S1)
    assert (v.number, v.revision, v.etag) == (1, 0, "1")
    v = check_save_body(cast.zhangwei, doc, body("各单位要高度重视"), if_match=(1, 0), session=S1)
    v = check_save_body(cast.zhangwei, doc, body("各单位要高度重视安全生产。"), if_match=(1, 1), session=S1)
    assert (v.number, v.revision, v.etag) == (1, 2, "1.2")
    assert _versions(doc) == [(1, 2, "zhangwei")]  # three pauses, one version
    stored = BodyVersion.objects.get(document=doc)
    assert stored.content == body("各单位要高度重视安全生产。") and stored.saved_at >= stored.created_at
    doc.refresh_from_db()
    assert doc.current_body_id == stored.pk and "生产" in doc.search_text.split()  # re-indexed

    # Every save is audited; an amendment records the digest it replaced, so the chain keeps every state.
    entries = list(AuditEntry.objects.filter(action="document.body_edit", object_id=str(doc.pk)).order_by("id"))
    assert [(e.changes["version"], e.changes.get("revision")) for e in entries] == [(1, None), (1, 1), (1, 2)]
    assert entries[2].changes["previous_sha256"] == entries[1].changes["sha256"]
    assert entries[2].changes["sha256"] == stored.sha256 and entries[2].changes["session"] == "continued"

    # The page is loaded again: a new session, a new version on top.
    v2 = check_save_body(cast.zhangwei, doc, body("各单位要高度重视安全生产。请认真落实。"), if_match=(1, 2), session=S2)
    assert (v2.number, v2.revision, v2.parent_id) == (2, 0, stored.pk)
    check_save_body(cast.zhangwei, doc, body("各单位要高度重视安全生产。请认真抓好落实。"), if_match=(2, 0), session=S2)
    assert _versions(doc) == [(1, 2, "zhangwei"), (2, 1, "zhangwei")]

    # No session (API clients, flows): every save is a new version, as before.
    check_save_body(cast.zhangwei, doc, body("甲"), if_match=(2, 1))
    check_save_body(cast.zhangwei, doc, body("乙"), if_match=3, session="bad session id!")  # malformed: ignored
    assert [n for n, _, _ in _versions(doc)] == [1, 2, 3, 4]


def test_a_stale_if_match_after_an_amendment_is_a_conflict(cast):
    doc = _draft(cast)
    do_grant_document_access(doc, cast.lina, can_edit=True)
    check_save_body(cast.zhangwei, doc, body("原稿"), if_match=0, session=S1)
    check_save_body(cast.zhangwei, doc, body("原稿，张伟续写"), if_match=1, session=S1)
    # 李娜 loaded 第1版 before the amendment: her save from "1" must not overwrite what 张伟 wrote since.
    with pytest.raises(Refusal) as exc:
        check_save_body(cast.lina, doc, body("原稿，李娜修改"), if_match=1, session=S2)
    assert exc.value.code == "version_conflict" and exc.value.message.startswith("张伟 已于")
    # From the current state she saves a version of her own; 张伟's session cannot amend it.
    lina = check_save_body(cast.lina, doc, body("原稿，张伟续写。李娜补充"), if_match=(1, 1), session=S2)
    assert (lina.number, lina.author) == (2, cast.lina)
    with pytest.raises(Refusal):
        check_save_body(cast.zhangwei, doc, body("张伟仍在旧页面上写"), if_match=(1, 1), session=S1)
    assert _versions(doc) == [(1, 1, "zhangwei"), (2, 0, "lina")]


def test_idle_pause_other_step_and_other_acts_end_the_session(cast, time_machine):
    doc = _draft(cast)
    check_save_body(cast.zhangwei, doc, body("一"), if_match=0, session=S1)
    time_machine.move_to(timezone.now() + SESSION_IDLE + dt.timedelta(minutes=1), tick=True)
    v = check_save_body(cast.zhangwei, doc, body("一二"), if_match=1, session=S1)
    assert v.number == 2  # a pause longer than SESSION_IDLE: a new version even on the same page

    v = check_save_body(cast.zhangwei, doc, body("一二三"), if_match=2, session=S1, step="核稿")
    assert v.number == 3  # another 环节 is another version

    clean = check_clean_body(cast.zhangwei, doc, if_match=3)
    v = check_save_body(cast.zhangwei, doc, body("一二三四"), if_match=clean.number, session=S1)
    assert v.number == 5 and v.parent_id == clean.pk  # 清稿 ends it too

    # Anything else done to the document since (要素, 编号, 排版, 附件 … all touch updated_at) ends the session.
    from documents.actions.documents import check_update_document

    check_update_document(cast.zhangwei, doc, {"title": "关于自动保存会话测试的通知"})
    v = check_save_body(cast.zhangwei, doc, body("一二三四五"), if_match=5, session=S1)
    assert v.number == 6
    assert [n for n, _, _ in _versions(doc)] == [1, 2, 3, 4, 5, 6]


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="the UPDATE guard is a PostgreSQL trigger")
def test_database_guard_allows_only_the_in_session_amendment_of_the_current_version(cast):
    doc = _draft(cast)
    check_save_body(cast.zhangwei, doc, body("一"), if_match=0, session=S1)
    v2 = check_save_body(cast.zhangwei, doc, body("一二"), if_match=1, session=S2)
    v1 = BodyVersion.objects.get(document=doc, number=1)
    rewrites = [
        (v1.pk, {"content": body("篡改"), "revision": v1.revision + 1}),  # not the current version
        (v2.pk, {"content": body("篡改")}),  # revision not advanced
        (v2.pk, {"author_id": cast.lina.pk, "revision": 1}),  # another author
        (v2.pk, {"number": 9, "revision": 1}),
    ]
    for pk, fields in rewrites:
        with pytest.raises(DatabaseError), transaction.atomic():
            BodyVersion.objects.filter(pk=pk).update(**fields)
    assert BodyVersion.objects.get(pk=v1.pk).content == body("一")
    assert connection.vendor == "postgresql"


def test_editor_endpoint_folds_a_session_and_answers_etags_with_the_revision(cast):
    doc = _draft(cast)
    url = reverse("documents:body", args=[doc.pk])
    browser = login(cast.zhangwei, client=Client())

    def put(content, if_match, session):
        return browser.put(url, data=json.dumps(content), content_type="application/json",
                           HTTP_IF_MATCH=if_match, HTTP_X_EDIT_SESSION=session)

    first = put(body("第一句"), '"0"', S1)
    assert first.status_code == 200 and first["ETag"] == '"1"'
    second = put(body("第一句。第二句"), first["ETag"], S1)
    assert second.status_code == 200 and second["ETag"] == '"1.1"'
    data = second.json()
    assert data["version"]["number"] == 1 and data["version"]["etag"] == "1.1" and data["created"] is False
    stale = put(body("旧页面"), '"1"', S2)
    assert stale.status_code == 409 and stale["ETag"] == '"1.1"'
    assert stale.json()["current"]["etag"] == "1.1"
    got = browser.get(url)
    assert got["ETag"] == '"1.1"' and got.json()["content"] == body("第一句。第二句")
    # The document page hands the same state to the editor and the 清稿/导入 forms.
    page = browser.get(reverse("documents:detail", args=[doc.pk])).content.decode()
    assert 'data-version="1.1"' in page and 'name="if_match" value="1.1"' in page
    assert BodyVersion.objects.filter(document=doc).count() == 1
