"""印章登记 pages (docs/seals.md «印章登记页面»): 制章 through the form, refusals inline on their fields, 注销 with a
reason, the 制章者 initialisation, who may do what — each checked in the database, the audit log and storage, and the
certificates independently with ``cryptography`` — plus ``load_demo --with-seals``."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import timezone
from PIL import Image

from documents.actions.seals import check_create_seal, do_init_seal_authority
from documents.models import Seal, SealAuthority
from documents.seals import image
from documents.selectors.seals import seals_usable_by
from oa.models import Agency, AuditEntry, Person
from tests.clients import login
from tests.test_ui import assert_clean_html

pytestmark = pytest.mark.django_db
LIST, NEW, INIT = "/documents/seals/", "/documents/seals/new", "/documents/seals/authority/init"
OFFICE = "揭阳市揭东区人民政府办公室"
FINANCE = "揭阳市揭东区财政局"

# Every test here writes seal pictures into a fresh, empty MEDIA_ROOT, so "nothing stored" can be listed.
filesystem = pytest.mark.parametrize("storage_backend", ["filesystem"], indirect=True)



def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def field_errors(response, field: str) -> str:
    """The inline error list rendered under one control (frontend/templates/includes/field.html)."""
    match = re.search(rf'<ul class="field-errors" id="id_{field}_error"[^>]*>(.*?)</ul>', text(response))
    return re.sub(r"<[^>]+>", "", match.group(1)).strip() if match else ""


def stored_files() -> list[Path]:
    return [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()]


def form_data(agency: Agency, **overrides) -> dict:
    today = timezone.localdate()
    data = {"agency": agency.pk, "kind": "official", "name": "", "valid_from": today.isoformat(),
            "valid_to": (today + dt.timedelta(days=3 * 365)).isoformat(), "holder_role": "seal_keeper",
            "algorithm": "ecdsa_p256"}
    data.update(overrides)
    return data


@pytest.fixture
def authority(db) -> SealAuthority:
    return do_init_seal_authority(actor=None, name="揭阳市揭东区电子印章制章者")


@pytest.fixture
def office() -> Agency:
    return Agency.objects.get(doc_code="揭东府办")


@pytest.fixture
def finance() -> Agency:
    return Agency.objects.get(doc_code="揭东财")


# ---- 制章 ------------------------------------------------------------------------------------------------------

@filesystem
def test_sysadmin_makes_a_seal_through_the_page(cast, authority, finance, storage_backend):
    admin = login(cast.sunhao, otp=True)
    listing = text(admin.get(LIST))
    assert f'href="{NEW}"' in listing and "新建印章" in listing

    page = admin.get(NEW)
    body = text(page)
    assert page.status_code == 200 and authority.name in body
    for name in ("agency", "kind", "name", "valid_from", "valid_to", "holder_role", "algorithm", "image"):
        assert f'for="id_{name}"' in body and f'id="id_{name}"' in body, name  # a label on every control
    assert 'enctype="multipart/form-data"' in body
    assert_clean_html(page.content.decode())  # no inline script/style, every asset local
    assert "ECDSA P-256" in body and "RSA-2048" in body and "业务专用章" in body and "签名章" in body

    today = timezone.localdate()
    until = today + dt.timedelta(days=3 * 365)
    response = admin.post(NEW, form_data(finance, kind="business", algorithm="rsa_2048", holder_role="clerk",
                                         valid_to=until.isoformat()))
    assert response.status_code == 302 and response["Location"] == LIST
    seal = Seal.objects.get()
    assert seal.agency == finance and seal.kind == Seal.Kind.BUSINESS and seal.name == f"{FINANCE}业务专用章"
    assert seal.algorithm == Seal.Algorithm.RSA_2048 and seal.holder_role == "clerk"
    assert seal.created_by == cast.sunhao and seal.image_source == Seal.ImageSource.GENERATED
    assert seal.es_id == f"{finance.uscc}-02-0001" and seal.is_active and seal.revoked_at is None
    assert timezone.localtime(seal.valid_from) == timezone.make_aware(dt.datetime.combine(today, dt.time.min))
    assert timezone.localtime(seal.valid_to) == timezone.make_aware(dt.datetime.combine(until, dt.time(23, 59, 59)))

    entry = AuditEntry.objects.get(action="seal.create")
    assert entry.actor == cast.sunhao and entry.object_id == str(seal.pk)
    assert entry.changes["es_id"] == seal.es_id and entry.changes["algorithm"] == "rsa_2048"
    assert entry.changes["holder_role"] == "clerk" and entry.changes["image"] == "generated"

    # the picture is in storage (the only file there) and is a real transparent PNG of 42 mm at 300 dpi
    assert [p.name for p in stored_files()] == [Path(seal.image.name).name]
    with seal.image.open("rb") as fh:
        png = fh.read()
    with Image.open(io.BytesIO(png)) as picture:
        assert picture.format == "PNG" and picture.mode == "RGBA" and picture.size == (image.SEAL_PX, image.SEAL_PX)
        assert picture.getchannel("A").getpixel((0, 0)) == 0

    # the certificate, parsed and checked with cryptography alone
    cert = x509.load_pem_x509_certificate(seal.cert_pem.encode())
    root = x509.load_pem_x509_certificate(authority.cert_pem.encode())
    cert.verify_directly_issued_by(root)
    assert isinstance(cert.public_key(), rsa.RSAPublicKey) and cert.public_key().key_size == 2048
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == seal.name
    assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == FINANCE
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment and not usage.key_cert_sign
    assert cert.not_valid_before_utc == seal.valid_from and cert.not_valid_after_utc == seal.valid_to
    assert format(cert.serial_number, "x") == seal.cert_serial

    after = admin.get(LIST)
    assert "已制作印章" in text(after) and seal.es_id in text(after)

    detail = admin.get(f"/documents/seals/{seal.pk}/")
    facts = text(detail)
    assert detail.status_code == 200
    assert_clean_html(detail.content.decode())
    fingerprint = hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest()
    assert f'data-fingerprint="x509">{fingerprint}<' in facts
    assert hashlib.sha256(bytes(seal.sm2_cert_der)).hexdigest() in facts
    assert hashlib.sha256(bytes(seal.ses_seal)).hexdigest() in facts
    assert seal.es_id in facts and "RSA-2048" in facts and "RSA-2048（公钥 2048 位）" in facts and "办公室/文书" in facts
    assert 'data-status="active"' in facts and f"/documents/seals/{seal.pk}/image.png" in facts
    assert authority.name in facts and 'for="id_reason"' in facts  # the 注销 form, labelled

    pem = admin.get(f"/documents/seals/{seal.pk}/certificate.pem")
    assert pem.status_code == 200 and pem.content.decode() == seal.cert_pem


@filesystem
def test_an_uploaded_transparent_png_is_stored_as_uploaded(cast, authority, office, storage_backend):
    upload = image.generate_seal_png(OFFICE, "合同专用章", size_px=400)
    response = login(cast.sunhao, otp=True).post(NEW, {
        **form_data(office, kind="business", name=f"{OFFICE}合同专用章"),
        "image": SimpleUploadedFile("章.png", upload, "image/png"),
    })
    assert response.status_code == 302
    seal = Seal.objects.get()
    assert seal.image_source == Seal.ImageSource.UPLOADED and seal.name == f"{OFFICE}合同专用章"
    assert isinstance(x509.load_pem_x509_certificate(seal.cert_pem.encode()).public_key(), ec.EllipticCurvePublicKey)
    with seal.image.open("rb") as fh:
        assert fh.read() == upload
    assert AuditEntry.objects.get(action="seal.create").changes["image"] == "uploaded"


def _opaque_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (400, 400), (255, 255, 255)).save(out, format="PNG")
    return out.getvalue()


@filesystem
@pytest.mark.parametrize(("payload", "message"), [
    (b"GIF89a" + b"\0" * 400, "印章图片必须是 PNG 格式（文件内容不是 PNG）"),
    ("opaque", "印章图片必须带透明背景（PNG 透明通道）"),
], ids=["not_png", "opaque_png"])
def test_a_bad_picture_is_refused_on_its_field_and_nothing_is_stored(cast, authority, office, storage_backend,
                                                                     payload, message):
    data = _opaque_png() if payload == "opaque" else payload
    response = login(cast.sunhao, otp=True).post(NEW, {
        **form_data(office), "image": SimpleUploadedFile("章.png", data, "image/png"),
    })
    assert response.status_code == 400
    assert field_errors(response, "image") == f"!{message}"
    assert field_errors(response, "agency") == ""
    assert not Seal.objects.exists() and not AuditEntry.objects.filter(action="seal.create").exists()
    assert stored_files() == []


def test_other_refusals_are_shown_on_their_fields(cast, authority, office):
    admin = login(cast.sunhao, otp=True)
    today = timezone.localdate()
    # 有效期止 before 有效期起: the action's refusal, on 有效期止
    backwards = admin.post(NEW, form_data(office, valid_from=(today + dt.timedelta(days=30)).isoformat(),
                                          valid_to=(today + dt.timedelta(days=10)).isoformat()))
    assert backwards.status_code == 400 and field_errors(backwards, "valid_to") == "!印章有效期止须晚于有效期起"
    # beyond the 制章者 certificate
    too_late = admin.post(NEW, form_data(office, valid_to=(today + dt.timedelta(days=365 * 30)).isoformat()))
    assert too_late.status_code == 400 and "不能超过制章者证书的有效期" in field_errors(too_late, "valid_to")
    # a name longer than a certificate CN may be (64 bytes of UTF-8)
    long_name = "揭阳市揭东区人民政府办公室关于某某事项的专用印章"
    too_long = admin.post(NEW, form_data(office, name=long_name))
    assert too_long.status_code == 400 and "约21个汉字" in field_errors(too_long, "name")
    # form-level: missing agency, unknown kind, an expired window
    empty = admin.post(NEW, {**form_data(office, kind="round", valid_to=(today - dt.timedelta(days=1)).isoformat()),
                             "agency": ""})
    assert empty.status_code == 400 and field_errors(empty, "agency") == "!该字段是必填项。"
    assert "round" in field_errors(empty, "kind") and field_errors(empty, "valid_to") == "!有效期止不能早于今天"
    assert not Seal.objects.exists() and not AuditEntry.objects.filter(action="seal.create").exists()


def test_the_form_needs_a_seal_authority_and_offers_to_initialise_it(cast, office):
    admin = login(cast.sunhao, otp=True)
    assert 'data-code="seal_authority_missing"' in text(admin.get(LIST)) and "manage.py seal_ca init" in text(
        admin.get(LIST))
    first = admin.get(NEW)
    assert_clean_html(first.content.decode())
    page = text(first)
    assert "初始化制章者" in page and 'for="id_name"' in page and 'for="id_organization"' in page
    assert 'for="id_agency"' not in page  # no 制章 form until there is a 制章者

    refused = admin.post(NEW, form_data(office))
    assert refused.status_code == 409 and 'data-code="seal_authority_missing"' in text(refused)
    assert "尚未初始化电子印章制章者" in text(refused) and not Seal.objects.exists()

    blank = admin.post(INIT, {"name": "  ", "organization": "揭阳市揭东区一网协同办公平台"})
    assert blank.status_code == 400 and field_errors(blank, "name") == "!该字段是必填项。"
    assert not SealAuthority.objects.exists()

    created = admin.post(INIT, {"name": "揭阳市揭东区电子印章制章者", "organization": "揭阳市揭东区一网协同办公平台"})
    assert created.status_code == 302 and created["Location"] == NEW
    authority = SealAuthority.objects.get()
    assert authority.is_active and authority.created_by == cast.sunhao
    root = x509.load_pem_x509_certificate(authority.cert_pem.encode())
    assert root.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "揭阳市揭东区电子印章制章者"
    assert root.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    entry = AuditEntry.objects.get(action="seal.authority_init")
    assert entry.actor == cast.sunhao and entry.changes["x509_sha256"] == hashlib.sha256(
        root.public_bytes(Encoding.DER)).hexdigest()
    assert 'for="id_agency"' in text(admin.get(NEW))

    again = admin.post(INIT, {"name": "另一个制章者", "organization": "揭阳市揭东区一网协同办公平台"})
    assert again.status_code == 409 and "已存在电子印章制章者" in text(again)
    assert SealAuthority.objects.count() == 1 and AuditEntry.objects.filter(action="seal.authority_init").count() == 1


# ---- 注销 -----------------------------------------------------------------------------------------------------

def test_revoke_needs_a_reason_then_is_recorded(cast, authority, office):
    seal = check_create_seal(cast.sunhao, agency=office)
    url = f"/documents/seals/{seal.pk}/revoke"
    admin = login(cast.sunhao, otp=True)

    for reason in ("", "   "):
        refused = admin.post(url, {"reason": reason})
        assert refused.status_code == 400 and field_errors(refused, "reason") == "!注销印章须填写原因"
    seal.refresh_from_db()
    assert seal.revoked_at is None and seal.is_active
    assert not AuditEntry.objects.filter(action="seal.revoke").exists()

    done = admin.post(url, {"reason": "机关印章图案变更"})
    assert done.status_code == 302 and done["Location"] == f"/documents/seals/{seal.pk}/"
    seal.refresh_from_db()
    assert seal.revoked_at is not None and not seal.is_active and seal.revoked_reason == "机关印章图案变更"
    entry = AuditEntry.objects.get(action="seal.revoke")
    assert entry.actor == cast.sunhao and entry.object_id == str(seal.pk)
    assert entry.changes == {"es_id": seal.es_id, "reason": "机关印章图案变更"}

    detail = text(admin.get(done["Location"]))
    assert "已注销印章" in detail and 'data-status="revoked"' in detail and "机关印章图案变更" in detail
    assert 'for="id_reason"' not in detail  # no second 注销
    assert "已注销" in text(admin.get(LIST))
    twice = admin.post(url, {"reason": "再次注销"})
    assert twice.status_code == 409 and AuditEntry.objects.filter(action="seal.revoke").count() == 1


# ---- who may ---------------------------------------------------------------------------------------------------

def test_a_drafter_is_refused_and_an_outsider_sees_nothing(cast, authority, office):
    seal = check_create_seal(cast.sunhao, agency=office)
    drafter = login(cast.zhangwei, otp=False)
    listing = text(drafter.get(LIST))
    assert seal.name in listing and "新建印章" not in listing and f'href="{NEW}"' not in listing
    assert drafter.get(NEW).status_code == 403
    assert drafter.post(NEW, form_data(office)).status_code == 403
    assert drafter.post(INIT, {"name": "x", "organization": "y"}).status_code == 403
    detail = drafter.get(f"/documents/seals/{seal.pk}/")
    assert detail.status_code == 200 and seal.es_id in text(detail) and 'for="id_reason"' not in text(detail)
    assert drafter.post(f"/documents/seals/{seal.pk}/revoke", {"reason": "我想注销"}).status_code == 403

    outsider = login(cast.finance01, otp=True)  # 区财政局: the 区府办 seal is not his to see
    assert outsider.get(f"/documents/seals/{seal.pk}/").status_code == 404
    assert outsider.post(f"/documents/seals/{seal.pk}/revoke", {"reason": "x"}).status_code == 404
    assert outsider.get(f"/documents/seals/{seal.pk}/certificate.pem").status_code == 404

    seal.refresh_from_db()
    assert seal.revoked_at is None and Seal.objects.count() == 1
    assert not AuditEntry.objects.filter(action="seal.revoke").exists()
    assert AuditEntry.objects.filter(action="seal.create").count() == 1 and SealAuthority.objects.count() == 1


def test_writes_need_a_verified_session(cast, authority, office):
    seal = check_create_seal(cast.sunhao, agency=office)
    # the 系统管理员 role needs 2FA: the security gate sends an unverified session to the OTP page first
    gated = login(cast.sunhao, otp=False).post(NEW, form_data(office))
    assert gated.status_code == 302 and "/otp/" in gated["Location"]
    # a superuser without that role is gated too (the Django admin's emergency account needs 2FA, docs/security.md)
    root = Person.objects.create_user(username="rootadmin", password="Jiedong@2026-root", is_superuser=True,
                                      name="超级管理员")
    browser = login(root, otp=False)
    for response in (browser.get(NEW), browser.post(NEW, form_data(office)),
                     browser.post(f"/documents/seals/{seal.pk}/revoke", {"reason": "测试"})):
        assert response.status_code == 302 and "/otp/" in response["Location"]
    seal.refresh_from_db()
    assert seal.revoked_at is None and Seal.objects.count() == 1
    assert not AuditEntry.objects.filter(action__in=["seal.revoke"]).exists()
    assert AuditEntry.objects.filter(action="seal.create").count() == 1


# ---- demo ------------------------------------------------------------------------------------------------------

def test_load_demo_with_seals_is_idempotent(cast):
    assert not SealAuthority.objects.exists()  # the session's plain load_demo made none
    first, second = io.StringIO(), io.StringIO()
    call_command("load_demo", "--with-seals", stdout=first)
    call_command("load_demo", "--with-seals", stdout=second)
    assert "已初始化制章者，新制作公章 2 枚" in first.getvalue()
    assert "制章者已存在，新制作公章 0 枚" in second.getvalue()
    assert SealAuthority.objects.count() == 1 and SealAuthority.objects.get().is_active
    seals = list(Seal.objects.order_by("agency__sort_order"))
    assert [(s.agency.doc_code, s.kind, s.name) for s in seals] == [
        ("揭东府办", "official", OFFICE), ("揭东财", "official", FINANCE)]
    assert all(s.created_by == cast.sunhao and s.is_active and s.revoked_at is None for s in seals)
    assert AuditEntry.objects.filter(action="seal.authority_init").count() == 1
    assert AuditEntry.objects.filter(action="seal.create").count() == 2
    # the 区府办 seal keeper holds the new 区府办 公章 (the finance one is not his)
    assert list(seals_usable_by(cast.zhoumin)) == [seals[0]]
