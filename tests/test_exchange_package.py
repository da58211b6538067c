"""The exchange package (integrations/exchange/package.py): build → read, tampering, keys, ZIP abuse."""

from __future__ import annotations

import base64
import datetime
import hashlib
import io
import json
import uuid
import zipfile
from zoneinfo import ZoneInfo

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from gmssl import func, sm3

from integrations.exchange.package import (
    CORE_ELEMENTS,
    PackageError,
    build_package,
    canonical,
    key_id,
    read_package,
)
from oa.uscc import make_uscc

SENDER = make_uscc("11445203MB2C33333")
OTHER_AGENCY = make_uscc("11445203MB2C44444")
RECIPIENTS = [make_uscc("11445203MB2C11111"), make_uscc("11445203MB2C22222")]
PDF = b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"
SES = [b"\x30\x82\x01\x00" + b"ses-one" * 30, b"\x30\x82\x02\x00" + b"ses-two" * 30]
ATTACHMENTS = [("附件1 预算表.xlsx", b"PK\x03\x04 spreadsheet" * 50), ("../../etc/passwd", b"not a path")]
PACKAGE_ID = uuid.UUID("0b7c2d1e-4f5a-4b6c-8d9e-0f1a2b3c4d5e")
CREATED = datetime.datetime(2026, 3, 5, 9, 30, 12, tzinfo=ZoneInfo("Asia/Shanghai"))
MAX = 10 * 1024 * 1024

METADATA = {
    "公文标识": "5f0c8a52-1c5e-4d8e-9a42-6f0b9d7c1a33",
    "文种": "通知",
    "份号": "000123",
    "密级和保密期限": {"密级": "", "保密期限": ""},
    "紧急程度": "加急",
    "发文机关标志": "揭阳市揭东区人民政府办公室文件",
    "发文字号": "揭东府办〔2026〕7号",
    "签发人": ["黄建华"],
    "标题": "关于做好2026年度财政预算执行工作的通知",
    "主送机关": "各镇人民政府，区直各单位",
    "附件说明": "1. 预算表",
    "发文机关或签发人署名": "揭阳市揭东区人民政府办公室",
    "成文日期": "2026-03-04",
    "附注": "",
    "抄送机关": "区委办",
    "印发机关": "揭阳市揭东区人民政府办公室",
    "印发日期": "2026-03-05",
    "发布层次": "主动公开",
}


@pytest.fixture(scope="module")
def key():
    return Ed25519PrivateKey.generate()


def build(key, **over) -> bytes:
    args = dict(metadata=METADATA, pdf=PDF, ses_signatures=SES, attachments=ATTACHMENTS, sender_uscc=SENDER,
                recipients=RECIPIENTS, signing_key=key, package_id=PACKAGE_ID, created_at=CREATED)
    args.update(over)
    return build_package(**args)


def trusted(key, uscc=SENDER):
    return {key_id(key.public_key()): (uscc, key.public_key())}


def members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


