"""The final file is the final file (issue 12 point 6): before 用印 the typeset PDF is served and shown as an unsealed
draft (page, preview, file name); after 用印, 预览正式文件 and 下载正式文件 serve the sealed PDF — pdfsig finds the
seal's signature in exactly the bytes the download answers, and the preview image carries the red seal."""

from __future__ import annotations

import io
from urllib.parse import unquote

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from PIL import Image

from documents.actions.seals import check_stamp_document, do_authorise_seal_use
from documents.models import SealAuthority
from documents.seals.pdfsig import run_pdfsig
from tests.clients import login
from tests.test_seals_views import document, png, rendered, seal  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db


def body(response) -> bytes:
    assert response.status_code == 200, response.status_code
    return b"".join(response.streaming_content) if response.streaming else response.content


def filename(response) -> str:
    header = response["Content-Disposition"]
    assert header.startswith("attachment;"), header
    return unquote(header.split("filename*=", 1)[1].split("''", 1)[1])


def seal_red_pixels(png_bytes: bytes) -> int:
    """Red pixels (seal, 红头, red rule); text is grey, the watermark blue-grey, the paper white."""
    img = Image.open(io.BytesIO(png_bytes)).convert("RGB")
    r, g, b = (band.load() for band in img.split())
    w, h = img.size
    return sum(1 for y in range(0, h, 2) for x in range(0, w, 2) if r[x, y] - g[x, y] > 80 and r[x, y] - b[x, y] > 80)


def test_unsealed_draft_is_labelled_then_the_sealed_pdf_is_served(seal, document, cast, rendered):  # noqa: F811
    zhang = login(cast.zhangwei)
    detail_url = reverse("documents:detail", args=[document.pk])
    final_url = reverse("documents:final", args=[document.pk, "pdf"])
    preview_url = reverse("documents:preview", args=[document.pk])
    page = rendered.seal_anchors[0].page + 1  # anchors count pages from 0, the preview from 1
    page_url = reverse("documents:preview_page", args=[document.pk, page])

    # Before 用印: the typeset PDF, said to be a draft everywhere it is offered.
    html = zhang.get(detail_url).content.decode()
    assert "未盖章稿" in html and "下载排版稿（未盖章） PDF" in html and "预览正式文件" not in html
    response = zhang.get(final_url)
    draft = body(response)
    assert draft == rendered.data
    assert filename(response) == "冬季安全生产（未盖章稿）.pdf"
    assert run_pdfsig(draft).signatures == []
    html = zhang.get(preview_url).content.decode()
    assert "排版稿（未盖章）" in html and "尚未用印，不是正式文件" in html
    red_before = seal_red_pixels(body(zhang.get(page_url)))  # the 红头 and the red rule are red too

    do_authorise_seal_use(actor=cast.huangjianhua, document=document, step_label="用印", step_token="t1")
    use = check_stamp_document(cast.zhoumin, document, seal, step_token="t1", otp_verified=True)
    with use.signed_pdf.open("rb") as fh:
        signed = fh.read()

    # After 用印: the sealed PDF, byte for byte, with the seal's signature as pdfsig reads it.
    response = zhang.get(final_url)
    served = body(response)
    assert served == signed and served != draft
    assert filename(response) == "冬季安全生产.pdf"
    ca = SealAuthority.objects.get().cert_pem
    sigs = run_pdfsig(served, (ca,)).signatures
    assert [s.signature_validation for s in sigs] == ["Signature is Valid."]
    assert [s.certificate_validation for s in sigs] == ["Certificate is Trusted."]
    html = zhang.get(detail_url).content.decode()
    assert "预览正式文件（带水印）" in html and "下载正式文件 PDF" in html and "（已盖章）" in html
    assert "未盖章稿" not in html
    html = zhang.get(preview_url).content.decode()
    assert "正式文件（已盖章）" in html and "尚未用印" not in html
    red_after = seal_red_pixels(body(zhang.get(page_url)))
    assert red_after > red_before + 500, (red_before, red_after)  # the seal is on the previewed page

    # The DOCX never carries the seal and is named so; someone who cannot see the 公文 gets nothing.
    docx_url = reverse("documents:final", args=[document.pk, "docx"])
    assert zhang.get(docx_url).status_code == 404  # none typeset in this fixture
    document.final_docx.save("final.docx", ContentFile(b"PK\x03\x04 stand-in"), save=True)
    assert filename(zhang.get(docx_url)) == "冬季安全生产（排版稿，不含印章）.docx"
    outsider = login(cast.finance06)
    assert outsider.get(final_url).status_code == 404
    assert outsider.get(page_url).status_code == 404
