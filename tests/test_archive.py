"""归档: only the agency's 文书 archives a finished 公文; the ZIP package holds every version, the final files,
attachments, seal uses, the audit excerpt with chain hashes and the metadata, all listed with SHA-256 and SM3 in
manifest.json; the document is frozen; packages are re-verified, downloaded (clerks only) and exported."""

from __future__ import annotations

import csv
import datetime
import hashlib
import io
import json
import re
import uuid
import zipfile
from xml.etree import ElementTree

import pytest
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from documents.actions.archive import check_archive_document
from documents.actions.body import check_clean_body, check_save_body, do_save_body
from documents.actions.documents import (
    check_update_document,
    do_grant_document_access,
    do_set_document_status,
)
from documents.body import normalize_body
from documents.models import ArchivePackage, DocType, OfficialDocument
from documents.selectors.archive import build_archive_package, verify_archive_package, verify_stored_package
from documents.selectors.documents import can_edit_document
from oa.actions.audit import do_record_audit
from oa.actions.tokens import do_issue_token
from oa.hashing import digest, sm3_hex
from oa.models import Agency, AuditEntry
from oa.refusals import Refusal
from oa.selectors.audit import entry_hash
from tests.clients import login
from tests.test_search import OFFICE, docx_bytes, make_document, p

pytestmark = pytest.mark.django_db

gmssl_sm3 = sm3_hex  # pure-Python SM3 (gmssl): independent of the OpenSSL one the package is built with

Status = OfficialDocument.Status


def pdf_bytes(text: str) -> bytes:
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    c = canvas.Canvas(out)
    c.drawString(72, 720, text)
    c.save()
    return out.getvalue()


def add_seal_use(document: OfficialDocument, keeper, clerk):
    """A 用印 record as the stamping action leaves it: signed PDF, SES_Signature bytes, an audit entry.

    Rows are written directly: the point here is what 归档 does with them, not how stamping makes them.
    """
    from documents.models.seals import Seal, SealAuthority, SealAuthorization, SealUse

    now = timezone.now()
    authority = SealAuthority.objects.create(
        name="测试制章者", cert_pem="-", key_encrypted=b"k", sm2_public_hex="00", sm2_private_encrypted=b"k",
        sm2_cert_der=b"c", kek_id="test", is_active=False,
    )
    seal = Seal.objects.create(
        agency=document.agency, authority=authority, name=f"{document.agency.name}公章", es_id=uuid.uuid4().hex,
        valid_from=now - datetime.timedelta(days=1), valid_to=now + datetime.timedelta(days=365), cert_pem="-",
        cert_serial="01", key_encrypted=b"k", sm2_public_hex="00", sm2_private_encrypted=b"k", sm2_cert_der=b"c",
        ses_seal=b"s", kek_id="test",
    )
    grant = SealAuthorization.objects.create(
        document=document, agency=document.agency, step_label="用印", step_token=uuid.uuid4().hex,
        authorised_by=clerk, expires_at=now + datetime.timedelta(hours=1), used_at=now,
    )
    signed = pdf_bytes("signed " + document.title.encode("unicode_escape").decode())
    use = SealUse(
        document=document, seal=seal, authorization=grant, actor=keeper, step_label="用印", signed_at=now,
        pdf_before_sha256="0" * 64, signed_pdf_sha256=hashlib.sha256(signed).hexdigest(),
        signed_pdf_sm3=gmssl_sm3(signed), ses_signature=b"\x30\x03\x02\x01\x01", pades_field="Signature1",
        pades_signature_sha256=uuid.uuid4().hex * 2, anchor={"page": 0},
    )
    use.signed_pdf.save("signed.pdf", ContentFile(signed), save=False)
    use.save()
    do_record_audit(actor=keeper, action="seal.use", obj=use, changes={"document": document.pk})
    return use, signed


