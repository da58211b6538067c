"""在职证明 / 收入证明: a one-page PDF set with the 公文 fonts, stamped with the 主管部门's agency seal through the
documents engine's sealing machinery (PAdES signature + GB/T 38540 SES, documents/seals), with a QR code whose URL
opens the 验章 report of exactly this certificate (/services/certificates/<public_id>/verify)."""

from __future__ import annotations

import hashlib
import io
import uuid

import qrcode
from django.conf import settings
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone
from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from documents.models import Seal
from documents.rendering import geometry as g
from documents.rendering.fonts import resolve_fonts
from documents.rendering.layout import SealAnchor
from documents.rendering.text import lines_paragraph, paragraph
from documents.seals import keys, ses, sm2, stamping
from oa.actions.audit import do_record_audit
from oa.refusals import Refusal
from workflows.services.models import ServiceApplication, ServiceCertificate, ServiceItem

PAGE_W, PAGE_H = A4
SEAL_DIAMETER_PT = 42 * mm
SIGN_RIGHT_PT = PAGE_W - 40 * mm  # the 署名 and date are right-aligned here
SIGN_Y_PT = 120 * mm  # baseline of the 署名 line


def _font(name: str) -> str:
    face = resolve_fonts().fonts[name]
    key = f"OA-CERT-{hashlib.sha256(f'{face.path}:{face.subfont_index}'.encode()).hexdigest()[:10]}"
    if key not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(key, str(face.path), subfontIndex=face.subfont_index))
    return key


def verify_url(public_id: uuid.UUID) -> str:
    """What the QR code carries: the deployment's public address (OA_PUBLIC_BASE_URL) + the verification path."""
    path = reverse("services:certificate_verify", args=[public_id])
    return f"{getattr(settings, 'OA_PUBLIC_BASE_URL', '') or ''}{path}"


def certificate_text(application: ServiceApplication) -> tuple[str, list[str]]:
    """Title and paragraphs, from the prefill the system supplied (never from what the applicant typed, except 用途)."""
    p = {k: v["value"] for k, v in application.prefill.items()}
    item = application.item
    who = f"{p.get('name', application.applicant.name)}同志"
    base = (f"兹证明{who}系{p.get('agency', application.agency.name)}{p.get('department', application.department.name)}"
            f"在职工作人员")
    if item.handler == ServiceItem.Handler.EMPLOYMENT_CERT:
        body = base + (f"，于{p['hire_date']}入职" if "hire_date" in p else "") + (
            f"，现任{p['post']}" if p.get("post") else "") + (f"，职级为{p['grade']}" if p.get("grade") else "") + "。"
        title = "在职证明"
    else:
        body = base + (f"，职级为{p['grade']}" if p.get("grade") else "") + (
            f"，收入档次为{p['income_band']}" if p.get("income_band") else "") + (
            f"，上一年度收入为{p['annual_income']}" if p.get("annual_income") else "") + "。"
        title = "收入证明"
    purpose = application.form.get("purpose", "")
    paragraphs = [body, f"本证明用于{purpose}。" if purpose else "", "特此证明。"]
    return title, [t for t in paragraphs if t]


