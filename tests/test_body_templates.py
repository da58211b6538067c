"""拟稿模板: every template is a valid 正文 for its 文种, and creating from one writes version 1 in one step."""

from __future__ import annotations

import pytest

from documents.body import normalize_body
from documents.body_templates import TEMPLATES
from documents.models import BodyVersion, OfficialDocument
from oa.models import AuditEntry

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("key", sorted(TEMPLATES))
def test_every_template_is_a_valid_body(key):
    content = TEMPLATES[key].content()
    assert normalize_body(content)["blocks"]  # the editor's own validation accepts it


def test_create_a_request_from_its_template_through_the_page(client, cast):
    client.force_login(cast.zhangwei)
    page = client.get("/documents/new").content.decode()
    assert "拟稿模板" in page and "请示（一文一事）" in page
    response = client.post("/documents/new", {"doc_type": "qingshi", "template": "request",
                                              "title": "关于申请冬季安全生产专项经费的请示", "publicity": "not_public"})
    assert response.status_code == 302
    doc = OfficialDocument.objects.get(title="关于申请冬季安全生产专项经费的请示")
    assert doc.is_upward
    version = BodyVersion.objects.get(document=doc)
    assert version.number == 1 and version.author == cast.zhangwei
    assert version.content["blocks"][-1]["text"] == "妥否，请批示。"
    assert AuditEntry.objects.filter(action="document.body_edit", object_id=str(doc.pk),
                                     changes__template="request").exists()


def test_a_template_of_another_doc_type_is_refused_and_nothing_is_created(client, cast):
    client.force_login(cast.zhangwei)
    before = OfficialDocument.objects.count()
    response = client.post("/documents/new", {"doc_type": "tongzhi", "template": "request", "title": "标题",
                                              "publicity": "not_public"})
    assert response.status_code == 400
    assert "只用于文种“请示”" in response.content.decode()
    assert OfficialDocument.objects.count() == before
