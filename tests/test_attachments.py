"""附件: upload, download and removal on BOTH storage backends (filesystem and S3 via moto), type by content,
size limit, text for search, 附件说明 kept in step, permissions, audit — and every refusal leaves nothing stored."""

from __future__ import annotations

import hashlib
import io
import re
import struct
import urllib.request
import zipfile
import zlib
from urllib.parse import parse_qs, quote, unquote, urlsplit

import docx
import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from django.urls import reverse
from PIL import Image
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from documents.actions.attachments import check_add_attachment, check_remove_attachment
from documents.actions.documents import do_create_document, do_grant_document_access, do_set_document_status
from documents.models import Attachment, OfficialDocument
from oa.actions.tokens import do_issue_token
from oa.models import Agency, Appointment, AuditEntry
from oa.refusals import Refusal
from tests.clients import login
from tests.test_ui import assert_clean_html, html_of

pytestmark = pytest.mark.django_db

OFFICE = "揭阳市揭东区人民政府办公室"

# ---- test files (built here, checked by independent readers where it matters) -----------------------------


def make_pdf(pages: int = 1, text: str = "关于做好年度安全生产工作的通知", pad: int = 0) -> bytes:
    if "CJK" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("CJK", "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", subfontIndex=0))
    buf = io.BytesIO()
    pdf = canvas.Canvas(buf)
    for n in range(1, pages + 1):
        pdf.setFont("CJK", 16)
        pdf.drawString(72, 720, f"{text} 第{n}页")
        pdf.showPage()
    pdf.save()
    return buf.getvalue() + (b"\n%" + b"x" * pad + b"\n" if pad else b"")


def make_docx(paragraphs=("一、总体要求", "各单位要高度重视。"), cell: str = "联系人：张伟") -> bytes:
    document = docx.Document()
    for p in paragraphs:
        document.add_paragraph(p)
    document.add_table(rows=1, cols=1).rows[0].cells[0].text = cell
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            # A fixed member time: the same content gives the same bytes whenever (and at whatever clock) it is built.
            z.writestr(zipfile.ZipInfo(name, date_time=(2026, 1, 5, 9, 0, 0)), data, compress_type=zipfile.ZIP_DEFLATED)
    return buf.getvalue()


CONTENT_TYPES = b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>'


def make_xlsx(strings=("单位名称", "揭东区财政局")) -> bytes:
    ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    sst = "".join(f"<si><t>{s}</t></si>" for s in strings)
    return _zip({
        "[Content_Types].xml": CONTENT_TYPES,
        "xl/workbook.xml": f'<workbook xmlns="{ns}"><sheets/></workbook>'.encode(),
        "xl/sharedStrings.xml": f'<sst xmlns="{ns}">{sst}</sst>'.encode(),
    })


def make_ofd(text: str = "揭东区人民政府办公室文件") -> bytes:
    ns = "http://www.ofdspec.org/2016"
    return _zip({
        "OFD.xml": f'<ofd:OFD xmlns:ofd="{ns}"><ofd:DocBody/></ofd:OFD>'.encode(),
        "Doc_0/Pages/Page_0/Content.xml": (
            f'<ofd:Page xmlns:ofd="{ns}"><ofd:Content><ofd:Layer><ofd:TextObject>'
            f"<ofd:TextCode X=\"0\" Y=\"0\">{text}</ofd:TextCode></ofd:TextObject></ofd:Layer></ofd:Content></ofd:Page>"
        ).encode(),
    })


