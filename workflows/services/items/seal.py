"""用印申请 (docs/services.md 用印申请): physical or electronic use of one of the agency's seals.

The route's last step is the 用印 step, held by the seal's 印章管理员. The route's approvals before it are the 用印
authorisation for this one file; at that step the keeper stamps with the same rules and machinery as 发文 用印
(documents.actions.seals: ``refuse_unusable_seal`` — holder role, 动态口令 in this session, seal valid — and
``sign_pdf_with_seal`` — visible PAdES signature + GB/T 38540 SES). A physical 用印 is recorded (seal, copies, who,
when). The stamped PDF verifies with pdfsig and on the 验章 page (its SES is found by signature value).
"""

from __future__ import annotations

import hashlib
import io
from typing import Any

from django import forms
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader

from documents.models import Seal
from documents.rendering.layout import SealAnchor
from oa.actions.audit import do_record_audit
from oa.models import Person, Role
from oa.refusals import Refusal
from workflows.services.handlers import ServiceHandler, check_route_ends_single, register_handler
from workflows.services.items import demo_affairs
from workflows.services.items.affairs_models import SealRequest

PDF_MAX_BYTES = 20 * 1024 * 1024
MM = 72 / 25.4
SEAL_MAX_DIAMETER_PT = 42 * MM


def usable_seals(item) -> list[Seal]:
    """The 主管机关's seals that can be used now (the registry: physical seals share their e-seal's name)."""
    now = timezone.now()
    return list(Seal.objects.filter(agency=item.department.agency, is_active=True, revoked_at__isnull=True,
                                    valid_from__lte=now, valid_to__gte=now).select_related("agency")
                .order_by("kind", "name"))


def form_fields(item, applicant, amending: bool) -> dict[str, forms.Field]:
    seals = [(s.pk, f"{s.name}（{s.get_kind_display()}）") for s in usable_seals(item)]
    return {
        "mode": forms.ChoiceField(label="用印方式", choices=SealRequest.Mode.choices, widget=forms.RadioSelect),
        "seal": forms.TypedChoiceField(label="印章", coerce=int, choices=[("", "请选择"), *seals]),
        "document_title": forms.CharField(label="用印文件名称", max_length=100),
        "copies": forms.IntegerField(label="份数（实物用印）", min_value=1, max_value=100, required=False),
        "document_pdf": forms.FileField(
            label="待盖章文件（电子用印，PDF）" + ("（不重新上传则保留原文件）" if amending else ""), required=False,
            help_text="仅 PDF，不超过 20 MB；印章盖在所选页的右下方"),
        "page": forms.IntegerField(label="盖章页（电子用印，不填为最后一页）", min_value=1, max_value=10000,
                                   required=False),
        "purpose": forms.CharField(label="用印事由", max_length=500, widget=forms.Textarea(attrs={"rows": 3})),
    }