def rezip(content: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in content.items():
            zf.writestr(name, data)
    return buf.getvalue()


def refused(data: bytes, keys, max_bytes: int = MAX) -> str:
    with pytest.raises(PackageError) as exc:
        read_package(data, max_bytes=max_bytes, trusted_keys=keys)
    assert exc.value.message  # a Chinese sentence for people, not just a code
    return exc.value.code


def test_round_trip_and_determinism(key):
    data = build(key)
    assert build(key) == data  # same inputs → identical bytes

    pkg = read_package(data, max_bytes=MAX, trusted_keys=trusted(key))
    assert pkg.metadata == METADATA
    assert pkg.pdf == PDF
    assert pkg.ses_signatures == SES
    assert pkg.attachments == ATTACHMENTS  # original names come back, bytes identical
    assert pkg.package_id == PACKAGE_ID
    assert pkg.sender_uscc == SENDER and pkg.recipients == RECIPIENTS
    assert pkg.created_at == CREATED and pkg.created_at.utcoffset() == datetime.timedelta(hours=8)
    assert pkg.key_id == key_id(key.public_key())

    content = members(data)
    assert list(content) == [
        "metadata.json", "metadata.xml", "document.pdf", "ses/1.der", "ses/2.der",
        "attachments/1-附件1_预算表.xlsx", "attachments/2-passwd", "envelope.json", "manifest.json", "signature.json",
    ]
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert {i.date_time for i in zf.infolist()} == {(2026, 3, 5, 9, 30, 12)}
    envelope = json.loads(content["envelope.json"])
    assert envelope["package_id"] == str(PACKAGE_ID)
    assert envelope["created_at"] == "2026-03-05T09:30:12+08:00"
    assert envelope["sender_uscc"] == SENDER and envelope["recipients"] == RECIPIENTS
    assert envelope["format"] == "oa-exchange/1"
    assert '格式="oa-exchange/1"' in content["metadata.xml"].decode()
    assert json.loads(content["metadata.json"]) == METADATA
    xml = content["metadata.xml"].decode("utf-8")
    for name in CORE_ELEMENTS:
        assert f"<{name}" in xml
    assert "<发文字号>揭东府办〔2026〕7号</发文字号>" in xml
    assert len(CORE_ELEMENTS) == 18

    # A different package id or time changes the bytes (and only those inputs were varied).
    assert build(key, package_id=uuid.UUID(int=1)) != data


def test_manifest_hashes_checked_independently(key):
    content = members(build(key))
    manifest = json.loads(content["manifest.json"])
    listed = {e["path"]: e for e in manifest["members"]}
    assert set(listed) == set(content) - {"manifest.json", "signature.json"}
    for path, entry in listed.items():
        body = content[path]
        assert entry["size"] == len(body)
        assert entry["sha256"] == hashlib.sha256(body).hexdigest()
        assert entry["sm3"] == sm3.sm3_hash(func.bytes_to_list(body))
    # The signature is Ed25519 over the exact manifest bytes, keyed by the SPKI fingerprint.
    sig = json.loads(content["signature.json"])
    assert sig["algorithm"] == "Ed25519" and sig["signed"] == "manifest.json"
    key.public_key().verify(base64.b64decode(sig["signature"]), content["manifest.json"])
    from cryptography.hazmat.primitives import serialization
    spki = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert sig["key_id"] == hashlib.sha256(spki).hexdigest()


def test_flipped_pdf_byte_is_tampered(key):
    content = members(build(key))
    pdf = bytearray(content["document.pdf"])
    pdf[100] ^= 0x01
    content["document.pdf"] = bytes(pdf)
    assert refused(rezip(content), trusted(key)) == "package_tampered"


def test_extra_member_is_tampered(key):
    content = members(build(key))
    content["attachments/3-evil.exe"] = b"MZ payload"
    assert refused(rezip(content), trusted(key)) == "package_tampered"


def test_member_in_signed_manifest_but_not_in_envelope_is_tampered(key):
    # Even the key holder cannot smuggle a member the envelope does not account for.
    content = members(build(key))
    manifest = json.loads(content["manifest.json"])
    extra = b"hidden"
    manifest["members"].append({"path": "hidden.bin", "size": len(extra), "sha256": hashlib.sha256(extra).hexdigest(),
                                "sm3": sm3.sm3_hash(func.bytes_to_list(extra))})
    content["hidden.bin"] = extra
    content["manifest.json"] = canonical(manifest)
    sig = json.loads(content["signature.json"])
    sig["signature"] = base64.b64encode(key.sign(content["manifest.json"])).decode()
    content["signature.json"] = canonical(sig)
    assert refused(rezip(content), trusted(key)) == "package_tampered"


def test_signed_by_another_key(key):
    other = Ed25519PrivateKey.generate()
    data = build(other)
    # The other key is not trusted at all.
    assert refused(data, trusted(key)) == "unknown_sender_key"
    # Forged key id: claims the trusted key, but the signature is the other key's.
    content = members(data)
    sig = json.loads(content["signature.json"])
    sig["key_id"] = key_id(key.public_key())
    content["signature.json"] = canonical(sig)
    assert refused(rezip(content), trusted(key)) == "bad_signature"


def test_manifest_rewritten_after_tampering_breaks_signature(key):
    content = members(build(key))
    content["document.pdf"] = b"%PDF-1.7 forged"
    manifest = json.loads(content["manifest.json"])
    for e in manifest["members"]:
        if e["path"] == "document.pdf":
            body = content["document.pdf"]
            e.update(size=len(body), sha256=hashlib.sha256(body).hexdigest(), sm3=sm3.sm3_hash(func.bytes_to_list(body)))
    content["manifest.json"] = canonical(manifest)
    assert refused(rezip(content), trusted(key)) == "bad_signature"


def test_sender_must_own_the_key(key):
    assert refused(build(key), trusted(key, uscc=OTHER_AGENCY)) == "sender_mismatch"


def test_oversize(key):
    data = build(key)
    assert refused(data, trusted(key), max_bytes=len(data) - 1) == "package_too_large"
    read_package(data, max_bytes=len(data), trusted_keys=trusted(key))  # exactly at the limit is fine


def test_zip_bomb(key):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("document.pdf", b"\0" * (20 * 1024 * 1024))
    assert refused(buf.getvalue(), trusted(key)) == "zip_ratio"


def test_garbage_and_missing_members_are_malformed(key):
    assert refused(b"this is not a zip file at all" * 10, trusted(key)) == "package_malformed"
    content = members(build(key))
    del content["envelope.json"]
    assert refused(rezip(content), trusted(key)) == "package_malformed"


def test_bad_inputs_refused_at_build(key):
    with pytest.raises(PackageError) as exc:
        build(key, sender_uscc=SENDER[:-1] + ("0" if SENDER[-1] != "0" else "1"))
    assert exc.value.code == "invalid_sender_uscc"
    with pytest.raises(PackageError) as exc:
        build(key, metadata={k: v for k, v in METADATA.items() if k != "发布层次"})
    assert exc.value.code == "metadata_invalid" and "发布层次" in exc.value.message


@pytest.mark.django_db
def test_archive_core_metadata_of_a_real_document_travels_unchanged(cast, key):
    # The metadata the archive builds for a real 公文 (documents.selectors.archive.document_metadata) is what
    # build_package accepts: same 18 names, and it reads back equal.
    from django.utils import timezone

    from documents.models import DocType
    from documents.selectors.archive import document_metadata
    from oa.models import Agency
    from tests.test_search import make_document

    doc = make_document(cast.zhangwei, title="关于报送2026年度工作要点的通知", department="秘书科",
                        doc_type=DocType.NOTICE, written_date="2026-04-03", main_recipients="各镇人民政府", cc="区委办")
    core = document_metadata(doc, bodies=[], finals={}, attachments=[], seal_paths=[], archived_by=cast.liuyang,
                             retention="permanent", at=timezone.now())["核心元数据"]
    assert tuple(core) == CORE_ELEMENTS
    sender = Agency.objects.get(pk=doc.agency_id).uscc
    data = build(key, metadata=core, sender_uscc=sender)
    pkg = read_package(data, max_bytes=MAX, trusted_keys=trusted(key, uscc=sender))
    assert pkg.metadata == json.loads(json.dumps(core, ensure_ascii=False))
    assert pkg.metadata["标题"] == "关于报送2026年度工作要点的通知" and pkg.metadata["公文标识"] == str(doc.identifier)
    assert pkg.sender_uscc == sender


def test_naive_created_at_is_refused(key):
    with pytest.raises(PackageError) as exc:
        build(key, created_at=datetime.datetime(2026, 3, 5, 9, 30))
    assert exc.value.code == "invalid_created_at"
