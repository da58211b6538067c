"""E-seal pages and API over HTTP: 验章 (upload or pick), the JSON report, the 用印 page with its OTP rule, the
registry and downloads — each checked against the database and the audit log."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from documents.actions.documents import do_create_document, do_set_document_status
from documents.actions.seals import (
    check_create_seal,
    check_stamp_document,
    do_authorise_seal_use,
    do_init_seal_authority,
)
from documents.models import OfficialDocument, SealUse
from documents.rendering.pdf import render_pdf_with_layout
from documents.rendering.spec import BodyBlock, DocumentSpec
from documents.seals import image
from oa.actions.tokens import do_issue_token
from oa.models import Agency, AuditEntry
from tests.clients import login

pytestmark = pytest.mark.django_db
OFFICE = "揭阳市揭东区人民政府办公室"
VERIFY = "/documents/seals/verify/"
API = "/api/documents/verify-seal"


@pytest.fixture(scope="module")
def rendered():
    return render_pdf_with_layout(DocumentSpec(
        issuer_mark=f"{OFFICE}文件", doc_number="揭东府办〔2026〕11号", title="关于做好冬季安全生产工作的通知",
        main_recipients=["各镇人民政府"], body=[BodyBlock("请各单位认真落实。" * 20)], signature=OFFICE,
        date=dt.date(2026, 11, 27),
    ))


@pytest.fixture(scope="module")
def png() -> bytes:
    return image.generate_seal_png(OFFICE)


@pytest.fixture
def seal(db, cast, png):
    do_init_seal_authority(actor=None, name="揭阳市揭东区电子印章制章者")
    return check_create_seal(cast.sunhao, agency=Agency.objects.get(doc_code="揭东府办"), image_png=png)


@pytest.fixture
def document(cast, rendered) -> OfficialDocument:
    doc = do_create_document(actor=cast.zhangwei, agency=Agency.objects.get(doc_code="揭东府办"), title="冬季安全生产")
    doc.final_pdf.save("final.pdf", ContentFile(rendered.data), save=False)
    doc.seal_anchors = [dataclasses.asdict(a) for a in rendered.seal_anchors]
    doc.save()
    do_set_document_status(doc, OfficialDocument.Status.TYPESET, actor=cast.liuyang)
    return doc


@pytest.fixture
def sealed(seal, document, cast) -> SealUse:
    do_authorise_seal_use(actor=cast.huangjianhua, document=document, step_label="用印", step_token="t1")
    return check_stamp_document(cast.zhoumin, document, seal, step_token="t1", otp_verified=True)


def signed_bytes(use: SealUse) -> bytes:
    with use.signed_pdf.open("rb") as fh:
        return fh.read()



def api(person) -> Client:
    raw, _ = do_issue_token(person, name="测试")
    return Client(headers={"Authorization": f"Bearer {raw}"})


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


# ---- 验章 page ----------------------------------------------------------------------------------------------

def test_verify_page_needs_login(client):
    response = client.get(VERIFY)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert Client().post(VERIFY, {}).status_code == 302


def test_upload_a_stamped_pdf_and_read_the_report(sealed, cast):
    browser = login(cast.zhangwei, otp=False)
    page = browser.get(VERIFY)
    assert page.status_code == 200
    body = text(page)
    assert 'for="id_file"' in body and 'for="id_document"' in body  # labelled controls
    assert sealed.document.title in body  # a sealed document the drafter may see is offered

    response = browser.post(VERIFY, {"file": SimpleUploadedFile("发文.pdf", signed_bytes(sealed), "application/pdf")})
    assert response.status_code == 200
    body = text(response)
    assert 'data-code="valid"' in body and "有效：" in body
    for label in ("签章人", "印章名称", "印章编码", "印章类型", "签章时间", "算法", "完整性", "证书信任", "覆盖范围"):
        assert f"<dt>{label}</dt>" in body, label
    assert sealed.seal.name in body and sealed.seal.es_id in body and "公章" in body
    assert "ECDSA（P-256）+ SHA-256" in body and "SM2 + SM3" in body
    assert "✓ 通过" in body and "签名覆盖整个文件" in body and "受信任" in body
    # which fonts the sealed file is set in: every face embedded, the stand-ins named (the test host has no licensed fonts)
    assert "<dt>字体</dt>" in body and "UMingCN-0" in body and "（均已嵌入）" in body
    assert "本文件使用替代字体：仿宋_GB2312→AR PL UMing CN" in body


def test_a_pdf_changed_after_stamping_is_reported(sealed, cast):
    data = bytearray(signed_bytes(sealed))
    data[data.index(b"stream\n", 1000) + 40] ^= 1
    response = login(cast.zhangwei, otp=False).post(
        VERIFY, {"file": SimpleUploadedFile("x.pdf", bytes(data), "application/pdf")})
    body = text(response)
    assert response.status_code == 200 and 'data-code="modified_after_sealing"' in body
    assert "文档在盖章后被修改" in body and "✗ 签名范围内的内容已被改动" in body and "✗ 未通过" in body


def test_pick_a_document_or_get_a_clear_refusal(sealed, cast):
    browser = login(cast.zhangwei, otp=False)
    picked = browser.post(VERIFY, {"document": sealed.document.pk})
    assert picked.status_code == 200 and 'data-code="valid"' in text(picked)
    outsider = login(cast.finance01, otp=True).post(VERIFY, {"document": sealed.document.pk})
    assert outsider.status_code == 400  # not among the choices: the form refuses it
    assert sealed.document.title not in text(outsider)
    not_pdf = browser.post(VERIFY, {"file": SimpleUploadedFile("a.pdf", b"GIF89a....", "application/pdf")})
    assert not_pdf.status_code == 400 and "文件内容不是 PDF" in text(not_pdf)
    nothing = browser.post(VERIFY, {})
    assert nothing.status_code == 400 and "请上传 PDF 文件或选择一份已盖章的公文" in text(nothing)


def test_oversize_upload_is_refused_before_it_is_read(sealed, cast, monkeypatch):
    monkeypatch.setattr("documents.views.seals.VERIFY_MAX_BYTES", 1000)
    response = login(cast.zhangwei, otp=False).post(
        VERIFY, {"file": SimpleUploadedFile("big.pdf", signed_bytes(sealed), "application/pdf")})
    assert response.status_code == 413 and "文件过大" in text(response)


# ---- API ------------------------------------------------------------------------------------------------------

def test_api_reports_with_stable_codes(sealed, cast):
    assert Client().post(API, {"file": SimpleUploadedFile("x.pdf", b"%PDF-1.7")}).status_code == 401
    client = api(cast.zhangwei)
    response = client.post(API, {"file": SimpleUploadedFile("发文.pdf", signed_bytes(sealed), "application/pdf")})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["ok"] is True and body["code"] == "valid" and body["source"] == {"kind": "upload", "name": "发文.pdf"}
    pades, ses = body["pades"][0], body["ses"][0]
    assert pades["code"] == "valid" and pades["intact"] and pades["trusted"] and pades["coverage"] == "entire_file"
    assert pades["seal_name"] == sealed.seal.name and pades["signing_time"]
    assert ses["code"] == "valid" and ses["es_id"] == sealed.seal.es_id and ses["pades_field"] == "Seal1"
    assert ses["checks"][0]["code"] == "ses_signature_valid" and all(c["ok"] is not False for c in ses["checks"])

    by_document = client.post(API, {"document": sealed.document.pk})
    assert by_document.status_code == 200 and by_document.json()["source"]["id"] == sealed.document.pk

    tampered = signed_bytes(sealed) + b"\n%garbage\n"
    changed = client.post(API, {"file": SimpleUploadedFile("x.pdf", tampered, "application/pdf")}).json()
    assert changed["code"] == "modified_after_sealing" and changed["message"] == "文档在盖章后被修改"
    assert changed["modified_after_sealing"] is True

    for data, status, code in ((b"GIF89a", 400, "not_pdf"), (None, 400, "file_required")):
        payload = {"file": SimpleUploadedFile("x.pdf", data)} if data else {}
        refused = client.post(API, payload)
        assert refused.status_code == status and refused.json()["code"] == code
        assert re.search(r"[\u4e00-\u9fff]", refused.json()["message"])
    hidden = api(cast.finance01).post(API, {"document": sealed.document.pk})
    assert hidden.status_code == 404 and hidden.json()["code"] == "not_found"


def test_api_refuses_oversize_uploads(sealed, cast, monkeypatch):
    monkeypatch.setattr("documents.views.seals.VERIFY_MAX_BYTES", 1000)
    response = api(cast.zhangwei).post(API, {"file": SimpleUploadedFile("big.pdf", signed_bytes(sealed))})
    assert response.status_code == 413 and response.json()["code"] == "file_too_large"


# ---- 用印 page -------------------------------------------------------------------------------------------------

def test_keeper_stamps_from_the_page_with_otp(seal, document, cast):
    do_authorise_seal_use(actor=cast.huangjianhua, document=document, step_label="用印（发文）", step_token="flow:7")
    url = f"/documents/{document.pk}/seal/"
    keeper = login(cast.zhoumin, otp=True)
    page = keeper.get(url)
    body = text(page)
    assert page.status_code == 200 and "待用印" in body and "用印（发文）" in body and seal.name in body
    auth_id = int(re.search(rf"/documents/{document.pk}/seal/(\d+)/", body).group(1))

    response = keeper.post(f"{url}{auth_id}/", {"seal": seal.pk, "next": "/documents/"})
    assert response.status_code == 302 and response["Location"] == "/documents/"
    use = SealUse.objects.get(document=document)
    assert use.actor == cast.zhoumin and use.step_label == "用印（发文）"
    assert AuditEntry.objects.filter(action="seal.use", actor=cast.zhoumin).count() == 1
    document.refresh_from_db()
    assert document.status == OfficialDocument.Status.SEALED

    download = keeper.get(f"{url}uses/{use.pk}/download/")
    assert download.status_code == 200 and "attachment" in download["Content-Disposition"]
    assert b"".join(download.streaming_content).startswith(b"%PDF-")
    listing = text(keeper.get(url))
    assert "用印记录" in listing and use.signed_pdf_sha256 in listing and "待用印" not in listing


def test_stamping_page_refusals_store_nothing(seal, document, cast):
    auth = do_authorise_seal_use(actor=cast.huangjianhua, document=document, step_label="用印", step_token="flow:8")
    url = f"/documents/{document.pk}/seal/{auth.pk}/"
    # a seal keeper whose session has not passed 2FA never reaches the view (the security gate redirects)
    unverified = login(cast.zhoumin, otp=False).post(url, {"seal": seal.pk})
    assert unverified.status_code == 302 and "/otp/" in unverified["Location"]
    # the drafter sees the document and the seal of his agency but holds no seal role
    drafter = login(cast.zhangwei, otp=False).post(url, {"seal": seal.pk})
    assert drafter.status_code == 403 and 'data-code="seal_not_authorised"' in text(drafter)
    # someone of another agency does not even see the document
    assert login(cast.finance01, otp=True).post(url, {"seal": seal.pk}).status_code == 404
    assert not SealUse.objects.exists() and not AuditEntry.objects.filter(action="seal.use").exists()
    auth.refresh_from_db()
    assert auth.used_at is None


def test_registry_and_seal_picture(seal, cast):
    keeper = login(cast.zhoumin, otp=True)
    listing = keeper.get("/documents/seals/")
    body = text(listing)
    assert listing.status_code == 200 and seal.name in body and seal.es_id in body and "启用" in body
    picture = keeper.get(f"/documents/seals/{seal.pk}/image.png")
    assert picture.status_code == 200 and picture["Content-Type"] == "image/png"
    assert picture.content.startswith(image.PNG_MAGIC)
    assert login(cast.finance01, otp=True).get(f"/documents/seals/{seal.pk}/image.png").status_code == 404
