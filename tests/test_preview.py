"""PDF preview: page images rendered by poppler with the viewer's name and the time burnt into the pixels,
per viewer, never cached; invisible documents 404; non-PDF and missing PDFs give a clear message."""

from __future__ import annotations

import datetime
import io
import re

import pytest
from django.core.files.base import ContentFile
from django.test import override_settings
from django.urls import reverse
from PIL import Image, ImageChops

from documents.actions.attachments import check_add_attachment
from documents.preview import WATERMARK_RGBA, burn_watermark, pdf_info, render_page, watermark_text
from tests.test_attachments import draft, login, make_pdf, make_png, upload
from tests.test_ui import assert_clean_html, html_of

pytestmark = pytest.mark.django_db

A4_AT_96_DPI = (794, 1123)


def watermark_pixels(img: Image.Image) -> int:
    """Pixels tinted by the blue-grey watermark; text and paper are grey (R = G = B) or white."""
    r, _g, b = (band.load() for band in img.convert("RGB").split())
    w, h = img.size
    return sum(1 for y in range(0, h, 2) for x in range(0, w, 2) if b[x, y] - r[x, y] > 15)


def expected_tint() -> tuple[int, int, int]:
    """The watermark colour composited over white paper."""
    *rgb, alpha = WATERMARK_RGBA
    return tuple(round(255 + (c - 255) * alpha / 255) for c in rgb)


def png_of(response) -> Image.Image:
    assert response.status_code == 200, response.content[:200]
    assert response["Content-Type"] == "image/png"
    assert response["Cache-Control"] == "private, no-store"
    assert response.content.startswith(b"\x89PNG\r\n\x1a\n")
    img = Image.open(io.BytesIO(response.content))
    assert img.format == "PNG"
    return img


@pytest.fixture
def sealed_pdf_doc(cast):
    doc = draft(cast)
    doc.final_pdf.save("final.pdf", ContentFile(make_pdf(pages=3)), save=True)  # as typesetting would
    return doc


def test_each_viewer_gets_their_own_watermarked_pixels(cast, sealed_pdf_doc):
    doc = sealed_pdf_doc
    page_url = reverse("documents:preview_page", args=[doc.pk, 1])
    zhang = png_of(login(cast.zhangwei).get(page_url))
    li = png_of(login(cast.lina).get(page_url))
    assert zhang.size == li.size == A4_AT_96_DPI  # pdftoppm -r 96 of an A4 page

    # The clean page (poppler alone) has no pixel of the watermark tint; the served pages have thousands.
    clean = Image.open(io.BytesIO(render_page(make_pdf(pages=3), 1, A4_AT_96_DPI)))
    assert watermark_pixels(clean) == 0
    assert watermark_pixels(zhang) > 2000 and watermark_pixels(li) > 2000
    tint = expected_tint()
    colours = {c for _, c in zhang.convert("RGB").getcolors(maxcolors=1 << 20)}
    assert any(all(abs(a - b) <= 3 for a, b in zip(c, tint, strict=True)) for c in colours), tint
    # Different names → different pixels, on the watermark only (the page content underneath is the same).
    diff = ImageChops.difference(zhang.convert("RGB"), li.convert("RGB")).getbbox()
    assert diff is not None


def test_watermark_text_is_name_and_shanghai_time():
    class Viewer:
        def get_full_name(self):
            return "张伟"

    utc = datetime.datetime(2026, 11, 27, 2, 32, 40, tzinfo=datetime.UTC)
    assert watermark_text(Viewer(), utc) == "张伟 2026-11-27 10:32"
    page = render_page(make_pdf(), 1, A4_AT_96_DPI)
    one, other = burn_watermark(page, "张伟 2026-11-27 10:32"), burn_watermark(page, "李娜 2026-11-27 10:32")
    assert one != other
    assert Image.open(io.BytesIO(one)).size == Image.open(io.BytesIO(other)).size == A4_AT_96_DPI


def test_preview_page_lists_lazy_images_and_never_the_pdf(cast, sealed_pdf_doc):
    doc = sealed_pdf_doc
    response = login(cast.zhangwei).get(reverse("documents:preview", args=[doc.pk]))
    html = html_of(response)
    assert response["Cache-Control"] == "private, no-store"
    images = re.findall(r"<img class=\"preview-img\"[^>]*>", html)
    assert len(images) == 3
    for n, tag in enumerate(images, start=1):
        assert f'src="{reverse("documents:preview_page", args=[doc.pk, n])}"' in tag
        assert f'alt="第 {n} 页（共 3 页）"' in tag and 'loading="lazy"' in tag
        assert 'width="794"' in tag and 'height="1123"' in tag  # space reserved while loading
    assert "正在加载第 1 页" in html  # loading state, no script needed
    assert "水印" in html and "共 3 页" in html
    assert doc.final_pdf.name not in html and ".pdf" not in html  # the browser never gets the PDF itself
    assert_clean_html(html)


def test_invisible_document_is_404_everywhere(cast, sealed_pdf_doc):
    outsider = login(cast.finance06)
    doc = sealed_pdf_doc
    assert outsider.get(reverse("documents:preview", args=[doc.pk])).status_code == 404
    assert outsider.get(reverse("documents:preview_page", args=[doc.pk, 1])).status_code == 404
    attachment = check_add_attachment(cast.zhangwei, doc, upload("附表.pdf", make_pdf()))
    assert outsider.get(reverse("documents:attachment_preview", args=[doc.pk, attachment.pk])).status_code == 404
    assert outsider.get(
        reverse("documents:attachment_preview_page", args=[doc.pk, attachment.pk, 1])).status_code == 404