@pytest.fixture
def finished(cast):
    """A 区府办 通知 that went the whole way: drafted, edited by two people, attachment, 文号, final files, sealed."""
    doc = make_document(
        cast.zhangwei, title="关于做好2026年汛期安全防范工作的通知", department="秘书科", doc_type=DocType.NOTICE,
        written_date="2026-04-03", main_recipients="各镇人民政府、各街道办事处", cc="区委办",
        body=[p("为切实做好防汛工作，现通知如下。")],
        attachment=("值班表.docx", "汛期值班安排表", "水库巡查责任人名单"),
    )
    do_save_body(cast.lina, doc, normalize_body({"blocks": [p("为切实做好防汛抢险工作，现通知如下。")]}))
    do_set_document_status(doc, Status.SIGNED, actor=cast.wangfang)
    from documents.actions.numbering import do_allocate_doc_number

    do_allocate_doc_number(cast.liuyang, doc, year=2026)
    final_pdf, final_docx = pdf_bytes("final notice"), docx_bytes("关于做好2026年汛期安全防范工作的通知")
    doc.refresh_from_db()
    doc.final_pdf.save("final.pdf", ContentFile(final_pdf), save=False)  # typesetting's output
    doc.final_docx.save("final.docx", ContentFile(final_docx), save=False)
    doc.save(update_fields=["final_pdf", "final_docx"])
    use, signed = add_seal_use(doc, cast.zhoumin, cast.liuyang)
    do_set_document_status(doc, Status.SEALED, actor=cast.zhoumin)
    doc.refresh_from_db()
    return {"doc": doc, "final_pdf": final_pdf, "final_docx": final_docx, "seal_use": use, "signed_pdf": signed}


def stored_bytes(package: ArchivePackage) -> bytes:
    with package.file.open("rb") as fh:
        return fh.read()



def assert_chinese_error(exc: Refusal, code: str, status: int) -> None:
    assert exc.code == code and exc.status == status
    assert re.search(r"[\u4e00-\u9fff]", exc.message)


# --- the package -------------------------------------------------------------------------------------------


