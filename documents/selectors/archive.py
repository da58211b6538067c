"""归档 reads: who may archive, what goes into a package (built deterministically), and its verification.

A package is a ZIP whose members are written in a fixed order with fixed timestamps (the archive time), so
the same document archived at the same moment gives the same bytes. ``manifest.json`` (the first member)
lists every other member with its size, SHA-256 and SM3; ``verify_archive_package`` recomputes them, and the
audit excerpt's chain hashes, from nothing but the package bytes. Layout and formats: docs/archive.md.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import io
import json
import re
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any
from xml.etree import ElementTree

from cryptography.hazmat.primitives import hashes
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from documents.models import ArchivePackage, Attachment, BodyVersion, OfficialDocument
from documents.selectors.documents import access_document_by_id
from oa.hashing import digest
from oa.models import Agency, AuditChainHead, AuditEntry, Person, Role, RoleAssignment
from oa.refusals import Refusal
from oa.selectors.audit import canonical_payload

PACKAGE_FORMAT = "oa-archive/1"
MANIFEST = "manifest.json"

# 归档 needs a finished document: sealed, sent or received. A document that is not sealed at all (纪要, or
# any document whose seal_required is off) is finished once it is typeset.
ARCHIVABLE_STATUSES = frozenset(
    {OfficialDocument.Status.SEALED, OfficialDocument.Status.DISTRIBUTED, OfficialDocument.Status.RECEIVED}
)
UNSEALED_ARCHIVABLE_STATUSES = frozenset({OfficialDocument.Status.TYPESET})


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sm3_hex(data: bytes) -> str:
    # OpenSSL's SM3 through cryptography: the pure-Python gmssl one needs seconds per megabyte.
    h = hashes.Hash(hashes.SM3())
    h.update(data)
    return h.finalize().hex()


# ---- who may archive -------------------------------------------------------------------------------------


def is_agency_clerk(person: Person, agency_id: int) -> bool:
    """办公室/文书 of the agency: the one office that 归档 (and exports) its documents."""
    return (
        person.is_authenticated
        and person.is_active
        and RoleAssignment.objects.filter(person=person, role=Role.CLERK, agency_id=agency_id).exists()
    )


def is_archivable_status(document: OfficialDocument) -> bool:
    if document.status in ARCHIVABLE_STATUSES:
        return True
    return document.status in UNSEALED_ARCHIVABLE_STATUSES and not document.seal_required


def archive_refusal(person: Person, document: OfficialDocument) -> Refusal | None:
    """Why ``person`` may not archive ``document`` now, or None. The action raises it; pages show it."""
    if document.status == OfficialDocument.Status.ARCHIVED or ArchivePackage.objects.filter(document=document).exists():
        day = timezone.localtime(document.archived_at) if document.archived_at else None
        when = f"{day.year}年{day.month}月{day.day}日" if day else ""
        return Refusal("already_archived", f"该公文已于{when}归档，不能重复归档", status=409)
    if not is_agency_clerk(person, document.agency_id):
        return Refusal("not_clerk", "只有本机关的办公室（文书）人员可以归档公文", status=403)
    if not is_archivable_status(document):
        return Refusal(
            "not_final",
            f"公文当前状态为“{document.get_status_display()}”，尚未办结，不能归档。"
            "已用印、已分发或已收文的公文可以归档；不加盖印章的公文（如纪要）排版后即可归档",
            status=409,
        )
    return None


def access_archive_package(user: Person, document_id: int) -> ArchivePackage:
    """The package of a document ``user`` may see, for its agency's clerks only.

    404 when the document is invisible or not archived (nothing to leak); 403 for a visible document whose
    package the user may not take away.
    """
    document = access_document_by_id(user, document_id)
    package = ArchivePackage.objects.filter(document=document).select_related("document", "created_by").first()
    if package is None:
        raise Http404("该公文尚未归档")
    if not is_agency_clerk(user, document.agency_id):
        raise Refusal("not_clerk", "只有本机关的办公室（文书）人员可以下载归档包", status=403)
    return package


def archived_packages(*, agency: Agency | None = None, year: int | None = None,
                      agency_ids: Iterable[int] | None = None) -> QuerySet[ArchivePackage]:
    """Packages by 主办机关 and 年度 (the year of the 成文日期, else of creation — as in search)."""
    from documents.selectors.search import document_year_filter

    qs = ArchivePackage.objects.select_related("document", "document__agency", "created_by")
    if agency is not None:
        qs = qs.filter(document__agency=agency)
    if agency_ids is not None:
        qs = qs.filter(document__agency_id__in=list(agency_ids))
    if year is not None:
        year_q = document_year_filter(year)
        qs = qs.filter(document__in=OfficialDocument.objects.filter(year_q).values("pk"))
    return qs.order_by("document__written_date", "document__created_at", "document_id")


def packages_visible_to(user: Person, *, agency_id: int | None = None, year: int | None = None) -> QuerySet[ArchivePackage]:
    """The archive list of a clerk: packages of the agencies where ``user`` is 文书."""
    ids = set(RoleAssignment.objects.filter(person=user, role=Role.CLERK).values_list("agency_id", flat=True))
    if agency_id is not None:
        ids &= {agency_id}
    return archived_packages(agency_ids=ids, year=year)


# ---- building a package ----------------------------------------------------------------------------------


def canonical_json(obj: Any) -> bytes:
    return json.dumps(obj, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8")


def _iso(value: datetime.datetime | datetime.date | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).isoformat()
    return value.isoformat()


def _person(person: Person | None) -> dict[str, Any] | None:
    if person is None:
        return None
    return {"id": person.pk, "username": person.get_username(), "name": person.get_full_name()}


def _suffix(name: str) -> str:
    """A safe ASCII extension from an uploaded name ("" when it has none): member paths never carry user text."""
    suffix = PurePosixPath(name or "").suffix.lower()
    return suffix if re.fullmatch(r"\.[a-z0-9]{1,10}", suffix) else ""


def _read(file, what: str) -> bytes:
    try:
        with file.open("rb") as fh:
            return fh.read()
    except (FileNotFoundError, OSError) as exc:
        raise Refusal("file_missing", f"{what}在存储中缺失或无法读取，不能归档", status=409) from exc


class _Package:
    """Members collected in memory, then written in path order behind the manifest."""

    def __init__(self) -> None:
        self.members: dict[str, tuple[bytes, str]] = {}

    def add(self, path: str, data: bytes, description: str) -> str:
        if path in self.members or path == MANIFEST:
            raise ValueError(f"duplicate archive member {path}")
        self.members[path] = (data, description)
        return path


def _body_versions(pkg: _Package, document: OfficialDocument) -> list[dict[str, Any]]:
    numbers = dict(BodyVersion.objects.filter(document=document).values_list("pk", "number"))
    listed = []
    for v in BodyVersion.objects.filter(document=document).select_related("author").order_by("number"):
        record = {
            "number": v.number,
            "kind": v.kind,
            "kind_label": v.get_kind_display(),
            "author": _person(v.author),
            "created_at": _iso(v.created_at),
            "step": v.step,
            "sha256": v.sha256,
            "parent": numbers.get(v.parent_id),
            "marked_up_from": numbers.get(v.marked_up_from_id),
            "baseline": numbers.get(v.baseline_id),
            "is_current": v.pk == document.current_body_id,
            "content": v.content,
        }
        path = pkg.add(f"body/v{v.number:04d}.json", canonical_json(record), f"正文第{v.number}版（{v.get_kind_display()}）")
        listed.append({"number": v.number, "path": path, "kind": v.kind, "is_current": record["is_current"]})
    return listed


def _finals(pkg: _Package, document: OfficialDocument) -> dict[str, str]:
    out = {}
    for field_name, ext, label in (("final_pdf", ".pdf", "正式文件（PDF）"), ("final_docx", ".docx", "正式文件（DOCX）")):
        file = getattr(document, field_name)
        if file:
            out[field_name] = pkg.add(f"final/final{ext}", _read(file, label), label)
    return out


def _attachments(pkg: _Package, document: OfficialDocument) -> list[dict[str, Any]]:
    listed = []
    for att in document.attachments.select_related("uploaded_by").order_by("role", "position", "id"):
        data = _read(att.file, f"附件“{att.title or att.name}”")
        if att.sha256 and sha256_hex(data) != att.sha256:
            # Storage returned something else than was uploaded: archiving it would certify a forgery.
            raise Refusal(
                "attachment_corrupt", f"附件“{att.title or att.name}”的存储内容与上传时的摘要不一致，不能归档", status=409
            )
        path = pkg.add(
            f"attachments/{att.role}-{att.position:03d}-{att.pk}{_suffix(att.name)}", data,
            f"{att.get_role_display()}：{att.title or att.name}",
        )
        listed.append({
            "id": att.pk, "path": path, "role": att.role, "role_label": att.get_role_display(),
            "position": att.position, "name": att.name, "title": att.title, "content_type": att.content_type,
            "size": att.size, "sha256": att.sha256, "uploaded_by": _person(att.uploaded_by),
            "uploaded_at": _iso(att.uploaded_at), "text": att.text,
        })
    return listed


def _field_value(pkg: _Package, obj: Any, field: Any, prefix: str) -> Any:
    """One column of a seal use, whatever the seal model looks like: files and bytes become members."""
    from django.db import models

    value = getattr(obj, field.attname)
    if isinstance(field, models.FileField):
        file = getattr(obj, field.name)
        if not file:
            return None
        return {"path": pkg.add(f"{prefix}-{field.name}{_suffix(file.name) or '.bin'}",
                                _read(file, f"用印记录的{field.verbose_name}"), f"用印记录：{field.verbose_name}")}
    if isinstance(value, memoryview | bytes | bytearray):
        data = bytes(value)
        return {"path": pkg.add(f"{prefix}-{field.name}.der", data, f"用印记录：{field.verbose_name}")} if data else None
    if isinstance(value, datetime.datetime | datetime.date):
        return _iso(value)
    try:
        json.dumps(value, cls=DjangoJSONEncoder)
    except TypeError:
        return str(value)
    return value


def seal_uses_of(document: OfficialDocument) -> list[Any]:
    """``document.seal_uses`` rows (the 用印 model of documents.models.seals), or [] where it does not exist."""
    manager = getattr(document, "seal_uses", None)
    if manager is None or not hasattr(manager, "all"):
        return []
    return list(manager.all().order_by("pk"))


def _seal_uses(pkg: _Package, document: OfficialDocument) -> list[dict[str, Any]]:
    listed = []
    for use in seal_uses_of(document):
        prefix = f"seals/use-{use.pk}"
        record = {"id": use.pk, "label": str(use)}
        for f in use._meta.concrete_fields:
            if f.primary_key:
                continue
            record[f.name] = _field_value(pkg, use, f, prefix)
        listed.append(record)
    if listed:
        pkg.add("seals/seal_uses.json", canonical_json(listed), "用印记录（印章、签名、时间）")
    return listed


def audit_entries_of(document: OfficialDocument) -> QuerySet[AuditEntry]:
    """Audit entries about the document and about its parts (versions, files, numbers, seal uses)."""
    q = Q(object_type=OfficialDocument._meta.label_lower, object_id=str(document.pk))
    parts: list[tuple[str, Iterable[Any]]] = [
        (BodyVersion._meta.label_lower, document.body_versions.values_list("pk", flat=True)),
        (Attachment._meta.label_lower, document.attachments.values_list("pk", flat=True)),
        ("documents.docnumberentry", document.number_entries.values_list("pk", flat=True)),
    ]
    uses = seal_uses_of(document)
    if uses:
        parts.append((uses[0]._meta.label_lower, [u.pk for u in uses]))
    for object_type, ids in parts:
        ids = [str(i) for i in ids]
        if ids:
            q |= Q(object_type=object_type, object_id__in=ids)
    return AuditEntry.objects.filter(q).order_by("id")


def audit_excerpt(document: OfficialDocument) -> dict[str, Any]:
    entries = []
    for e in audit_entries_of(document):
        entries.append({
            "id": e.pk, "at": _iso(e.at), "actor_id": e.actor_id, "actor_name": e.actor_name,
            "on_behalf_of_name": e.on_behalf_of_name, "action": e.action, "object_type": e.object_type,
            "object_id": e.object_id, "object_repr": e.object_repr, "changes": e.changes, "ip": e.ip,
            "algorithm": e.algorithm, "chain": e.chain, "seq": e.seq, "layout": e.layout,
            "prev_hash": e.prev_hash, "hash": e.hash,
            # Exactly the bytes that were hashed: hash = H(prev_hash + payload), checkable without our database.
            "payload": canonical_payload(e).decode("utf-8"),
        })
    # Every chain's head when the package was made (the log is several chains: docs/security.md § 审计链).
    heads = {
        str(pk): {"last_seq": seq, "last_hash": h}
        for pk, seq, h in AuditChainHead.objects.order_by("id").values_list("pk", "last_seq", "last_hash")
    }
    return {
        "rule": "hash = digest(algorithm, prev_hash 的 UTF-8 字节 + payload 的 UTF-8 字节)；algorithm 为 sha256 或 sm3；"
                "每条记录位于链 chain 的第 seq 条，prev_hash 是同一条链上前一条的 hash",
        "chain_heads_at_archive": heads,
        "entries": entries,
    }


def _label(choices: Any, value: str) -> str:
    return dict(choices.choices).get(value, value)


def core_metadata(document: OfficialDocument) -> dict[str, Any]:
    """GB/T 33480 core metadata (§4.1–4.18) of ``document``: archived and exchanged alike."""
    from documents.models import Publicity, Secrecy, Urgency

    d = document
    secrecy = {"密级": _label(Secrecy, d.secrecy) if d.secrecy else "", "保密期限": d.secrecy_period}
    urgency = _label(Urgency, d.urgency) if d.urgency else ""
    signature = d.signature or ", ".join(d.signers or [])
    return {
        "公文标识": str(d.identifier),
        "文种": d.get_doc_type_display(),
        "份号": d.copy_number,
        "密级和保密期限": secrecy,
        "紧急程度": urgency,
        "发文机关标志": d.issuer_mark,
        "发文字号": d.doc_number,
        "签发人": d.signers,
        "标题": d.title,
        "主送机关": d.main_recipients,
        "附件说明": d.attachment_note,
        "发文机关或签发人署名": signature,
        "成文日期": _iso(d.written_date),
        "附注": d.notes,
        "抄送机关": d.cc,
        "印发机关": d.printing_org,
        "印发日期": _iso(d.printing_date),
        "发布层次": _label(Publicity, d.publicity),
    }


def document_metadata(document: OfficialDocument, *, bodies: list[dict[str, Any]], finals: dict[str, str],
                      attachments: list[dict[str, Any]], seal_paths: list[str], archived_by: Person,
                      retention: str, at: datetime.datetime) -> dict[str, Any]:
    """The 18 公文要素 (条例 第九条), GB/T 33480 core metadata (§4.1–4.18) and the record's own facts."""
    from documents.models import Secrecy, Urgency

    d = document
    current = next((b for b in bodies if b["is_current"]), None)
    secrecy = {"密级": _label(Secrecy, d.secrecy) if d.secrecy else "", "保密期限": d.secrecy_period}
    urgency = _label(Urgency, d.urgency) if d.urgency else ""
    elements = {
        "01 份号": d.copy_number,
        "02 密级和保密期限": secrecy,
        "03 紧急程度": urgency,
        "04 发文机关标志": d.issuer_mark,
        "05 发文字号": d.doc_number,
        "06 签发人": d.signers,
        "07 标题": d.title,
        "08 主送机关": d.main_recipients,
        "09 正文": {"当前版本": current["number"], "文件": current["path"]} if current else None,
        "10 附件说明": d.attachment_note,
        "11 发文机关署名": d.signature,
        "12 成文日期": _iso(d.written_date),
        "13 印章": {"加盖印章": d.seal_required, "用印记录": seal_paths},
        "14 附注": d.notes,
        "15 附件": [a["path"] for a in attachments if a["role"] == Attachment.Role.ATTACHMENT],
        "16 抄送机关": d.cc,
        "17 印发机关和印发日期": {"印发机关": d.printing_org, "印发日期": _iso(d.printing_date)},
        "18 页码": finals.get("final_pdf", "（版式文件未生成）"),
    }
    core = core_metadata(d)
    record = {
        "主办机关": {"名称": d.agency.name, "机关代字": d.agency.doc_code, "统一社会信用代码": d.agency.uscc},
        "联合行文机关": [c.agency.name for c in d.coissuer_set.select_related("agency")],
        "收发类别": d.get_direction_display(),
        "版式": d.get_layout_display(),
        "上行文": d.is_upward,
        "重要公文": d.is_important,
        "拟稿人": _person(d.created_by),
        "拟稿部门": d.department.name if d.department_id else "",
        "创建时间": _iso(d.created_at),
        "归档前状态": d.get_status_display(),
        "来文单位": d.source_agency_name,
        "来文公文标识": str(d.source_identifier) if d.source_identifier else "",
        "归档时间": _iso(at),
        "归档人": _person(archived_by),
        "保管期限": _label(ArchivePackage.Retention, retention),
        "正文版本": bodies,
        "正式文件": finals,
        "附件": attachments,
    }
    return {"公文要素": elements, "核心元数据": core, "管理信息": record}


