"""归档: freeze a finished 公文 into a verifiable package, and export packages for the archives system."""

from __future__ import annotations

import csv
import hashlib
import io
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from documents.models import ArchivePackage, OfficialDocument
from documents.selectors.archive import (
    archive_refusal,
    archived_packages,
    build_archive_package,
    sm3_hex,
    verify_stored_package,
)
from oa.actions.audit import do_record_audit
from oa.csvsafe import csv_row
from oa.models import Agency, Person
from oa.refusals import Refusal


@transaction.atomic
def check_archive_document(actor: Person, document: OfficialDocument, *, retention: str) -> ArchivePackage:
    """Archive ``document`` if ``actor`` is its agency's clerk and it is finished; refuse re-archiving."""
    # The row lock makes a second clerk's simultaneous attempt wait, then see the document archived.
    doc = OfficialDocument.objects.select_for_update().get(pk=document.pk)
    refusal = archive_refusal(actor, doc)
    if refusal is not None:
        raise refusal
    if retention not in ArchivePackage.Retention.values:
        raise Refusal("invalid_retention", "保管期限须为永久、30年或10年")
    package = do_archive_document(actor, doc, retention=retention)
    document.status, document.archived_at = doc.status, doc.archived_at
    return package


def do_archive_document(actor: Person, document: OfficialDocument, *, retention: str) -> ArchivePackage:
    """Build and store the package, mark the document 已归档 and audit it — all or nothing.

    The caller holds the document's row lock inside a transaction (``check_archive_document`` does).
    """
    at = timezone.now()
    # The audit excerpt is taken before this act's own entry, which in turn records the package's hash.
    data, manifest = build_archive_package(document, archived_by=actor, retention=retention, at=at)
    package = ArchivePackage(document=document, manifest=manifest, retention=retention, created_by=actor,
                             sha256=hashlib.sha256(data).hexdigest())
    package.file.save(f"{document.identifier}.zip", ContentFile(data), save=False)
    try:
        with transaction.atomic():
            package.save()
            old_status = document.status
            OfficialDocument.objects.filter(pk=document.pk).update(
                status=OfficialDocument.Status.ARCHIVED, archived_at=at, updated_at=at
            )
            document.status, document.archived_at = OfficialDocument.Status.ARCHIVED, at
            do_record_audit(
                actor=actor, action="document.archive", obj=document,
                changes={
                    "status": [old_status, OfficialDocument.Status.ARCHIVED],
                    "retention": retention,
                    "package": package.file.name,
                    "sha256": package.sha256,
                    "sm3": sm3_hex(data),
                    "files": len(manifest["files"]),
                },
            )
    except IntegrityError:
        package.file.delete(save=False)
        raise Refusal("already_archived", "该公文已归档，不能重复归档", status=409) from None
    except BaseException:
        # Nothing half-written: the stored ZIP goes when the rows do not commit. (Should a caller's enclosing
        # transaction roll back later, an unreferenced ZIP stays in storage; docs/archive.md says how to sweep.)
        package.file.delete(save=False)
        raise
    return package


def do_record_archive_download(actor: Person, package: ArchivePackage, *, ip: str | None = None, via: str = "web") -> None:
    """Taking a package away is taking the whole document away: recorded like an export."""
    do_record_audit(
        actor=actor, action="document.archive_download", obj=package.document, ip=ip,
        changes={"package": package.file.name, "sha256": package.sha256, "via": via},
    )


@dataclass
class ArchiveExport:
    outdir: Path
    index: Path
    exported: list[str] = field(default_factory=list)
    failed: list[tuple[str, list[str]]] = field(default_factory=list)


INDEX_HEADER = [
    "公文标识", "发文字号", "标题", "文种", "主办机关", "成文日期", "保管期限", "归档时间", "归档人",
    "文件名", "大小（字节）", "SHA-256", "SM3", "校验结果",
]


def _write_atomically(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def do_export_archive(*, agency: Agency, year: int, outdir: Path, actor: Person | None = None) -> ArchiveExport:
    """Write every package of ``agency`` for ``year`` (成文日期 year) to ``outdir`` plus ``index.csv``.

    Each package is re-verified first; a package that fails is still listed in the index with its problems
    (the archives system must see the gap) but its ZIP is not written.
    """
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    result = ArchiveExport(outdir=outdir, index=outdir / "index.csv")
    rows = []
    for package in archived_packages(agency=agency, year=year):
        doc = package.document
        report = verify_stored_package(package)
        filename = f"{doc.identifier}.zip"
        size = sm3 = ""
        if report.ok:
            with package.file.open("rb") as fh:
                data = fh.read()
            _write_atomically(outdir / filename, data)
            size, sm3 = str(len(data)), sm3_hex(data)
            result.exported.append(filename)
        else:
            result.failed.append((filename, report.problems))
        rows.append([
            str(doc.identifier), doc.doc_number, doc.title, doc.get_doc_type_display(), doc.agency.name,
            doc.written_date.isoformat() if doc.written_date else "", package.get_retention_display(),
            timezone.localtime(doc.archived_at).isoformat() if doc.archived_at else "",
            package.created_by.get_full_name(), filename if report.ok else "", size, package.sha256, sm3,
            "通过" if report.ok else "未通过：" + "；".join(report.problems),
        ])
    text = _csv_text(rows)
    _write_atomically(result.index, ("\ufeff" + text).encode("utf-8"))  # BOM: Excel opens it as Chinese text
    do_record_audit(
        actor=actor, actor_name="" if actor else "归档导出（manage.py export_archive）", action="archive.export",
        obj=agency, changes={"year": year, "outdir": str(outdir), "exported": len(result.exported),
                             "failed": [name for name, _ in result.failed]},
    )
    return result


def _csv_text(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(INDEX_HEADER)
    writer.writerows(csv_row(row) for row in rows)  # titles, names: no cell may start a formula
    return buffer.getvalue()