def test_clerk_archives_and_the_package_holds_everything_with_verified_hashes(cast, finished):
    doc = finished["doc"]
    package = check_archive_document(cast.liuyang, doc, retention=ArchivePackage.Retention.PERMANENT)

    doc.refresh_from_db()
    assert doc.status == Status.ARCHIVED and doc.archived_at is not None
    assert package.retention == "permanent" and package.created_by == cast.liuyang
    data = stored_bytes(package)
    assert hashlib.sha256(data).hexdigest() == package.sha256

    entry = AuditEntry.objects.get(action="document.archive", object_id=str(doc.pk))
    assert entry.actor == cast.liuyang
    assert entry.changes["sha256"] == package.sha256 and entry.changes["status"] == ["sealed", "archived"]
    assert entry.changes["files"] == len(package.manifest["files"])

    zf = zipfile.ZipFile(io.BytesIO(data))
    names = zf.namelist()
    assert names[0] == "manifest.json" and names[1:] == sorted(names[1:])  # deterministic order
    stamp = list(timezone.localtime(doc.archived_at).timetuple()[:6])
    stamp[5] -= stamp[5] % 2  # DOS time keeps even seconds
    stamp = tuple(stamp)
    assert {info.date_time for info in zf.infolist()} == {stamp}
    manifest = json.loads(zf.read("manifest.json"))
    assert manifest == package.manifest
    assert manifest["identifier"] == str(doc.identifier) and manifest["doc_number"] == doc.doc_number
    assert [f["path"] for f in manifest["files"]] == names[1:]
    for f in manifest["files"]:  # recomputed with hashlib and with gmssl's independent SM3
        content = zf.read(f["path"])
        assert len(content) == f["size"]
        assert hashlib.sha256(content).hexdigest() == f["sha256"]
        assert gmssl_sm3(content) == f["sm3"]

    # Every 正文 version, with author, time and kind.
    v1, v2 = json.loads(zf.read("body/v0001.json")), json.loads(zf.read("body/v0002.json"))
    assert v1["author"]["username"] == "zhangwei" and v2["author"]["username"] == "lina"
    assert v1["kind"] == v2["kind"] == "edit" and v2["parent"] == 1 and v2["is_current"] and not v1["is_current"]
    assert v1["created_at"] and "防汛抢险" in v2["content"]["blocks"][0]["text"]

    # Final files, attachment and the seal use, byte for byte.
    assert zf.read("final/final.pdf") == finished["final_pdf"]
    assert zf.read("final/final.docx") == finished["final_docx"]
    attachment = doc.attachments.get()
    member = next(n for n in names if n.startswith("attachments/"))
    assert member.endswith(".docx") and hashlib.sha256(zf.read(member)).hexdigest() == attachment.sha256
    from docx import Document

    assert "水库巡查责任人名单" in Document(io.BytesIO(zf.read(member))).paragraphs[0].text  # python-docx reads it back
    use = finished["seal_use"]
    assert zf.read(f"seals/use-{use.pk}-signed_pdf.pdf") == finished["signed_pdf"]
    assert zf.read(f"seals/use-{use.pk}-ses_signature.der") == b"\x30\x03\x02\x01\x01"
    uses = json.loads(zf.read("seals/seal_uses.json"))
    assert uses[0]["signed_pdf"]["path"] == f"seals/use-{use.pk}-signed_pdf.pdf"
    assert uses[0]["signed_pdf_sha256"] == hashlib.sha256(finished["signed_pdf"]).hexdigest()

    # The audit excerpt: the document's and its parts' entries, each with the hash the live chain holds.
    audit = json.loads(zf.read("audit/audit.json"))
    actions = [e["action"] for e in audit["entries"]]
    for expected in ("document.create", "document.body_edit", "attachment.add", "document.status",
                     "docnumber.allocate", "seal.use"):
        assert expected in actions, actions
    assert "document.archive" not in actions  # taken before the act that records the package's hash
    for e in audit["entries"]:
        live = AuditEntry.objects.get(pk=e["id"])
        assert live.hash == e["hash"] == entry_hash(live)
        assert digest(e["algorithm"], e["prev_hash"].encode() + e["payload"].encode()) == e["hash"]

    # 18 要素 + GB/T 33480 core metadata, in JSON and XML.
    meta = json.loads(zf.read("metadata/document.json"))
    assert len(meta["公文要素"]) == 18 and len(meta["核心元数据"]) == 18
    assert meta["公文要素"]["05 发文字号"] == doc.doc_number
    assert meta["公文要素"]["09 正文"] == {"当前版本": 2, "文件": "body/v0002.json"}
    assert meta["核心元数据"]["主送机关"] == ["各镇人民政府", "各街道办事处"]
    assert meta["管理信息"]["保管期限"] == "永久" and meta["管理信息"]["归档人"]["username"] == "liuyang"
    root = ElementTree.fromstring(zf.read("metadata/document.xml"))
    assert root.tag == "电子公文元数据" and root.findtext("公文标识") == str(doc.identifier)
    assert root.findtext("发文字号") == doc.doc_number and [i.text for i in root.find("抄送机关")] == ["区委办"]

    report = verify_archive_package(data, expected_sha256=package.sha256)
    assert report.ok and report.problems == []
    assert report.files_checked == len(manifest["files"]) and report.audit_entries_checked == len(audit["entries"])
    assert verify_stored_package(package).ok


def test_the_same_moment_gives_the_same_bytes(cast, finished):
    at = timezone.now()
    one, _ = build_archive_package(finished["doc"], archived_by=cast.liuyang, retention="30y", at=at)
    two, _ = build_archive_package(finished["doc"], archived_by=cast.liuyang, retention="30y", at=at)
    assert one == two