def render_certificate(application: ServiceApplication, public_id: uuid.UUID, agency_name: str) -> tuple[bytes, SealAnchor]:
    title, paragraphs = certificate_text(application)
    title_font, body_font = _font(g.FONT_XIAOBIAOSONG), _font(g.FONT_FANGSONG)
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, pageCompression=1)
    canvas.setTitle(title)
    canvas.setAuthor(agency_name)
    width = PAGE_W - 2 * 28 * mm
    title_style = ParagraphStyle("t", fontName=title_font, fontSize=22, leading=32, alignment=TA_CENTER)
    body_style = ParagraphStyle("b", fontName=body_font, fontSize=16, leading=29, alignment=TA_JUSTIFY,
                                firstLineIndent=32)
    y = PAGE_H - 50 * mm
    for text, style in [(title, title_style)] + [(t, body_style) for t in paragraphs]:
        para = paragraph(text, style)  # escaped by documents.rendering.text (Paragraph parses markup)
        _, h = para.wrap(width, PAGE_H)
        y -= h + (18 if style is title_style else 6)
        para.drawOn(canvas, 28 * mm, y)
    right = ParagraphStyle("r", fontName=body_font, fontSize=16, leading=24, alignment=TA_RIGHT)
    issued = timezone.localdate()
    for offset, text in ((0, agency_name), (1, f"{issued.year}年{issued.month}月{issued.day}日")):
        para = paragraph(text, right)
        para.wrap(SIGN_RIGHT_PT - 28 * mm, 30)
        para.drawOn(canvas, 28 * mm, SIGN_Y_PT - offset * 28)
    url = verify_url(public_id)
    image = qrcode.make(url, box_size=4, border=1).get_image()
    png = io.BytesIO()
    image.save(png, format="PNG")
    png.seek(0)
    canvas.drawImage(ImageReader(png), 28 * mm, 30 * mm, width=32 * mm, height=32 * mm)
    small = ParagraphStyle("s", fontName=body_font, fontSize=9, leading=13)
    note = lines_paragraph([f"证明编号：{public_id}　办件编号：{application.number}",
                            "扫描二维码或访问下列地址验证本证明的电子印章：", url], small)
    note.wrap(PAGE_W - 28 * mm - 65 * mm - 20 * mm, 60 * mm)
    note.drawOn(canvas, 65 * mm, 34 * mm)
    canvas.showPage()
    canvas.save()
    name_width = pdfmetrics.stringWidth(agency_name, body_font, 16)
    anchor = SealAnchor(page=0, agency=agency_name, center_x_pt=SIGN_RIGHT_PT - name_width / 2,
                        center_y_pt=SIGN_Y_PT + 6, max_diameter_pt=SEAL_DIAMETER_PT)
    return buffer.getvalue(), anchor


def official_seal_of(application: ServiceApplication) -> Seal:
    now = timezone.now()
    agency = application.item.department.agency
    seal = (Seal.objects.filter(agency=agency, kind=Seal.Kind.OFFICIAL, is_active=True, revoked_at__isnull=True,
                                valid_from__lte=now, valid_to__gte=now).select_related("agency", "authority")
            .order_by("-created_at").first())
    if seal is None:
        raise Refusal("certificate_no_seal", f"“{agency.name}”没有可用的电子公章，无法出具电子证明：请系统管理员先制章。",
                      status=409)
    return seal


def do_issue_certificate(application: ServiceApplication) -> ServiceCertificate:
    """Render, seal and store the certificate (inside the flow's 办结 transaction). The approval of the route is the
    用印 authorisation for this one certificate; the seal use is audited like any other (action seal.use)."""
    seal = official_seal_of(application)
    public_id = uuid.uuid4()
    agency_name = seal.agency.name
    pdf, anchor = render_certificate(application, public_id, agency_name)
    keyring = keys.keyring_from_settings()
    key_der = keys.decrypt(seal.key_encrypted, context=seal.key_context("x509"), keyring=keyring)
    sm2_private = keys.decrypt(seal.sm2_private_encrypted, context=seal.key_context("sm2"), keyring=keyring).hex()
    with seal.image.open("rb") as fh:
        png = fh.read()
    material = stamping.SealMaterial(agency_names=(agency_name,), png=png, key_der=key_der, cert_pem=seal.cert_pem,
                                     chain_pems=(seal.authority.cert_pem,), signer_name=seal.name)
    stamped = stamping.stamp_pdf(pdf, [anchor], material)
    ses_der = ses.sign_document(seal_der=bytes(seal.ses_seal), signer_cert_der=bytes(seal.sm2_cert_der),
                                signer_private_hex=sm2_private, signer_public_hex=seal.sm2_public_hex,
                                pdf_bytes=stamped.pdf, time_info=stamped.signed_at)
    certificate = ServiceCertificate(application=application, public_id=public_id, seal=seal,
                                     pdf_sha256=hashlib.sha256(stamped.pdf).hexdigest(),
                                     pades_signature_sha256=stamped.signature_value_sha256, ses_signature=ses_der,
                                     issued_at=stamped.signed_at)
    certificate.pdf.save(f"{public_id}.pdf", ContentFile(stamped.pdf), save=False)
    certificate.save()
    do_record_audit(actor=None, actor_name="系统（电子证明）", action="seal.use", obj=application, changes={
        "seal": seal.name, "es_id": seal.es_id, "certificate": str(public_id), "number": application.number,
        "step": "电子证明", "signed_pdf_sha256": certificate.pdf_sha256, "signed_pdf_sm3": sm2.sm3(stamped.pdf).hex(),
        "ses_sha256": hashlib.sha256(ses_der).hexdigest(), "signed_at": stamped.signed_at})
    return certificate