# XML 1.0 (fifth edition) NameStartChar / NameChar without ":" (an NCName): metadata keys become element names,
# and ElementTree writes any string as a tag, "<x>" or "a b" included (it only chokes on "{").
_NAME_START = ("A-Z_a-z\xc0-\xd6\xd8-\xf6\xf8-\u02ff\u0370-\u037d\u037f-\u1fff\u200c\u200d\u2070-\u218f"
               "\u2c00-\u2fef\u3001-\ud7ff\uf900-\ufdcf\ufdf0-\ufffd\U00010000-\U000effff")
_XML_NAME = re.compile(f"[{_NAME_START}][{_NAME_START}\\-.0-9\xb7\u0300-\u036f\u203f\u2040]*")
# Characters XML 1.0 cannot carry at all, not even as a character reference.
_XML_ILLEGAL = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def is_xml_name(name: Any) -> bool:
    """An element name metadata.xml may use: an NCName not starting with "xml" (reserved by the XML spec) that
    expat, the parser every reader here uses, accepts too (it follows XML 1.0 4th edition: "ϴ", a letter since
    Unicode 3.1, passes the 5th edition's ranges but not expat)."""
    return (isinstance(name, str) and bool(_XML_NAME.fullmatch(name)) and name[:3].lower() != "xml"
            and _expat_accepts(name))