def test_archived_document_is_frozen_and_cannot_be_archived_again(cast, finished):
    doc = finished["doc"]
    do_grant_document_access(doc, cast.lina, can_edit=True)
    check_archive_document(cast.liuyang, doc, retention="10y")
    doc.refresh_from_db()
    assert not can_edit_document(cast.lina, doc) and not can_edit_document(cast.zhangwei, doc)
    with pytest.raises(Refusal) as exc:
        check_update_document(cast.lina, doc, {"title": "改标题"})
    assert exc.value.code == "not_editable"
    with pytest.raises(Refusal) as exc:
        check_save_body(cast.lina, doc, {"blocks": [p("改正文")]}, if_match=2)
    assert exc.value.code == "not_editable"
    with pytest.raises(Refusal) as exc:
        check_clean_body(cast.lina, doc, if_match=2)
    assert exc.value.code == "not_editable"

    with pytest.raises(Refusal) as exc:
        check_archive_document(cast.liuyang, doc, retention="permanent")
    assert_chinese_error(exc.value, "already_archived", 409)
    assert ArchivePackage.objects.filter(document=doc).count() == 1
    assert AuditEntry.objects.filter(action="document.archive", object_id=str(doc.pk)).count() == 1
    doc.refresh_from_db()
    assert doc.title == "关于做好2026年汛期安全防范工作的通知" and doc.current_body.number == 2


def test_only_the_agencys_clerk_may_archive(cast, finished):
    doc = finished["doc"]
    for person in (cast.zhangwei, cast.huangjianhua, cast.finance05):  # drafter, principal, another agency's clerk
        with pytest.raises(Refusal) as exc:
            check_archive_document(person, doc, retention="permanent")
        assert_chinese_error(exc.value, "not_clerk", 403)
    doc.refresh_from_db()
    assert doc.status == Status.SEALED and doc.archived_at is None
    assert not ArchivePackage.objects.filter(document=doc).exists()
    assert not AuditEntry.objects.filter(action="document.archive", object_id=str(doc.pk)).exists()


def test_only_finished_documents_are_archived(cast):
    notice = make_document(cast.zhangwei, title="关于开展消防检查的通知", department="秘书科", body=[p("检查。")])
    for status in (Status.DRAFT, Status.SIGNED, Status.TYPESET, Status.WITHDRAWN):
        do_set_document_status(notice, status, actor=cast.liuyang)
        with pytest.raises(Refusal) as exc:
            check_archive_document(cast.liuyang, notice, retention="permanent")
        assert_chinese_error(exc.value, "not_final", 409)
        assert f"“{Status(status).label}”" in exc.value.message
    # 纪要 is not sealed (GB/T 9704 §10.3): typeset is finished for it.
    minutes = make_document(cast.zhangwei, title="区政府常务会议纪要", department="秘书科", doc_type=DocType.MINUTES,
                            body=[p("会议议定事项。")])
    assert minutes.seal_required is False
    do_set_document_status(minutes, Status.TYPESET, actor=cast.liuyang)
    package = check_archive_document(cast.liuyang, minutes, retention="30y")
    assert package.get_retention_display() == "30年"
    names = zipfile.ZipFile(io.BytesIO(stored_bytes(package))).namelist()
    assert not any(n.startswith(("seals/", "final/")) for n in names)  # nothing to put there, nothing invented
    # Received documents are finished too.
    received = make_document(cast.zhangwei, title="关于转发防汛通知的函", department="秘书科", body=[p("转发。")])
    do_set_document_status(received, Status.RECEIVED, actor=cast.liuyang)
    assert check_archive_document(cast.liuyang, received, retention="10y").retention == "10y"


def test_bad_retention_is_refused(cast, finished):
    with pytest.raises(Refusal) as exc:
        check_archive_document(cast.liuyang, finished["doc"], retention="5y")
    assert_chinese_error(exc.value, "invalid_retention", 400)
    assert finished["doc"].status == Status.SEALED


def test_a_corrupt_attachment_is_not_certified(cast, finished):
    attachment = finished["doc"].attachments.get()
    storage, name = attachment.file.storage, attachment.file.name
    storage.delete(name)
    storage.save(name, ContentFile(b"PK\x03\x04 not what was uploaded"))
    with pytest.raises(Refusal) as exc:
        check_archive_document(cast.liuyang, finished["doc"], retention="permanent")
    assert_chinese_error(exc.value, "attachment_corrupt", 409)
    assert not ArchivePackage.objects.filter(document=finished["doc"]).exists()
    finished["doc"].refresh_from_db()
    assert finished["doc"].status == Status.SEALED