def _pdf_facts(content: bytes) -> tuple[int, list[tuple[float, float, float, float]]]:
    """Page count and each page's box (llx, lly, urx, ury); Refusal for a PDF that cannot be stamped."""
    try:
        reader = PdfFileReader(io.BytesIO(content), strict=False)
        if reader.encrypted:
            raise Refusal("seal_pdf_encrypted", "PDF 文件设置了密码或加密，无法盖章：请上传未加密的 PDF。")
        count = int(reader.root["/Pages"]["/Count"])
        boxes = []
        for i in range(count):
            page = reader.find_page_for_modification(i)[0].get_object()
            node, media = page, None
            while node is not None and media is None:
                media = node.get("/MediaBox")
                parent = node.get("/Parent")
                node = parent.get_object() if parent is not None else None
            boxes.append(tuple(float(v) for v in media))
    except Refusal:
        raise
    except (PdfError, ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
        raise Refusal("seal_pdf_unreadable", f"PDF 文件已损坏，无法盖章（{exc.__class__.__name__}）。") from None
    if count < 1:
        raise Refusal("seal_pdf_unreadable", "PDF 文件没有页面。")
    return count, boxes


def _clean(value: Any, what: str, *, required: bool, limit: int = 500) -> str:
    from workflows.actions.opinions import refuse_control_chars_in

    value = (value or "").strip()
    if required and not value:
        raise Refusal("field_required", f"请填写{what}。")
    if len(value) > limit:
        raise Refusal("field_too_long", f"{what}不能超过 {limit} 字。")
    refuse_control_chars_in(value, what)
    return value


def check(applicant: Person, item, extra: dict, application_id: int | None) -> dict[str, Any]:
    from documents.uploads import check_file_type, read_upload

    mode = extra.get("mode")
    if mode not in SealRequest.Mode.values:
        raise Refusal("seal_mode_invalid", "请选择用印方式（实物印章或电子印章）。")
    seal = next((s for s in usable_seals(item) if s.pk == extra.get("seal")), None)
    if seal is None:
        raise Refusal("seal_invalid", f"请选择“{item.department.agency.name}”的一枚有效印章。")
    title = _clean(extra.get("document_title"), "用印文件名称", required=True, limit=100)
    purpose = _clean(extra.get("purpose"), "用印事由", required=True)
    form = {"mode": mode, "seal_id": seal.pk, "seal": seal.name, "document_title": title, "purpose": purpose,
            "mode_label": SealRequest.Mode(mode).label}
    if mode == SealRequest.Mode.PHYSICAL:
        copies = extra.get("copies") or 1
        if not 1 <= copies <= 100:
            raise Refusal("seal_copies_invalid", "份数须在 1～100 之间。")
        form["copies"] = copies
        return form
    upload = extra.get("document_pdf")
    existing = SealRequest.objects.filter(application_id=application_id).first() if application_id else None
    if upload is None and (existing is None or not existing.source_pdf):
        raise Refusal("seal_pdf_required", "电子用印请上传待盖章的 PDF 文件。")
    if upload is not None:
        content = read_upload(upload, PDF_MAX_BYTES)
        check_file_type(content, upload.name, frozenset({"pdf"}))  # by content: a renamed file is refused
        count, _ = _pdf_facts(content)
        extra["_pdf"] = content
    else:
        with existing.source_pdf.open("rb") as fh:
            count, _ = _pdf_facts(fh.read())
    page = extra.get("page") or count
    if not 1 <= page <= count:
        raise Refusal("seal_page_invalid", f"盖章页须在 1～{count} 之间（该 PDF 共 {count} 页）。")
    form.update(page=page, pages=count)
    return form


def _store(application, extra: dict) -> None:
    form = application.form
    request, _ = SealRequest.objects.update_or_create(application=application, defaults={
        "mode": form["mode"], "seal_id": form["seal_id"], "document_title": form["document_title"],
        "copies": form.get("copies", 1), "page": form.get("page")})
    content = extra.get("_pdf")
    if content is not None:
        old = request.source_pdf.name if request.source_pdf else ""
        request.source_pdf.save("source.pdf", ContentFile(content), save=False)
        request.source_sha256 = hashlib.sha256(content).hexdigest()
        request.save(update_fields=["source_pdf", "source_sha256"])
        if old:
            storage = request.source_pdf.storage
            transaction.on_commit(lambda: storage.delete(old))


def anchor_for(seal: Seal, page: int, box: tuple[float, float, float, float]) -> SealAnchor:
    """Lower right of the chosen page, clear of the margins (the uploaded file has no 署名 anchor of ours)."""
    llx, lly, urx, ury = min(box[0], box[2]), min(box[1], box[3]), max(box[0], box[2]), max(box[1], box[3])
    diameter = min(SEAL_MAX_DIAMETER_PT, (urx - llx) / 3, (ury - lly) / 3)
    return SealAnchor(page=page - 1, agency=seal.agency.name, center_x_pt=urx - 30 * MM - diameter / 2,
                      center_y_pt=lly + 40 * MM + diameter / 2, max_diameter_pt=diameter)


def on_final(actor: Person, application, task, final: dict, otp_verified: bool) -> str:
    """用印 by the 印章管理员 at the route's last step (inside the step's transaction)."""
    from documents.actions.seals import refuse_unusable_seal, sign_pdf_with_seal
    from documents.seals import sm2
    from workflows.services.actions import _event
    from workflows.services.models import ApplicationEvent

    request = SealRequest.objects.select_for_update().select_related("seal__agency", "seal__authority").get(
        application=application)
    seal = request.seal
    now = timezone.now()
    refuse_unusable_seal(actor, seal, otp_verified=otp_verified, now=now)
    if request.stamped_at is not None:
        raise Refusal("already_sealed", "该用印申请已用印。", status=409)
    if request.mode == SealRequest.Mode.PHYSICAL:
        request.stamped_by, request.stamped_at = actor, now
        request.save(update_fields=["stamped_by", "stamped_at"])
        note = f"已加盖实物印章“{seal.name}”{request.copies} 份（{request.document_title}）"
        do_record_audit(actor=actor, action="services.seal_physical", obj=application, changes={
            "seal": seal.name, "es_id": seal.es_id, "copies": request.copies, "number": application.number,
            "document_title": request.document_title})
        _event(application, ApplicationEvent.Kind.SEALED, actor, note, "用印")
        return note
    with request.source_pdf.open("rb") as fh:
        pdf = fh.read()
    if hashlib.sha256(pdf).hexdigest() != request.source_sha256:
        raise Refusal("seal_source_altered", "存储中的待盖章文件与申请时不符，已拒绝盖章。", status=409)
    _, boxes = _pdf_facts(pdf)
    stamped, ses_der = sign_pdf_with_seal(seal, pdf, [anchor_for(seal, request.page, boxes[request.page - 1])])
    request.stamped_pdf.save("stamped.pdf", ContentFile(stamped.pdf), save=False)
    request.stamped_sha256 = hashlib.sha256(stamped.pdf).hexdigest()
    request.pades_signature_sha256 = stamped.signature_value_sha256
    request.ses_signature = ses_der
    request.stamped_by, request.stamped_at = actor, stamped.signed_at
    try:
        request.save()
    except Exception:
        request.stamped_pdf.delete(save=False)
        raise
    do_record_audit(actor=actor, action="seal.use", obj=application, changes={
        "seal": seal.name, "es_id": seal.es_id, "number": application.number, "step": "用印申请",
        "document_title": request.document_title, "pdf_before_sha256": request.source_sha256,
        "signed_pdf_sha256": request.stamped_sha256, "signed_pdf_sm3": sm2.sm3(stamped.pdf).hex(),
        "ses_sha256": hashlib.sha256(ses_der).hexdigest(), "signed_at": stamped.signed_at})
    note = f"已加盖电子印章“{seal.name}”（第 {request.page} 页）"
    _event(application, ApplicationEvent.Kind.SEALED, actor, note, "用印")
    return note


def finish(application) -> str:
    request = SealRequest.objects.get(application=application)
    if request.mode == SealRequest.Mode.PHYSICAL:
        return f"已用印：{request.seal.name} {request.copies} 份"
    return f"已加盖电子印章“{request.seal.name}”，可下载已盖章文件"


def validate_item(data) -> None:
    if data.instant or not data.route:
        raise Refusal("seal_route_required", "用印申请须有审批路线，最后一个环节为“用印：印章管理员@主管机关”。")
    check_route_ends_single(data.route, "用印")
    last = data.route[-1][0]
    if last["role"] != Role.SEAL_KEEPER:
        raise Refusal("seal_route_final_keeper", f"用印申请的最后一个环节须由印章管理员办理（现为“{last['title']}”）。")


def approver_notes(application) -> list[str]:
    request = SealRequest.objects.filter(application=application).select_related("seal").first()
    if request is None or request.mode != SealRequest.Mode.ELECTRONIC:
        return []
    return [f"电子用印：印章“{request.seal.name}”将盖在第 {request.page} 页右下方；请先下载核对待盖章文件。"]


def record(application, user=None) -> SealRequest | None:
    return SealRequest.objects.filter(application=application).select_related("seal").first()


HANDLER = register_handler(ServiceHandler(
    key="seal", label="用印申请", fields=form_fields, clean=check, on_submit=_store, on_resubmit=_store,
    labels={"mode_label": "用印方式", "seal": "印章", "document_title": "用印文件名称", "copies": "份数",
            "page": "盖章页", "purpose": "用印事由"},
    refusal_fields={"seal_mode_invalid": "mode", "seal_invalid": "seal", "seal_copies_invalid": "copies",
                    "seal_pdf_required": "document_pdf", "seal_pdf_encrypted": "document_pdf",
                    "seal_pdf_unreadable": "document_pdf", "type_mismatch": "document_pdf",
                    "type_not_allowed": "document_pdf", "type_unknown": "document_pdf", "file_empty": "document_pdf",
                    "file_too_large": "document_pdf", "seal_page_invalid": "page", "field_required": "purpose",
                    "field_too_long": "purpose"},
    on_final=on_final, finish=finish, validate_item=validate_item,
    approver_notes=approver_notes, template="services/items/seal.html", record=record, final_otp=True,
    demo=demo_affairs.DEMO["seal"],
))


def ses_lookup(digests) -> dict[str, bytes]:
    """The 验章 page finds a stamped 用印申请 file's GB/T 38540 signature by its PDF signature value."""
    return {r.pades_signature_sha256: bytes(r.ses_signature)
            for r in SealRequest.objects.filter(pades_signature_sha256__in=digests)}
