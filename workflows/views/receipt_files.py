"""收文 file pages (docs/receipt.md 预览与收文处理单):

  /flows/incoming/<id>/preview/                           the 正文 PDF as watermarked page images (like 发文's preview)
  /flows/incoming/<id>/preview/<page>.png                 one page image, the viewer's name and time burnt in
  /flows/incoming/<id>/attachments/<n>/preview/           the same for a PDF attachment
  /flows/incoming/<id>/attachments/<n>/preview/<page>.png
  /flows/incoming/<id>/slip.pdf                           the 收文处理单（阅办单）, inline for printing

Thin: every 收文 comes through access_incoming_by_id (404 for anyone who may not see it, before anything is read).
"""

from __future__ import annotations

from urllib.parse import quote

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.views.decorators.http import require_GET

from documents.preview import max_pages, source_info
from documents.rendering.slip import render_receipt_slip
from documents.rendering.text import plain
from documents.selectors.incoming import access_incoming_by_id
from documents.views.attachments import page_png_response
from oa.refusals import Refusal
from workflows.selectors.receipt_files import incoming_attachment_source, incoming_pdf_source, receipt_slip


def _preview(request: HttpRequest, incoming, make_source, page_url, download_url: str) -> HttpResponse:
    context: dict = {"incoming": incoming, "download_url": download_url, "limit": max_pages()}
    try:
        source = make_source()
        info = source_info(source)
    except Refusal as exc:
        context["error"] = exc.message
        return render(request, "workflows/receipt/preview.html", context, status=exc.status)
    context.update(
        label=source.label, pages=info.pages, truncated=info.pages > len(info.sizes),
        images=[{"n": n, "url": page_url(n), "width": w, "height": h}
                for n, (w, h) in enumerate(info.sizes, start=1)],
    )
    response = render(request, "workflows/receipt/preview.html", context)
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_GET
def incoming_preview(request: HttpRequest, incoming_id: int) -> HttpResponse:
    incoming = access_incoming_by_id(request.user, incoming_id)
    return _preview(request, incoming, lambda: incoming_pdf_source(incoming),
                    lambda n: reverse("workflows:incoming_preview_page", args=[incoming.pk, n]),
                    reverse("workflows:incoming_pdf", args=[incoming.pk]))


@login_required
@require_GET
def incoming_preview_page(request: HttpRequest, incoming_id: int, page: int) -> HttpResponse:
    incoming = access_incoming_by_id(request.user, incoming_id)
    return page_png_response(request, lambda: incoming_pdf_source(incoming), page)


@login_required
@require_GET
def incoming_attachment_preview(request: HttpRequest, incoming_id: int, index: int) -> HttpResponse:
    incoming = access_incoming_by_id(request.user, incoming_id)
    return _preview(request, incoming, lambda: incoming_attachment_source(incoming, index),
                    lambda n: reverse("workflows:incoming_attachment_preview_page", args=[incoming.pk, index, n]),
                    reverse("workflows:incoming_attachment", args=[incoming.pk, index]))


@login_required
@require_GET
def incoming_attachment_preview_page(request: HttpRequest, incoming_id: int, index: int, page: int) -> HttpResponse:
    incoming = access_incoming_by_id(request.user, incoming_id)
    return page_png_response(request, lambda: incoming_attachment_source(incoming, index), page)


@login_required
@require_GET
def incoming_slip(request: HttpRequest, incoming_id: int) -> HttpResponse:
    incoming = access_incoming_by_id(request.user, incoming_id)
    slip = receipt_slip(incoming)
    response = HttpResponse(render_receipt_slip(slip), content_type="application/pdf")
    stem = plain(f"收文处理单-{slip.receipt_number or slip.title}")[:80]  # plain: no lone surrogate for quote()
    response["Content-Disposition"] = (f"inline; filename=\"receipt-slip-{incoming.pk}.pdf\"; "
                                       f"filename*=UTF-8''{quote(stem + '.pdf')}")
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


urlpatterns = [
    path("incoming/<int:incoming_id>/preview/", incoming_preview, name="incoming_preview"),
    path("incoming/<int:incoming_id>/preview/<int:page>.png", incoming_preview_page, name="incoming_preview_page"),
    path("incoming/<int:incoming_id>/attachments/<int:index>/preview/", incoming_attachment_preview,
         name="incoming_attachment_preview"),
    path("incoming/<int:incoming_id>/attachments/<int:index>/preview/<int:page>.png",
         incoming_attachment_preview_page, name="incoming_attachment_preview_page"),
    path("incoming/<int:incoming_id>/slip.pdf", incoming_slip, name="incoming_slip"),
]