# --- verification ------------------------------------------------------------------------------------------


def _rezip(data: bytes, change) -> bytes:
    """A valid ZIP with the same members, after ``change(name, content) -> content | None`` (None drops it)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = change(info.filename, src.read(info.filename))
            if content is not None:
                dst.writestr(info, content)
    return out.getvalue()


def forge_audit_and_fix_manifest(data: bytes, edit) -> bytes:
    """Edit the first audit entry, then recompute the manifest's size and digests of audit.json to match."""
    zf = zipfile.ZipFile(io.BytesIO(data))
    audit = json.loads(zf.read("audit/audit.json"))
    edit(audit["entries"][0])
    new_audit = json.dumps(audit, ensure_ascii=False).encode()
    manifest = json.loads(zf.read("manifest.json"))
    for f in manifest["files"]:
        if f["path"] == "audit/audit.json":
            f.update(size=len(new_audit), sha256=hashlib.sha256(new_audit).hexdigest(), sm3=gmssl_sm3(new_audit))
    replaced = {"audit/audit.json": new_audit, "manifest.json": json.dumps(manifest).encode()}
    return _rezip(data, lambda n, c: replaced.get(n, c))


def test_verify_reports_a_flipped_byte_and_every_kind_of_tampering(cast, finished):
    package = check_archive_document(cast.liuyang, finished["doc"], retention="permanent")
    data = stored_bytes(package)
    assert verify_archive_package(data).ok

    # One byte flipped inside the stored PDF's compressed data.
    zf = zipfile.ZipFile(io.BytesIO(data))
    info = zf.getinfo("final/final.pdf")
    offset = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra) + info.compress_size // 2
    flipped = bytearray(data)
    flipped[offset] ^= 0xFF
    report = verify_archive_package(bytes(flipped), expected_sha256=package.sha256)
    assert not report.ok
    assert "归档包整体 SHA-256 与登记值不符" in report.problems
    assert any("final/final.pdf" in problem for problem in report.problems), report.problems

    # A member replaced in a well-formed ZIP: both digests disagree with the manifest.
    swapped = _rezip(data, lambda n, c: b"%PDF-1.4 forged" if n == "final/final.pdf" else c)
    problems = verify_archive_package(swapped).problems
    assert "文件 final/final.pdf 的 SHA-256 与清单不符" in problems and "文件 final/final.pdf 的 SM3 与清单不符" in problems

    # An audit entry rewritten and the manifest "fixed" to match: the chain hash still gives it away —
    # whether the forger edits only the readable fields or the hashed payload as well.
    first = json.loads(zf.read("audit/audit.json"))["entries"][0]
    assert first["actor_name"] == "张伟"
    readable = forge_audit_and_fix_manifest(data, lambda e: e.update(actor_name="某人"))
    assert verify_archive_package(readable).problems == [f"审计记录 #{first['id']} 的可读字段与被摘要的内容不一致"]
    hashed = forge_audit_and_fix_manifest(
        data, lambda e: e.update(actor_name="某人", payload=e["payload"].replace("张伟", "某人")))
    assert verify_archive_package(hashed).problems == [f"审计记录 #{first['id']} 的链式摘要不符（记录可能被篡改）"]

    # A file slipped in, one taken out, and no ZIP at all.
    extra = _rezip(data, lambda n, c: c)
    buf = io.BytesIO(extra)
    with zipfile.ZipFile(buf, "a") as zf2:
        zf2.writestr("extra.txt", b"x")
    assert "包内文件 extra.txt 未列入清单" in verify_archive_package(buf.getvalue()).problems
    dropped = _rezip(data, lambda n, c: None if n == "final/final.docx" else c)
    assert "清单所列文件 final/final.docx 不在包内" in verify_archive_package(dropped).problems
    assert not verify_archive_package(b"not a zip").ok
    no_sizes = _rezip(data, lambda n, c: json.dumps({"files": [{"path": "x"}]}).encode() if n == "manifest.json" else c)
    assert verify_archive_package(no_sizes).problems == ["清单 manifest.json 格式错误（每个文件须有 path、size、sha256、sm3）"]
    no_hash = forge_audit_and_fix_manifest(data, lambda e: e.pop("hash"))
    assert verify_archive_package(no_hash).problems == [f"审计记录 #{first['id']} 格式错误"]