def test_attachment_pdf_preview_on_both_backends(cast, storage_backend):
    doc = draft(cast)
    attachment = check_add_attachment(cast.zhangwei, doc, upload("附表.pdf", make_pdf(pages=2)))
    client = login(cast.lina)
    html = html_of(client.get(reverse("documents:attachment_preview", args=[doc.pk, attachment.pk])))
    assert html.count('class="preview-img"') == 2 and "附表" in html
    assert reverse("documents:attachment_download", args=[doc.pk, attachment.pk]) in html
    img = png_of(client.get(reverse("documents:attachment_preview_page", args=[doc.pk, attachment.pk, 2])))
    assert img.size == A4_AT_96_DPI and watermark_pixels(img) > 2000


def test_non_pdf_and_missing_pdf_give_a_clear_message(cast):
    doc = draft(cast)
    client = login(cast.zhangwei)
    png = check_add_attachment(cast.zhangwei, doc, upload("照片.png", make_png()))
    pdf = check_add_attachment(cast.zhangwei, doc, upload("附表.pdf", make_pdf()))

    response = client.get(reverse("documents:attachment_preview", args=[doc.pk, png.pk]))
    assert response.status_code == 415
    assert "只能预览 PDF 文件；此附件是PNG 图片，请下载后查看" in response.content.decode()
    page = client.get(reverse("documents:attachment_preview_page", args=[doc.pk, png.pk, 1]))
    assert page.status_code == 415 and "只能预览 PDF 文件" in page.content.decode()

    # No final PDF yet: say so, and offer the PDF attachments that can be previewed.
    response = client.get(reverse("documents:preview", args=[doc.pk]))
    html = response.content.decode()
    assert response.status_code == 404 and "还没有正式 PDF" in html
    assert reverse("documents:attachment_preview", args=[doc.pk, pdf.pk]) in html
    assert_clean_html(html)


def test_page_limit_for_huge_files_and_out_of_range_pages(cast, sealed_pdf_doc):
    doc = sealed_pdf_doc
    client = login(cast.zhangwei)
    with override_settings(OA_PREVIEW_MAX_PAGES=2):
        html = html_of(client.get(reverse("documents:preview", args=[doc.pk])))
        assert html.count('class="preview-img"') == 2
        assert "文件共 3 页，预览只显示前 2 页" in html
        over = client.get(reverse("documents:preview_page", args=[doc.pk, 3]))
        assert over.status_code == 404 and "预览最多显示前 2 页" in over.content.decode()
    missing = client.get(reverse("documents:preview_page", args=[doc.pk, 9]))
    assert missing.status_code == 404 and "页码超出范围（共 3 页）" in missing.content.decode()


def test_damaged_pdf_is_reported_not_crashed(cast):
    doc = draft(cast)
    doc.final_pdf.save("final.pdf", ContentFile(b"%PDF-1.7\n garbage without xref"), save=True)
    response = login(cast.zhangwei).get(reverse("documents:preview", args=[doc.pk]))
    assert response.status_code == 422 and "PDF 文件已损坏" in response.content.decode()


def test_page_sizes_follow_rotation_and_huge_pages_are_scaled():
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    pdf = canvas.Canvas(buf, pagesize=(595.276, 841.89))
    pdf.showPage()
    pdf.setPageSize((5000, 3000))  # a poster: 6667 × 4000 px at 96 dpi
    pdf.showPage()
    pdf.setPageRotation(90)  # reportlab stores MediaBox 595 × 842 with /Rotate 90: shown landscape
    pdf.setPageSize((841.89, 595.276))
    pdf.showPage()
    pdf.save()
    info = pdf_info(buf.getvalue())
    assert info.pages == 3
    assert info.sizes == (A4_AT_96_DPI, (2400, 1440), (1123, 794))  # the rotated page is landscape
    for page, size in enumerate(info.sizes, start=1):  # what the page list promises is what poppler draws
        assert Image.open(io.BytesIO(render_page(buf.getvalue(), page, size))).size == size


def test_preview_says_which_fonts_the_pdf_is_set_in(cast):
    from django.utils import timezone

    from documents.rendering import BodyBlock, DocumentSpec
    from documents.rendering.pdf import render_pdf

    doc = draft(cast)
    spec = DocumentSpec(issuer_mark="揭阳市揭东区人民政府办公室文件", doc_number="揭东府办〔2026〕5号",
                        title=doc.title, main_recipients=["各镇人民政府"],
                        body=[BodyBlock("现将有关事项通知如下。"), BodyBlock("压实责任", 2)],
                        signature="揭阳市揭东区人民政府办公室", date=timezone.localdate())
    doc.final_pdf.save("final.pdf", ContentFile(render_pdf(spec)), save=True)
    html = html_of(login(cast.zhangwei).get(reverse("documents:preview", args=[doc.pk])))
    assert "字体：UMingCN-0、UKaiCN-0" in html and "（均已嵌入）" in html
    assert "本文件使用替代字体：仿宋_GB2312→AR PL UMing CN；楷体_GB2312→AR PL UKai CN" in html