@functools.lru_cache(maxsize=4096)
def _expat_accepts(name: str) -> bool:
    try:
        ElementTree.fromstring(f"<{name}/>")  # noqa: S314 - our own one-tag string; the regex ruled out markup
    except ElementTree.ParseError:
        return False
    return True


def xml_text(text: str) -> str:
    """``text`` with every character XML 1.0 forbids (control characters, U+FFFE/FFFF, lone surrogates) replaced by
    U+FFFD, so the document stays well-formed; the JSON twin keeps the original."""
    return _XML_ILLEGAL.sub("\ufffd", text)


def shown_name(name: Any) -> str:
    """A refused name as it can be shown in a message and the audit log: short, invisible characters escaped."""
    text = str(name)[:40]
    return "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in text)


def metadata_xml(metadata: dict[str, Any], *, package_format: str = PACKAGE_FORMAT) -> bytes:
    """GB/T 33480 core metadata as XML (element names are the standard's Chinese names); shared with exchange.
    A key that is not an XML name is refused (Refusal ``metadata_invalid``): never a malformed document."""
    root = ElementTree.Element("电子公文元数据", {"格式": package_format, "依据": "GB/T 33480-2016"})

    def put(parent: ElementTree.Element, name: str, value: Any) -> None:
        if not is_xml_name(name):
            raise Refusal("metadata_invalid", f"核心元数据的名称“{shown_name(name)}”不能用作 XML 元素名")
        el = ElementTree.SubElement(parent, name)
        if isinstance(value, dict):
            for k, v in value.items():
                put(el, k, v)
        elif isinstance(value, list):
            for v in value:
                put(el, "项", v)
        elif value is not None:
            el.text = xml_text(str(value).lower() if isinstance(value, bool) else str(value))

    for name, value in metadata["核心元数据"].items():
        put(root, name, value)
    ElementTree.indent(root)
    return ElementTree.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def build_archive_package(document: OfficialDocument, *, archived_by: Person, retention: str,
                          at: datetime.datetime) -> tuple[bytes, dict[str, Any]]:
    """The ZIP bytes and the manifest of ``document`` archived by ``archived_by`` at ``at``."""
    pkg = _Package()
    bodies = _body_versions(pkg, document)
    finals = _finals(pkg, document)
    attachments = _attachments(pkg, document)
    seal_uses = _seal_uses(pkg, document)
    seal_paths = sorted(p for p in pkg.members if p.startswith("seals/"))
    pkg.add("audit/audit.json", canonical_json(audit_excerpt(document)), "审计日志摘录（含链式摘要）")
    metadata = document_metadata(document, bodies=bodies, finals=finals, attachments=attachments,
                                 seal_paths=seal_paths, archived_by=archived_by, retention=retention, at=at)
    metadata["管理信息"]["用印记录数"] = len(seal_uses)
    pkg.add("metadata/document.json", canonical_json(metadata), "公文要素与核心元数据（JSON）")
    pkg.add("metadata/document.xml", metadata_xml(metadata), "核心元数据（XML，GB/T 33480）")

    files = [
        {"path": path, "size": len(data), "sha256": sha256_hex(data), "sm3": sm3_hex(data), "description": what}
        for path, (data, what) in sorted(pkg.members.items())
    ]
    manifest = {
        "format": PACKAGE_FORMAT,
        "identifier": str(document.identifier),
        "doc_number": document.doc_number,
        "title": document.title,
        "agency": document.agency.name,
        "retention": retention,
        "retention_label": _label(ArchivePackage.Retention, retention),
        "archived_at": _iso(at),
        "archived_by": _person(archived_by),
        "algorithms": ["SHA-256", "SM3"],
        "files": files,
    }
    stamp = timezone.localtime(at).timetuple()[:6]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for path, data in [(MANIFEST, canonical_json(manifest)), *((p, d) for p, (d, _) in sorted(pkg.members.items()))]:
            info = zipfile.ZipInfo(path, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, whatever machine builds it
            info.external_attr = 0o100644 << 16
            zf.writestr(info, data, compresslevel=6)
    return buffer.getvalue(), manifest


# ---- verifying a package ---------------------------------------------------------------------------------


@dataclass
class ArchiveVerification:
    ok: bool = True
    files_checked: int = 0
    audit_entries_checked: int = 0
    problems: list[str] = field(default_factory=list)
    manifest: dict[str, Any] | None = None
    sha256: str = ""

    def fail(self, message: str) -> None:
        self.ok = False
        self.problems.append(message)


# Readable fields of an excerpt entry that must equal those inside its hashed payload ("at" is compared as time).
_AUDIT_FIELDS = ("actor_id", "actor_name", "on_behalf_of_name", "action", "object_type", "object_id",
                 "object_repr", "changes", "ip", "algorithm")
# Where the hashed payload places the entry: its id (entries written before the log had several chains) or its
# chain and position in it.
_LEGACY_POSITION, _CHAIN_POSITION = ("id",), ("chain", "seq", "layout")


def _same_time(a: Any, b: Any) -> bool:
    try:
        return datetime.datetime.fromisoformat(a) == datetime.datetime.fromisoformat(b)
    except (TypeError, ValueError):
        return False


def _check_audit(report: ArchiveVerification, data: bytes) -> None:
    try:
        excerpt = json.loads(data)
        entries = excerpt["entries"]
    except (ValueError, KeyError, TypeError, RecursionError):  # RecursionError: json on "[" × 100000
        report.fail("审计日志摘录无法解析")
        return
    for e in entries:
        try:
            expected = digest(e["algorithm"], e["prev_hash"].encode() + e["payload"].encode("utf-8"))
            payload = json.loads(e["payload"])
            stated = e["hash"]
            if not isinstance(payload, dict):
                raise TypeError
        except (KeyError, ValueError, TypeError, AttributeError, RecursionError):
            report.fail(f"审计记录 #{e.get('id') if isinstance(e, dict) else '?'} 格式错误")
            continue
        if expected != stated:
            report.fail(f"审计记录 #{e['id']} 的链式摘要不符（记录可能被篡改）")
        elif (any(payload.get(k) != e.get(k)
                  for k in _AUDIT_FIELDS + (_CHAIN_POSITION if "chain" in payload else _LEGACY_POSITION))
              or not _same_time(payload.get("at"), e.get("at"))):
            report.fail(f"审计记录 #{e['id']} 的可读字段与被摘要的内容不一致")
        report.audit_entries_checked += 1


MAX_MANIFEST_BYTES = 10 * 1024 * 1024


def _well_formed(item: Any) -> bool:
    return (
        isinstance(item, dict) and isinstance(item.get("path"), str) and isinstance(item.get("size"), int)
        and item["size"] >= 0 and isinstance(item.get("sha256"), str) and isinstance(item.get("sm3"), str)
    )


def verify_archive_package(data: bytes, *, expected_sha256: str | None = None) -> ArchiveVerification:
    """Recompute every hash in a package; every difference is reported (in Chinese), none raises."""
    report = ArchiveVerification(sha256=sha256_hex(data))
    if expected_sha256 and report.sha256 != expected_sha256:
        report.fail("归档包整体 SHA-256 与登记值不符")
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        names = zf.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        report.fail("不是有效的归档包（ZIP 结构损坏，无法打开）")
        return report
    with zf:
        try:
            with zf.open(MANIFEST) as fh:
                raw = fh.read(MAX_MANIFEST_BYTES + 1)
            manifest = json.loads(raw) if len(raw) <= MAX_MANIFEST_BYTES else None
            files = manifest["files"] if isinstance(manifest, dict) else None
        except KeyError:
            report.fail("归档包缺少清单 manifest.json")
            return report
        except (zipfile.BadZipFile, zlib.error, ValueError, TypeError, OSError, EOFError, RecursionError):
            report.fail("清单 manifest.json 已损坏，无法读取")
            return report
        if not isinstance(files, list) or not all(_well_formed(item) for item in files):
            report.fail("清单 manifest.json 格式错误（每个文件须有 path、size、sha256、sm3）")
            return report
        report.manifest = manifest
        listed = set()
        for item in files:
            path = item["path"]
            listed.add(path)
            try:
                with zf.open(path) as fh:
                    # The manifest's size caps the read: a member cannot expand past what was recorded.
                    content = fh.read(item["size"] + 1)
            except KeyError:
                report.fail(f"清单所列文件 {path} 不在包内")
                continue
            except (zipfile.BadZipFile, zlib.error, OSError, ValueError, EOFError):
                report.fail(f"文件 {path} 已损坏（无法解压或 CRC 校验失败）")
                continue
            report.files_checked += 1
            intact = True
            if len(content) != item["size"]:
                intact = False
                report.fail(f"文件 {path} 的大小与清单不符")
            if sha256_hex(content) != item["sha256"]:
                intact = False
                report.fail(f"文件 {path} 的 SHA-256 与清单不符")
            if sm3_hex(content) != item["sm3"]:
                intact = False
                report.fail(f"文件 {path} 的 SM3 与清单不符")
            if intact and path == "audit/audit.json":
                _check_audit(report, content)
        for name in names:
            if name != MANIFEST and name not in listed:
                report.fail(f"包内文件 {name} 未列入清单")
    return report


def verify_stored_package(package: ArchivePackage) -> ArchiveVerification:
    """Verify the stored ZIP against itself and against the row (whole-file SHA-256 and manifest)."""
    try:
        with package.file.open("rb") as fh:
            data = fh.read()
    except (FileNotFoundError, OSError):
        report = ArchiveVerification()
        report.fail("归档包文件在存储中缺失")
        return report
    report = verify_archive_package(data, expected_sha256=package.sha256)
    if report.manifest is not None and report.manifest != package.manifest:
        report.fail("包内清单与数据库登记的清单不一致")
    return report