def make_png(size=(40, 30), colour=(200, 30, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, format="PNG")
    return buf.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` × ``height`` pixels (a decompression bomb needs nothing more)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def zip_bomb(kind: str = "docx") -> bytes:
    """A real OOXML skeleton whose main part is 20 MB of zeros: ~20 KB on the wire, ratio ≈ 1000."""
    main = "word/document.xml" if kind == "docx" else "xl/workbook.xml"
    return _zip({"[Content_Types].xml": CONTENT_TYPES, main: b"\0" * (20 * 1024 * 1024)})


def lying_zip_bomb() -> bytes:
    """A small .docx whose central directory claims a 300 MB part (declared sizes are what bombs lie about)."""
    data = bytearray(make_docx())
    offset = data.rfind(b"PK\x01\x02")  # last central-directory entry
    struct.pack_into("<I", data, offset + 24, 300 * 1024 * 1024)  # uncompressed size field
    return bytes(data)


# ---- helpers ----------------------------------------------------------------------------------------------


def draft(cast, title: str = "关于做好2027年元旦春节期间安全生产工作的通知") -> OfficialDocument:
    agency = Agency.objects.get(name=OFFICE)
    department = Appointment.objects.get(person=cast.zhangwei, is_primary=True).department
    return do_create_document(actor=cast.zhangwei, agency=agency, title=title, department=department)


def upload(name: str, data: bytes, content_type: str = "application/octet-stream") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def stored_keys(prefix: str = "documents") -> set[str]:
    """Every object under ``prefix`` in the current default storage (either backend)."""
    try:
        dirs, files = default_storage.listdir(prefix)
    except FileNotFoundError:
        return set()
    keys = {f"{prefix}/{f}" for f in files}
    for d in dirs:
        keys |= stored_keys(f"{prefix}/{d}")
    return keys


def read_stored(key: str) -> bytes:
    with default_storage.open(key, "rb") as fh:
        return fh.read()



def list_url(doc) -> str:
    return reverse("documents:attachments", args=[doc.pk])


def api_client(person) -> Client:
    raw, _ = do_issue_token(person, name="测试设备")
    return Client(headers={"Authorization": f"Bearer {raw}"})


def audits(doc, action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action, object_id=str(doc.pk)).order_by("id"))


def assert_refused(doc, before: set[str], code: str, call) -> Refusal:
    with pytest.raises(Refusal) as info:
        call()
    assert info.value.code == code, (info.value.code, info.value.message)
    assert stored_keys() == before  # no new object in storage …
    assert not Attachment.objects.filter(document=doc).exists()  # … and no row
    assert not audits(doc, "attachment.add")
    return info.value


# ---- upload / download / remove on both backends -----------------------------------------------------------


def test_upload_stores_under_a_random_key_with_hash_size_and_text(cast, storage_backend):
    doc = draft(cast)
    pdf = make_pdf(text="关于做好年度安全生产工作的通知")
    attachment = check_add_attachment(cast.zhangwei, doc, upload("安全生产检查表.pdf", pdf), title="安全生产检查表")

    attachment.refresh_from_db()
    assert (attachment.role, attachment.position, attachment.name) == ("attachment", 1, "安全生产检查表.pdf")
    assert attachment.content_type == "application/pdf"
    assert attachment.size == len(pdf) and attachment.sha256 == hashlib.sha256(pdf).hexdigest()
    # Random key, no trace of the original name; the stored bytes are exactly the upload.
    assert re.fullmatch(rf"documents/{doc.pk}/[0-9a-f]{{32}}", attachment.file.name)
    assert stored_keys() == {attachment.file.name}
    assert read_stored(attachment.file.name) == pdf
    assert "安全生产工作的通知" in attachment.text  # pdftotext
    doc.refresh_from_db()
    assert doc.attachment_note == ["安全生产检查表"]
    entry = audits(doc, "attachment.add")[0]
    assert entry.actor == cast.zhangwei
    assert entry.changes["sha256"] == attachment.sha256 and entry.changes["name"] == "安全生产检查表.pdf"
    assert entry.changes["attachment_note"] == [[], ["安全生产检查表"]]


def test_download_after_the_permission_check_on_both_backends(cast, storage_backend):
    doc = draft(cast)
    data = make_docx()
    attachment = check_add_attachment(cast.zhangwei, doc, upload("工作方案（征求意见稿）.docx", data))
    url = reverse("documents:attachment_download", args=[doc.pk, attachment.pk])
    quoted = quote("工作方案（征求意见稿）.docx", safe="")

    # Someone who cannot see the document gets 404, on both backends, before any URL is signed.
    assert login(cast.finance06).get(url).status_code == 404
    response = login(cast.lina).get(url)  # 李娜 sees every document of 区府办 (reviewer)
    if storage_backend == "filesystem":
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == data
        assert response["Content-Disposition"] == f"attachment; filename=\"download.docx\"; filename*=UTF-8''{quoted}"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Content-Type"] == attachment.content_type
        assert "no-store" in response["Cache-Control"]
    else:
        # MinIO: a short-lived presigned URL on the S3 endpoint; S3 itself names the attachment.
        assert response.status_code == 302 and "no-store" in response["Cache-Control"]
        location = urlsplit(response["Location"])
        query = parse_qs(location.query)
        assert location.netloc == default_storage.client._base_url.host
        assert int(query["X-Amz-Expires"][0]) <= 300
        assert "X-Amz-Signature" in query
        assert attachment.name not in unquote(location.path)  # the key is random
        with urllib.request.urlopen(response["Location"], timeout=10) as s3:
            assert s3.read() == data
            assert s3.headers["Content-Disposition"] == f"attachment; filename=\"download.docx\"; filename*=UTF-8''{quoted}"
            assert s3.headers["Content-Type"] == attachment.content_type
        # Streaming through Django is the alternative for networks where browsers cannot reach MinIO.
        with override_settings(OA_MINIO_DOWNLOAD="stream"):
            streamed = login(cast.lina).get(url)
        assert streamed.status_code == 200 and b"".join(streamed.streaming_content) == data
        assert streamed["Content-Disposition"].startswith("attachment;")


def test_remove_renumbers_syncs_note_audits_and_deletes_the_object(cast, storage_backend,
                                                                  django_capture_on_commit_callbacks):
    doc = draft(cast)
    first = check_add_attachment(cast.zhangwei, doc, upload("a.pdf", make_pdf()), title="2027年度工作要点")
    second = check_add_attachment(cast.zhangwei, doc, upload("b.txt", "值班表\n张伟 李娜".encode()), title="值班表")
    third = check_add_attachment(cast.zhangwei, doc, upload("c.png", make_png()), title="现场照片。")
    assert [a.position for a in (first, second, third)] == [1, 2, 3]
    doc.refresh_from_db()
    assert doc.attachment_note == ["2027年度工作要点", "值班表", "现场照片"]  # no trailing punctuation
    assert stored_keys() == {first.file.name, second.file.name, third.file.name}

    with django_capture_on_commit_callbacks(execute=True):
        check_remove_attachment(cast.zhangwei, second)
    assert not Attachment.objects.filter(pk=second.pk).exists()
    assert list(Attachment.objects.filter(document=doc).values_list("title", "position")) == [
        ("2027年度工作要点", 1), ("现场照片", 2)]
    doc.refresh_from_db()
    assert doc.attachment_note == ["2027年度工作要点", "现场照片"]
    assert stored_keys() == {first.file.name, third.file.name}  # the object left storage after commit
    entry = audits(doc, "attachment.remove")[0]
    assert entry.changes["name"] == "b.txt" and entry.changes["position"] == 2
    assert entry.changes["attachment_note"] == [["2027年度工作要点", "值班表", "现场照片"],
                                                ["2027年度工作要点", "现场照片"]]


def test_page_upload_list_and_remove_through_http(cast, storage_backend, django_capture_on_commit_callbacks):
    doc = draft(cast)
    client = login(cast.zhangwei)
    page = html_of(client.get(list_url(doc)))
    assert "还没有附件" in page and 'enctype="multipart/form-data"' in page
    assert 'for="id_file"' in page and 'for="id_title"' in page and 'for="id_role"' in page  # labels
    assert_clean_html(page)

    response = client.post(list_url(doc), {"file": upload("经费预算表.xlsx", make_xlsx()), "title": "",
                                            "role": "attachment"})
    assert response.status_code == 302
    attachment = Attachment.objects.get(document=doc)
    assert attachment.title == "经费预算表" and "揭东区财政局" in attachment.text
    page = html_of(client.get(list_url(doc)))
    assert "已上传“经费预算表”" in page
    assert "经费预算表.xlsx" in page and "Excel 表格（XLSX）" in page and "张伟 上传于" in page
    assert reverse("documents:attachment_download", args=[doc.pk, attachment.pk]) in page
    assert "附件：经费预算表" in page  # 附件说明 (one attachment: no number)
    assert_clean_html(page)

    confirm = html_of(client.get(reverse("documents:attachment_remove", args=[doc.pk, attachment.pk])))
    assert "确认删除" in confirm
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("documents:attachment_remove", args=[doc.pk, attachment.pk]))
    assert response.status_code == 302
    assert not Attachment.objects.filter(document=doc).exists() and stored_keys() == set()


def test_api_post_get_delete_on_both_backends(cast, storage_backend, django_capture_on_commit_callbacks):
    doc = draft(cast)
    api = api_client(cast.zhangwei)
    url = f"/api/documents/{doc.pk}/attachments"
    response = api.post(url, {"file": upload("会议纪要.ofd", make_ofd()), "title": "会议纪要"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "会议纪要.ofd" and body["kind"] == "ofd" and body["position"] == 1
    assert body["uploaded_by"]["name"] == "张伟" and body["preview_url"] is None
    assert Attachment.objects.get(pk=body["id"]).text == "揭东区人民政府办公室文件"

    listing = api.get(url).json()
    assert [a["id"] for a in listing["results"]] == [body["id"]] and listing["attachment_note"] == ["会议纪要"]
    assert "attachment" in listing["can_add"]
    download = api.get(body["download_url"])
    if storage_backend == "filesystem":
        assert download.status_code == 200 and b"".join(download.streaming_content) == make_ofd()
    else:
        assert download.status_code == 302 and "X-Amz-Signature" in download["Location"]

    # Bad input through the API: the stable code and a Chinese message.
    bad = api.post(url, {"file": upload("setup.exe", b"MZ\x90\x00" + b"\0" * 200)})
    assert bad.status_code == 400 and bad.json()["code"] == "unsupported_type" and "可执行程序" in bad.json()["message"]
    assert api_client(cast.finance06).get(url).status_code == 404

    with django_capture_on_commit_callbacks(execute=True):
        assert api.delete(f"{url}/{body['id']}").status_code == 204
    assert not Attachment.objects.filter(document=doc).exists() and stored_keys() == set()
    assert api.delete(f"{url}/{body['id']}").json()["code"] == "not_found"


# ---- bad input: a specific error each, nothing stored ------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "code", "words"),
    [
        ("通知.pdf", make_png(), "type_mismatch", "文件内容与扩展名不符"),
        ("表格.xlsx", make_docx(), "type_mismatch", "Word 文档"),
        ("说明.txt", make_pdf(), "type_mismatch", "扩展名为 .txt"),
        ("setup.exe", b"MZ\x90\x00\x03" + b"\0" * 500, "unsupported_type", "可执行程序"),
        ("旧文件.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 500, "unsupported_type", "另存为"),
        ("数据.bin", bytes(range(256)) * 4, "unsupported_type", "无法识别"),
        ("资料.zip", _zip({"a.txt": b"hello"}), "unsupported_type", "压缩包"),
        ("空.pdf", b"", "file_empty", "空的"),
        ("炸弹.docx", zip_bomb("docx"), "zip_ratio", "压缩炸弹"),
        ("炸弹.xlsx", zip_bomb("xlsx"), "zip_ratio", "压缩炸弹"),
        ("谎报.docx", lying_zip_bomb(), "zip_too_large", "解压后过大"),
        ("宏.docx", _zip({"[Content_Types].xml": CONTENT_TYPES, "word/document.xml": b"<w/>",
                          "word/vbaProject.bin": b"\0" * 10}), "macro_refused", "宏"),
        ("坏.pdf", b"%PDF-1.7\n this is not a pdf at all", "pdf_unreadable", "已损坏"),
        ("坏.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "image_damaged", "已损坏"),
        ("巨图.png", png_header_only(12_000, 9_000), "image_too_large", "1 亿像素"),  # our limit
        ("炸弹.png", png_header_only(30_000, 30_000), "image_too_large", "1 亿像素"),  # Pillow's bomb error
        ("坏.docx", _zip({"[Content_Types].xml": CONTENT_TYPES, "word/document.xml": b"<not-ooxml"}),
         "docx_unreadable", "已损坏"),
    ],
)
def test_bad_input_is_refused_with_a_specific_code_and_nothing_stored(cast, name, data, code, words):
    doc = draft(cast)
    before = stored_keys()
    error = assert_refused(doc, before, code, lambda: check_add_attachment(cast.zhangwei, doc, upload(name, data)))
    assert words in error.message


@pytest.mark.parametrize("backend_case", ["oversize", "mismatch", "bomb"])
def test_refusals_store_nothing_on_either_backend(cast, storage_backend, backend_case):
    doc = draft(cast)
    before = stored_keys()
    files = {
        "oversize": ("大文件.pdf", make_pdf(pad=80_000), "file_too_large"),
        "mismatch": ("通知.pdf", make_png(), "type_mismatch"),
        "bomb": ("炸弹.docx", zip_bomb(), "zip_ratio"),
    }
    name, data, code = files[backend_case]
    with override_settings(OA_UPLOAD_MAX_BYTES=64 * 1024):
        assert_refused(doc, before, code, lambda: check_add_attachment(cast.zhangwei, doc, upload(name, data)))


def test_size_is_checked_before_the_file_is_read(cast):
    class HugeUpload:
        name = "巨型文件.pdf"
        size = 51 * 1024 * 1024  # over the default 50 MB

        def read(self, *args):
            raise AssertionError("the file must not be read once its size is known to be too large")

        def seek(self, *args):
            raise AssertionError("not even touched")

    doc = draft(cast)
    error = assert_refused(doc, stored_keys(), "file_too_large",
                           lambda: check_add_attachment(cast.zhangwei, doc, HugeUpload()))
    assert "51 MB" in error.message and "50 MB" in error.message and error.status == 413


def test_oversize_upload_over_http_is_stopped_by_the_upload_handler(cast, storage_backend):
    doc = draft(cast)
    before = stored_keys()
    with override_settings(OA_UPLOAD_MAX_BYTES=64 * 1024):
        response = login(cast.zhangwei).post(list_url(doc), {"file": upload("大文件.pdf", make_pdf(pad=200_000)),
                                                             "role": "attachment"})
        api = api_client(cast.zhangwei).post(f"/api/documents/{doc.pk}/attachments",
                                             {"file": upload("大文件.pdf", make_pdf(pad=200_000))})
    assert response.status_code == 413
    assert "文件过大，单个文件不能超过 64 KB" in response.content.decode()
    assert 'class="field field-invalid"' in response.content.decode()  # inline, next to the file control
    assert api.status_code == 413 and api.json()["code"] == "file_too_large"
    assert stored_keys() == before and not Attachment.objects.filter(document=doc).exists()


def test_page_shows_the_specific_error_in_chinese(cast):
    doc = draft(cast)
    response = login(cast.zhangwei).post(list_url(doc), {"file": upload("通知.pdf", make_png()), "role": "attachment"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "文件内容与扩展名不符：扩展名为 .pdf，内容却是PNG 图片" in html
    assert not Attachment.objects.filter(document=doc).exists()
    assert_clean_html(html)


# ---- permissions ---------------------------------------------------------------------------------------------


def test_who_may_add_and_remove(cast):
    doc = draft(cast)
    before = stored_keys()
    # 李娜 sees the draft (reviewer of the agency) but may not change it …
    assert_refused(doc, before, "not_editable",
                   lambda: check_add_attachment(cast.lina, doc, upload("a.pdf", make_pdf())))
    page = html_of(login(cast.lina).get(list_url(doc)))
    assert "不能添加或删除附件" in page and 'enctype="multipart/form-data"' not in page
    # … until a flow step grants her edit rights.
    do_grant_document_access(doc, cast.lina, can_edit=True)
    by_lina = check_add_attachment(cast.lina, doc, upload("a.pdf", make_pdf()))
    assert by_lina.uploaded_by == cast.lina

    # Someone outside the agency does not even learn that the document exists.
    outsider = login(cast.finance06)
    assert outsider.get(list_url(doc)).status_code == 404
    assert outsider.post(reverse("documents:attachment_remove", args=[doc.pk, by_lina.pk])).status_code == 404
    # An attachment id of another document is 404 too (no cross-document access by guessing ids).
    other = draft(cast, title="另一份通知")
    assert login(cast.zhangwei).get(
        reverse("documents:attachment_download", args=[other.pk, by_lina.pk])).status_code == 404

    # Once sealed, the document's attachments are frozen, for the drafter too.
    do_set_document_status(doc, OfficialDocument.Status.SEALED, actor=cast.zhangwei)
    with pytest.raises(Refusal) as info:
        check_remove_attachment(cast.zhangwei, by_lina)
    assert info.value.code == "not_editable" and info.value.status == 403
    assert Attachment.objects.filter(pk=by_lina.pk).exists()
    response = login(cast.zhangwei).post(reverse("documents:attachment_remove", args=[doc.pk, by_lina.pk]))
    assert response.status_code == 403 and Attachment.objects.filter(pk=by_lina.pk).exists()


def test_clerk_registers_scans_but_not_attachments(cast):
    doc = draft(cast)
    before = stored_keys()
    # 刘洋 (文书) registers the scan of the paper original …
    scan = check_add_attachment(cast.liuyang, doc, upload("纸质来文.pdf", make_pdf()), role="scan", title="来文扫描件")
    assert scan.role == "scan" and scan.position == 1
    doc.refresh_from_db()
    assert doc.attachment_note == []  # scans are not 附件 of the 公文
    # … but only images and layout formats are scans, and 附件 stay with those who may edit the 公文.
    with pytest.raises(Refusal) as info:
        check_add_attachment(cast.liuyang, doc, upload("说明.txt", "扫描说明".encode()), role="scan")
    assert info.value.code == "type_not_allowed"
    with pytest.raises(Refusal) as info:
        check_add_attachment(cast.liuyang, doc, upload("a.pdf", make_pdf()), role="attachment")
    assert info.value.code == "not_editable"
    assert stored_keys() - before == {scan.file.name}
    assert Attachment.objects.filter(document=doc).count() == 1


def test_text_extraction_for_search(cast):
    doc = draft(cast)
    word = check_add_attachment(cast.zhangwei, doc, upload("方案.docx", make_docx()))
    assert "一、总体要求" in word.text and "各单位要高度重视。" in word.text and "联系人：张伟" in word.text
    text = check_add_attachment(cast.zhangwei, doc, upload("名单.csv", "\ufeff姓名,单位\n张伟,秘书科\n".encode()))
    assert text.content_type.startswith("text/plain") and "张伟,秘书科" in text.text and "\ufeff" not in text.text
    image = check_add_attachment(cast.zhangwei, doc, upload("照片.JPG", _jpeg()))
    assert image.content_type == "image/jpeg" and image.text == ""  # no OCR


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (20, 20), (10, 200, 10)).save(buf, format="JPEG")
    return buf.getvalue()


def test_upload_page_still_checks_csrf(cast):
    """The page view is csrf_exempt only so the size-limiting upload handler can go in first; the check
    itself runs inside (csrf_protect). A forged cross-site upload must store nothing."""
    doc = draft(cast)
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.zhangwei)
    before = stored_keys()
    response = client.post(list_url(doc), {"file": upload("a.pdf", make_pdf()), "role": "attachment"})
    assert response.status_code == 403
    assert stored_keys() == before and not Attachment.objects.filter(document=doc).exists()
    # With the token from the page, the same upload goes through.
    client.get(list_url(doc))
    token = client.cookies["csrftoken"].value
    response = client.post(list_url(doc), {"file": upload("a.pdf", make_pdf()), "role": "attachment",
                                           "csrfmiddlewaretoken": token})
    assert response.status_code == 302 and Attachment.objects.filter(document=doc).count() == 1


def test_search_index_follows_attachments(cast, django_capture_on_commit_callbacks):
    from documents.search import index_tokens

    doc = draft(cast)
    plan = check_add_attachment(cast.zhangwei, doc, upload("预案.docx", make_docx(paragraphs=("防汛抗旱应急预案",))))
    doc.refresh_from_db()
    words = set(index_tokens("防汛抗旱应急预案"))
    assert words and words <= set(doc.search_text.split())  # found by what is inside the attachment
    with django_capture_on_commit_callbacks(execute=True):
        check_remove_attachment(cast.zhangwei, plan)
    doc.refresh_from_db()
    assert not words & set(doc.search_text.split())
