"""The inter-agency exchange package (交换包): build and verify, no database, no I/O.

A ZIP holding the GB/T 33480 core metadata (JSON and XML), the stamped PDF, the SES signatures, the attachments,
an envelope (package id, sender, recipients), a manifest with SHA-256 and SM3 of every member, and a detached
Ed25519 signature over the manifest by the sending agency's exchange key. Format: docs/exchange.md「交换包格式」.
"""

from __future__ import annotations

import base64
import datetime
import io
import json
import math
import re
import uuid
import zipfile
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.core.exceptions import ValidationError

# Shared with the archive on purpose: an exchanged and an archived document carry the same metadata serialisation.
from documents.selectors.archive import (
    canonical_json,
    is_xml_name,
    metadata_xml,
    sha256_hex,
    shown_name,
    sm3_hex,
)
from documents.uploads import ZIP_MAX_EXPANDED_BYTES, check_zip_safety, read_member
from oa import jsonsafe
from oa.refusals import Refusal
from oa.uscc import validate_uscc

FORMAT_VERSION = "oa-exchange/1"
SIGNATURE_ALGORITHM = "Ed25519"
BEIJING = ZoneInfo("Asia/Shanghai")

METADATA_JSON = "metadata.json"
METADATA_XML = "metadata.xml"
DOCUMENT_PDF = "document.pdf"
ENVELOPE = "envelope.json"
MANIFEST = "manifest.json"
SIGNATURE = "signature.json"
# Members every package has; the manifest and the signature are not listed in the manifest (they cover it).
REQUIRED = (METADATA_JSON, METADATA_XML, DOCUMENT_PDF, ENVELOPE, MANIFEST, SIGNATURE)

# GB/T 33480 core metadata, in the order documents.selectors.archive.document_metadata builds 「核心元数据」.
CORE_ELEMENTS = (
    "公文标识", "文种", "份号", "密级和保密期限", "紧急程度", "发文机关标志", "发文字号", "签发人", "标题",
    "主送机关", "附件说明", "发文机关或签发人署名", "成文日期", "附注", "抄送机关", "印发机关", "印发日期", "发布层次",
)
METADATA_MAX_DEPTH = 8  # the standard's metadata is 2 deep (密级和保密期限 → 密级)


class PackageError(Refusal):
    """A refused package: ``code`` is stable for the API and the quarantine log, ``message`` is for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message, 400)


@dataclass(frozen=True)
class Package:
    package_id: uuid.UUID
    sender_uscc: str
    recipients: list[str]
    created_at: datetime.datetime
    format_version: str
    key_id: str
    metadata: dict[str, Any]
    pdf: bytes
    ses_signatures: list[bytes] = field(default_factory=list)
    attachments: list[tuple[str, bytes]] = field(default_factory=list)


# ---- shared helpers --------------------------------------------------------------------------------------


def key_id(public_key: Ed25519PublicKey) -> str:
    """SHA-256 (hex) of the DER SubjectPublicKeyInfo: the id peers exchange out of band."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return sha256_hex(der)