# --- pages, download and API --------------------------------------------------------------------------------


def test_archive_page_download_and_refusals_over_http(client, cast, finished):
    doc = finished["doc"]
    url, download = f"/documents/{doc.pk}/archive/", f"/documents/{doc.pk}/archive/package.zip"

    # Another agency's clerk cannot even see the document: 404 everywhere.
    login(cast.finance05, otp=True, client=client)  # 文书 and 印章管理员 of 区财政局: a 2FA role
    assert client.get(url).status_code == 404
    assert client.post(url, {"retention": "permanent"}).status_code == 404
    assert client.get(download).status_code == 404

    # The drafter sees the document but may not archive it.
    client.force_login(cast.zhangwei)
    page = client.get(url)
    assert page.status_code == 200 and "只有本机关的办公室（文书）人员可以归档公文" in page.content.decode()
    assert 'name="retention"' not in page.content.decode()
    refused = client.post(url, {"retention": "permanent"})
    assert refused.status_code == 403 and "只有本机关的办公室（文书）人员可以归档公文" in refused.content.decode()
    assert 'name="retention"' not in refused.content.decode()
    assert client.get(download).status_code == 404  # nothing archived yet

    client.force_login(cast.liuyang)
    form = client.get(url).content.decode()
    assert 'name="retention"' in form and "<legend>保管期限</legend>" in form
    assert client.post(url, {"retention": "forever"}).status_code == 400
    response = client.post(url, {"retention": "permanent"})
    assert response.status_code == 302 and response["Location"] == url
    doc.refresh_from_db()
    assert doc.status == Status.ARCHIVED
    package = doc.archive
    shown = client.get(url + "?verify=1").content.decode()
    assert "保管期限永久" in shown and package.sha256 in shown and "复核通过" in shown

    got = client.get(download)
    assert got.status_code == 200 and got["Content-Type"] == "application/zip"
    assert got["Content-Disposition"].startswith("attachment;")
    body = b"".join(got.streaming_content)
    assert hashlib.sha256(body).hexdigest() == package.sha256
    assert AuditEntry.objects.filter(action="document.archive_download", actor=cast.liuyang,
                                     object_id=str(doc.pk)).exists()

    again = client.post(url, {"retention": "permanent"})
    assert again.status_code == 409 and "不能重复归档" in again.content.decode()
    assert ArchivePackage.objects.filter(document=doc).count() == 1

    client.force_login(cast.zhangwei)
    refused = client.get(download)  # visible and archived, but not a clerk: the Refusal page, not a 500
    assert refused.status_code == 403 and "只有本机关的办公室（文书）人员可以下载归档包" in refused.content.decode()
    listing = client.get("/documents/archive/").content.decode()
    assert "您不是任何机关的文书" in listing and doc.title not in listing
    client.force_login(cast.liuyang)
    listing = client.get("/documents/archive/", {"year": "2026"}).content.decode()
    assert doc.title in listing and "保管期限 永久" in listing


def test_archive_api(cast, finished):
    doc = finished["doc"]

    def api(user):
        raw, _ = do_issue_token(user, name="测试")
        return Client(headers={"Authorization": f"Bearer {raw}"})

    url = f"/api/documents/{doc.pk}/archive"
    drafter = api(cast.zhangwei)
    refused = drafter.post(url, {"retention": "permanent"}, content_type="application/json")
    assert refused.status_code == 403 and refused.json()["code"] == "not_clerk"
    assert api(cast.finance05).post(url, {"retention": "permanent"}, content_type="application/json").status_code == 404

    clerk = api(cast.liuyang)
    bad = clerk.post(url, {"retention": "5y"}, content_type="application/json")
    assert bad.status_code == 400 and bad.json()["code"] == "invalid"
    assert clerk.get(url).status_code == 404  # not archived yet
    created = clerk.post(url, {"retention": "30y"}, content_type="application/json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["retention_label"] == "30年" and body["identifier"] == str(doc.identifier)
    assert {f["path"] for f in body["files"]} >= {"final/final.pdf", "audit/audit.json", "metadata/document.json"}
    again = clerk.post(url, {"retention": "30y"}, content_type="application/json")
    assert again.status_code == 409 and again.json()["code"] == "already_archived"

    assert clerk.get(url).json()["sha256"] == body["sha256"]
    package = clerk.get(url + "/package")
    assert package.status_code == 200
    assert hashlib.sha256(b"".join(package.streaming_content)).hexdigest() == body["sha256"]
    assert AuditEntry.objects.filter(action="document.archive_download", changes__via="api").exists()
    assert drafter.get(url + "/package").status_code == 403
    assert drafter.get(url).json()["code"] == "not_clerk"
    assert api(cast.finance05).get(url + "/package").status_code == 404


# --- export ------------------------------------------------------------------------------------------------


def test_export_archive_writes_packages_and_an_index(cast, finished, tmp_path):
    doc = finished["doc"]
    package = check_archive_document(cast.liuyang, doc, retention="permanent")
    out = tmp_path / "export"
    stdout = io.StringIO()
    call_command("export_archive", "--agency", "揭东府办", "--year", "2026", str(out), stdout=stdout)
    assert "导出 1 个归档包" in stdout.getvalue()
    written = out / f"{doc.identifier}.zip"
    assert hashlib.sha256(written.read_bytes()).hexdigest() == package.sha256
    assert verify_archive_package(written.read_bytes()).ok
    raw = (out / "index.csv").read_bytes()
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert len(rows) == 1
    row = rows[0]
    assert row["公文标识"] == str(doc.identifier) and row["发文字号"] == doc.doc_number
    assert row["SHA-256"] == package.sha256 and row["SM3"] == gmssl_sm3(written.read_bytes())
    assert row["保管期限"] == "永久" and row["校验结果"] == "通过" and row["文件名"] == written.name
    export = AuditEntry.objects.get(action="archive.export")
    assert export.changes["exported"] == 1 and export.changes["year"] == 2026
    assert export.object_id == str(Agency.objects.get(name=OFFICE).pk)

    # Another year, or another agency: nothing; an unknown agency: an error.
    call_command("export_archive", "--agency", "区府办", "--year", "2025", str(tmp_path / "y2025"), stdout=io.StringIO())
    assert list(csv.reader(io.StringIO((tmp_path / "y2025" / "index.csv").read_text("utf-8-sig")))) == [
        ["公文标识", "发文字号", "标题", "文种", "主办机关", "成文日期", "保管期限", "归档时间", "归档人",
         "文件名", "大小（字节）", "SHA-256", "SM3", "校验结果"]]
    with pytest.raises(CommandError, match="找不到机关"):
        call_command("export_archive", "--agency", "不存在", "--year", "2026", str(tmp_path / "x"))

    # A package damaged in storage is not exported, and the index and the exit status say so.
    storage, name = package.file.storage, package.file.name
    damaged = bytearray(stored_bytes(package))
    damaged[len(damaged) // 2] ^= 0xFF
    storage.delete(name)
    storage.save(name, ContentFile(bytes(damaged)))
    with pytest.raises(CommandError, match="未通过复核"):
        call_command("export_archive", "--agency", "揭东府办", "--year", "2026", str(tmp_path / "bad"),
                     stdout=io.StringIO(), stderr=io.StringIO())
    bad_row = next(csv.DictReader(io.StringIO((tmp_path / "bad" / "index.csv").read_text("utf-8-sig"))))
    assert bad_row["校验结果"].startswith("未通过：") and bad_row["文件名"] == ""
    assert not (tmp_path / "bad" / written.name).exists()