def canonical(obj: Any) -> bytes:
    """The one byte form of a JSON object we sign: sorted keys, no spaces, UTF-8."""
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def safe_name(name: str) -> str:
    """The last path component with anything but letters (incl. CJK), digits, '.', '-', '_' replaced."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = re.sub(r"[^\w.\-]", "_", base).lstrip(".")[:100]
    return base or "file"


def check_metadata(metadata: dict[str, Any]) -> None:
    """Refuse (``metadata_invalid``) metadata that cannot become metadata.xml or be stored: a key that is not an XML
    name, text with U+0000 or a lone surrogate, a number that is not finite, nesting deeper than METADATA_MAX_DEPTH.
    Keys the standard does not name are kept when they are valid names. Walked with a stack: no recursion."""
    stack: list[tuple[Any, int]] = [(metadata, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list | tuple):
            if depth > METADATA_MAX_DEPTH:
                raise PackageError("metadata_invalid", f"核心元数据嵌套超过 {METADATA_MAX_DEPTH} 层")
            if isinstance(value, dict):
                for name, child in value.items():
                    if not is_xml_name(name):
                        raise PackageError("metadata_invalid", f"核心元数据的名称“{shown_name(name)}”不是有效的 XML "
                                                               "元素名（须为字母或下划线开头的 XML 名称，不含冒号、空格、标点）")
                    stack.append((child, depth + 1))
            else:
                stack.extend((child, depth + 1) for child in value)
        elif isinstance(value, str):
            problem = jsonsafe.text_problem(value)
            if problem:
                raise PackageError("metadata_invalid", f"核心元数据的文本{problem}")
        elif isinstance(value, float) and not math.isfinite(value):
            raise PackageError("metadata_invalid", "核心元数据含有非有限数值（NaN 或无穷大）")


def _core(metadata: dict[str, Any]) -> dict[str, Any]:
    """The metadata as it reads back from metadata.json (nested keys sorted), top level in the standard's order:
    the form metadata.xml is serialised from, so JSON and XML can be compared byte for byte."""
    loaded = json.loads(canonical_json(metadata))
    return {k: loaded[k] for k in CORE_ELEMENTS}


def _valid_uscc(value: str) -> bool:
    try:
        validate_uscc(value)
    except ValidationError:
        return False
    return isinstance(value, str) and value == value.strip()


# ---- building --------------------------------------------------------------------------------------------


def build_package(*, metadata: dict[str, Any], pdf: bytes, ses_signatures: list[bytes],
                  attachments: list[tuple[str, bytes]], sender_uscc: str, recipients: list[str],
                  signing_key: Ed25519PrivateKey, package_id: uuid.UUID | None = None,
                  created_at: datetime.datetime | None = None) -> bytes:
    """The signed ZIP. Same inputs (incl. package_id and created_at) give identical bytes."""
    if set(metadata) != set(CORE_ELEMENTS):
        missing = [k for k in CORE_ELEMENTS if k not in metadata]
        extra = sorted(set(metadata) - set(CORE_ELEMENTS))
        raise PackageError("metadata_invalid", f"核心元数据应恰为18项，缺少：{'、'.join(missing) or '无'}；多出：{'、'.join(extra) or '无'}")
    check_metadata(metadata)  # before canonical_json/metadata_xml, which would crash on what it refuses
    if not _valid_uscc(sender_uscc):
        raise PackageError("invalid_sender_uscc", f"发送机关统一社会信用代码“{sender_uscc}”无效")
    if not recipients:
        raise PackageError("no_recipients", "交换包至少需要一个接收机关")
    for r in recipients:
        if not _valid_uscc(r):
            raise PackageError("invalid_recipient_uscc", f"接收机关统一社会信用代码“{r}”无效")
    if not isinstance(signing_key, Ed25519PrivateKey):
        raise PackageError("unsupported_key", "交换密钥须为 Ed25519 私钥")
    if created_at is not None and created_at.utcoffset() is None:
        raise PackageError("invalid_created_at", "交换包生成时间必须带时区")
    package_id = package_id or uuid.uuid4()
    created = (created_at or datetime.datetime.now(datetime.UTC)).astimezone(BEIJING)
    if created.year < 1980:
        raise PackageError("invalid_created_at", "交换包生成时间不能早于1980年")

    ses_paths = [f"ses/{i}.der" for i in range(1, len(ses_signatures) + 1)]
    att_paths = [f"attachments/{i}-{safe_name(name)}" for i, (name, _) in enumerate(attachments, start=1)]
    envelope = {
        "format": FORMAT_VERSION,
        "package_id": str(package_id),
        "sender_uscc": sender_uscc,
        "recipients": list(recipients),
        "created_at": created.isoformat(),
        "ses": ses_paths,
        # Original names travel here: member paths never carry raw user text.
        "attachments": [{"path": p, "name": name} for p, (name, _) in zip(att_paths, attachments, strict=True)],
    }
    members: list[tuple[str, bytes]] = [
        (METADATA_JSON, canonical_json(metadata)),
        (METADATA_XML, metadata_xml({"核心元数据": _core(metadata)}, package_format=FORMAT_VERSION)),
        (DOCUMENT_PDF, bytes(pdf)),
        *zip(ses_paths, (bytes(s) for s in ses_signatures), strict=True),
        *zip(att_paths, (bytes(data) for _, data in attachments), strict=True),
        (ENVELOPE, canonical(envelope)),
    ]
    manifest = canonical({
        "format": FORMAT_VERSION,
        "members": [{"path": p, "size": len(d), "sha256": sha256_hex(d), "sm3": sm3_hex(d)} for p, d in members],
    })
    public = signing_key.public_key()
    signature = canonical({
        "algorithm": SIGNATURE_ALGORITHM,
        "key_id": key_id(public),
        "signed": MANIFEST,
        "signature": base64.b64encode(signing_key.sign(manifest)).decode("ascii"),
    })
    members += [(MANIFEST, manifest), (SIGNATURE, signature)]

    buf = io.BytesIO()
    stamp = created.timetuple()[:6]
    with zipfile.ZipFile(buf, "w") as zf:
        for path, data in members:
            info = zipfile.ZipInfo(path, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 3  # fixed, whatever OS builds it: part of the deterministic bytes
            zf.writestr(info, data)
    return buf.getvalue()


# ---- reading ---------------------------------------------------------------------------------------------


def _malformed(what: str) -> PackageError:
    return PackageError("package_malformed", f"交换包格式错误：{what}")


def _load(data: bytes, what: str) -> Any:
    try:
        return jsonsafe.loads(data)
    except jsonsafe.JsonRefused as refused:
        raise _malformed(f"{what} 有误：{refused.message}") from None


def read_package(data: bytes, *, max_bytes: int,
                 trusted_keys: dict[str, tuple[str, Ed25519PublicKey]]) -> Package:
    """Verify ``data`` (size, ZIP safety, members, hashes, key, signature, sender) and return its content.

    ``trusted_keys`` maps key id → (统一社会信用代码 of the key's owner, public key).
    """
    if len(data) > max_bytes:
        raise PackageError("package_too_large", f"交换包大小 {len(data)} 字节，超过上限 {max_bytes} 字节")
    try:
        archive = check_zip_safety(data)
    except Refusal as exc:
        if exc.code == "bad_zip":
            raise _malformed("不是有效的 ZIP 文件") from None
        raise PackageError(exc.code, exc.message) from None  # zip_too_many_members / zip_too_large / zip_ratio

    names = [i.filename for i in archive.infolist()]
    if len(names) != len(set(names)):
        raise PackageError("package_tampered", "交换包内存在重名条目，已拒绝")
    for name in REQUIRED:
        if name not in names:
            raise _malformed(f"缺少 {name}")

    def member(name: str) -> bytes:
        try:
            return read_member(archive, name, limit=min(max_bytes * 100, ZIP_MAX_EXPANDED_BYTES))
        except Refusal as exc:
            if exc.code == "zip_too_large":
                raise PackageError(exc.code, exc.message) from None
            raise _malformed(f"无法读取 {name}") from None

    manifest_bytes = member(MANIFEST)
    manifest = _load(manifest_bytes, MANIFEST)
    entries = manifest.get("members") if isinstance(manifest, dict) else None
    if (manifest.get("format") != FORMAT_VERSION or not isinstance(entries, list) or not all(
            isinstance(e, dict) and isinstance(e.get("path"), str) for e in entries)):
        raise _malformed("清单（manifest.json）结构不符合 " + FORMAT_VERSION)
    if canonical(manifest) != manifest_bytes:
        raise _malformed("清单不是规范化 JSON")
    listed = [e["path"] for e in entries]
    if len(listed) != len(set(listed)) or {MANIFEST, SIGNATURE} & set(listed):
        raise _malformed("清单条目重复或列出了清单、签名本身")
    for path in listed:
        if path not in names:
            raise _malformed(f"缺少清单所列的 {path}")
    for name in names:
        if name not in listed and name not in (MANIFEST, SIGNATURE):
            raise PackageError("package_tampered", f"交换包含清单未列出的条目 {name}，已拒绝")
    contents: dict[str, bytes] = {}
    for e in entries:
        body = member(e["path"])
        if e.get("size") != len(body) or e.get("sha256") != sha256_hex(body) or e.get("sm3") != sm3_hex(body):
            raise PackageError("package_tampered", f"交换包条目 {e['path']} 的大小或摘要与清单不符，已被篡改")
        contents[e["path"]] = body
    for name in REQUIRED[:4]:
        if name not in contents:
            raise _malformed(f"清单未列出 {name}")

    sig = _load(member(SIGNATURE), SIGNATURE)
    if not isinstance(sig, dict) or sig.get("algorithm") != SIGNATURE_ALGORITHM or sig.get("signed") != MANIFEST:
        raise _malformed(f"签名（signature.json）须为对 {MANIFEST} 的 {SIGNATURE_ALGORITHM} 签名")
    kid = sig.get("key_id")
    if not isinstance(kid, str) or kid not in trusted_keys:
        raise PackageError("unknown_sender_key", f"交换包签名密钥“{kid}”不在信任列表中")
    owner_uscc, public_key = trusted_keys[kid]
    try:
        raw = base64.b64decode(sig.get("signature") or "", validate=True)
        public_key.verify(raw, manifest_bytes)
    except (InvalidSignature, ValueError, TypeError):
        raise PackageError("bad_signature", "交换包签名验证失败：清单不是由该密钥签署的") from None

    envelope = _load(contents[ENVELOPE], ENVELOPE)
    try:
        package_id = uuid.UUID(envelope["package_id"])
        created = datetime.datetime.fromisoformat(envelope["created_at"])
        sender, recipients = envelope["sender_uscc"], envelope["recipients"]
        ses_paths = envelope["ses"]
        att = [(a["path"], a["name"]) for a in envelope["attachments"]]
        version = envelope["format"]
    except (KeyError, TypeError, ValueError, AttributeError):
        raise _malformed("信封（envelope.json）字段缺失或无效") from None
    if version != FORMAT_VERSION or created.utcoffset() is None:
        raise _malformed("信封格式版本或时间无效")
    if not _valid_uscc(sender) or not isinstance(recipients, list) or not all(_valid_uscc(r) for r in recipients):
        raise _malformed("信封中的统一社会信用代码无效")
    if sender != owner_uscc:
        raise PackageError("sender_mismatch", f"信封所列发送机关“{sender}”与签名密钥所属机关“{owner_uscc}”不一致")
    referenced = [*ses_paths, *(p for p, _ in att)]
    if any(p not in contents for p in referenced):
        raise _malformed("信封引用了清单中不存在的条目")
    expected = set(REQUIRED[:4]) | set(referenced)
    if set(contents) != expected:
        raise PackageError("package_tampered", "交换包含信封未登记的条目，已拒绝")

    metadata = _load(contents[METADATA_JSON], METADATA_JSON)
    if not isinstance(metadata, dict) or set(metadata) != set(CORE_ELEMENTS):
        raise _malformed("核心元数据应恰为 GB/T 33480 的18项")
    check_metadata(metadata)
    # The XML must be exactly what the JSON serialises to: a signer could otherwise ship two different stories,
    # and comparing bytes means we never parse untrusted XML.
    metadata = _core(metadata)
    if contents[METADATA_XML] != metadata_xml({"核心元数据": metadata}, package_format=FORMAT_VERSION):
        raise _malformed("metadata.xml 与 metadata.json 不一致")

    return Package(
        package_id=package_id, sender_uscc=sender, recipients=list(recipients), created_at=created,
        format_version=version, key_id=kid, metadata=metadata, pdf=contents[DOCUMENT_PDF],
        ses_signatures=[contents[p] for p in ses_paths], attachments=[(name, contents[p]) for p, name in att],
    )
