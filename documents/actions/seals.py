"""Writes for e-seals: the 制章者, seal registry, use authorisations, stamping, KEK rotation (docs/seals.md).

Stamping rule: a person may stamp only (1) holding the seal's holder role (印章管理员 by default) in the seal's
agency, (2) with OTP verified in this session, (3) presenting the step token of an open SealAuthorization that a
flow step created for exactly this document and agency (or seal). The authorisation is consumed by the stamping, in
the same transaction as the SealUse row, the document status and the audit entry: a refused or failed stamping
leaves no trace but the unchanged authorisation.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from documents.actions.documents import do_set_document_status
from documents.models import CoIssuer, OfficialDocument, Seal, SealAuthority, SealAuthorization, SealUse
from documents.rendering.fonts import pdf_font_report
from documents.rendering.layout import SealAnchor
from documents.rendering.merge import merged_digests
from documents.seals import ca, image, keys, ses, sm2, stamping
from documents.secrecy import refuse_classified
from documents.selectors.seals import may_manage_seals, seal_anchors_for_document
from documents.specs import check_attachment_note, uploaded_attachments
from oa.actions.audit import do_record_audit
from oa.models import Agency, Person, Role
from oa.refusals import Refusal
from oa.selectors.directory import people_with_role

DEFAULT_AUTHORITY_ORG = "一网协同办公平台"
# A certificate's CN is capped at 64 bytes of UTF-8 (cryptography enforces RFC 5280's ub-common-name that way), and
# the seal name / 制章者 name is the CN: without this check a long Chinese name fails deep inside certificate issuing.
COMMON_NAME_MAX_BYTES = 64
COMMON_NAME_HINT = "最多64字节（约21个汉字），因为它是证书的通用名（CN）"
AUTHORISATION_TTL = dt.timedelta(days=7)
FROZEN = frozenset({OfficialDocument.Status.DISTRIBUTED, OfficialDocument.Status.ARCHIVED,
                    OfficialDocument.Status.WITHDRAWN})


# ---- 制章者 -----------------------------------------------------------------------------------------------------

@transaction.atomic
def do_init_seal_authority(*, actor: Person | None, name: str, organization: str = DEFAULT_AUTHORITY_ORG,
                           years: int = 20, replace: bool = False) -> SealAuthority:
    """Create the deployment CA (X.509 ECDSA P-256 root + SM2 root). Once; ``replace`` retires the current one.

    Retired authorities stay: their certificates remain trust anchors for the seals they issued.
    """
    current = SealAuthority.objects.select_for_update().filter(is_active=True).first()
    if current is not None and not replace:
        raise Refusal("seal_authority_exists", f"已存在电子印章制章者“{current.name}”，无需重复初始化", status=409)
    if not 1 <= years <= 50:
        raise Refusal("invalid_years", "制章者证书有效期须在 1–50 年之间")
    if not _fits_common_name(name):
        raise Refusal("authority_name_too_long", f"制章者名称过长：{COMMON_NAME_HINT}")
    keyring = keys.keyring_from_settings()
    material = ca.create_authority(name, organization, years=years)
    if current is not None:
        current.is_active = False
        current.save(update_fields=["is_active"])
    authority = SealAuthority(name=name, cert_pem=material.cert_pem, sm2_public_hex=material.sm2_public_hex,
                              sm2_cert_der=material.sm2_cert_der, kek_id=keyring.current.key_id, created_by=actor)
    authority.key_encrypted = keys.encrypt(material.key_der, context=authority.key_context("x509"), keyring=keyring)
    authority.sm2_private_encrypted = keys.encrypt(
        bytes.fromhex(material.sm2_private_hex), context=authority.key_context("sm2"), keyring=keyring
    )
    authority.save()
    cert = ca.load_cert(material.cert_pem)
    do_record_audit(actor=actor, action="seal.authority_init", obj=authority, changes={
        "name": name, "x509_sha256": ca.fingerprint(ca.cert_der(cert)), "x509_serial": format(cert.serial_number, "x"),
        "sm2_cert_sha256": ca.fingerprint(material.sm2_cert_der), "replaced": current.name if current else None,
    })
    return authority


def _fits_common_name(name: str) -> bool:
    return 0 < len(name.encode("utf-8")) <= COMMON_NAME_MAX_BYTES


def check_init_seal_authority(actor: Person, *, name: str, organization: str = DEFAULT_AUTHORITY_ORG) -> SealAuthority:
    """The web page's way to create the first 制章者: administrators only; never replaces an existing one (that stays
    a deliberate ``manage.py seal_ca init --replace``)."""
    if not may_manage_seals(actor):
        raise Refusal("seal_manage_forbidden", "只有系统管理员可以初始化电子印章制章者", status=403)
    name, organization = name.strip(), organization.strip()
    if not name:
        raise Refusal("authority_name_required", "请填写制章者名称")
    if not organization:
        raise Refusal("authority_organization_required", "请填写制章者所属单位")
    if len(organization) > 64:  # X.509 ub-organization-name
        raise Refusal("authority_organization_too_long", "制章者所属单位不能超过64字")
    return do_init_seal_authority(actor=actor, name=name, organization=organization)


# ---- seal registry -----------------------------------------------------------------------------------------


KIND_CODES = {Seal.Kind.OFFICIAL: "01", Seal.Kind.BUSINESS: "02", Seal.Kind.SIGNATURE: "03"}


def default_seal_name(agency: Agency, kind: str, purpose: str = "") -> str:
    if kind == Seal.Kind.OFFICIAL:
        return agency.name
    if kind == Seal.Kind.BUSINESS:
        return f"{agency.name}{purpose or '业务专用章'}"
    return f"{agency.name}签名章"


@transaction.atomic
def check_create_seal(actor: Person, *, agency: Agency, kind: str = Seal.Kind.OFFICIAL, name: str = "",
                      algorithm: str = Seal.Algorithm.ECDSA_P256, valid_from: dt.datetime | None = None,
                      valid_to: dt.datetime | None = None, holder_role: str = Role.SEAL_KEEPER,
                      image_png: bytes | None = None, bottom_text: str | None = None) -> Seal:
    """制章: keys and certificates for both signature kinds, the picture, and the SES_Seal signed by the 制章者."""
    if not may_manage_seals(actor):
        raise Refusal("seal_manage_forbidden", "只有系统管理员可以制作电子印章", status=403)
    if kind not in Seal.Kind.values:
        raise Refusal("invalid_seal_kind", "印章类型须为公章、业务专用章或签名章")
    if algorithm not in Seal.Algorithm.values:
        raise Refusal("invalid_seal_algorithm", "签名算法须为 ECDSA P-256 或 RSA-2048")
    if holder_role not in Role.values:
        raise Refusal("invalid_holder_role", "持章角色无效")
    authority = SealAuthority.objects.filter(is_active=True).first()
    if authority is None:
        raise Refusal("seal_authority_missing", "尚未初始化电子印章制章者，请先运行 manage.py seal_ca init", status=409)
    now = timezone.now()
    valid_from = valid_from or now
    valid_to = valid_to or valid_from + dt.timedelta(days=365 * 5)
    if valid_to <= valid_from:
        raise Refusal("invalid_seal_validity", "印章有效期止须晚于有效期起")
    authority_cert = ca.load_cert(authority.cert_pem)
    if valid_to > authority_cert.not_valid_after_utc:
        raise Refusal("invalid_seal_validity", "印章有效期不能超过制章者证书的有效期"
                            f"（{authority_cert.not_valid_after_utc:%Y-%m-%d}）")
    name = name.strip() or default_seal_name(agency, kind)
    if not _fits_common_name(name):
        raise Refusal("seal_name_too_long", f"印章名称“{name}”过长：{COMMON_NAME_HINT}")
    if image_png is not None:
        png, source = image.check_uploaded_png(image_png), Seal.ImageSource.UPLOADED
    else:
        label = {Seal.Kind.OFFICIAL: "", Seal.Kind.BUSINESS: name.removeprefix(agency.name) or "业务专用章",
                 Seal.Kind.SIGNATURE: "签名章"}[kind] if bottom_text is None else bottom_text
        png, source = image.generate_seal_png(agency.name, label), Seal.ImageSource.GENERATED

    Agency.objects.select_for_update().filter(pk=agency.pk).first()  # serialise esID numbering per agency
    seq = Seal.objects.filter(agency=agency).count() + 1
    es_id = f"{agency.uscc}-{KIND_CODES[kind]}-{seq:04d}"
    while Seal.objects.filter(es_id=es_id).exists():
        seq += 1
        es_id = f"{agency.uscc}-{KIND_CODES[kind]}-{seq:04d}"

    keyring = keys.keyring_from_settings()
    authority_key = keys.decrypt(authority.key_encrypted, context=authority.key_context("x509"), keyring=keyring)
    maker_sm2 = keys.decrypt(authority.sm2_private_encrypted, context=authority.key_context("sm2"),
                             keyring=keyring).hex()
    subject = ca.build_name(name, agency.name)
    try:
        key_der, cert_pem = ca.issue_seal_certificate(
            authority_cert_pem=authority.cert_pem, authority_key_der=authority_key, algorithm=algorithm,
            subject=subject, not_before=valid_from, not_after=valid_to,
        )
    except ca.CAError as exc:
        raise Refusal("invalid_seal_validity", str(exc)) from exc
    sm2_private, sm2_public = sm2.generate_keypair()
    sm2_cert = ca.issue_sm2_certificate(
        issuer_private_hex=maker_sm2, issuer_public_hex=authority.sm2_public_hex, issuer_name=authority_cert.subject,
        subject_name=subject, subject_public_hex=sm2_public, not_before=valid_from, not_after=valid_to,
    )
    x509_cert = ca.load_cert(cert_pem)
    seal_info = ses.build_seal_info(
        es_id=es_id, seal_type=ses.SEAL_TYPE_CODES[kind], name=name, signer_cert_der=sm2_cert, created=now,
        valid_start=valid_from, valid_end=valid_to, picture_png=png, picture_mm=image.SEAL_MM,
        pades_cert_sha256=hashlib.sha256(ca.cert_der(x509_cert)).digest(),
    )
    seal_der = ses.make_seal(seal_info, maker_cert_der=bytes(authority.sm2_cert_der), maker_private_hex=maker_sm2,
                             maker_public_hex=authority.sm2_public_hex)

    seal = Seal(
        agency=agency, authority=authority, kind=kind, name=name, es_id=es_id, image_source=source,
        valid_from=valid_from, valid_to=valid_to, holder_role=holder_role, algorithm=algorithm, cert_pem=cert_pem,
        cert_serial=format(x509_cert.serial_number, "x"), sm2_public_hex=sm2_public, sm2_cert_der=sm2_cert,
        ses_seal=seal_der, kek_id=keyring.current.key_id, created_by=actor, created_at=now,
    )
    seal.key_encrypted = keys.encrypt(key_der, context=seal.key_context("x509"), keyring=keyring)
    seal.sm2_private_encrypted = keys.encrypt(bytes.fromhex(sm2_private), context=seal.key_context("sm2"),
                                              keyring=keyring)
    seal.image.save("seal.png", ContentFile(png), save=False)
    try:
        seal.save()
        do_record_audit(actor=actor, action="seal.create", obj=seal, changes={
            "agency": agency.name, "name": name, "es_id": es_id, "kind": kind, "algorithm": algorithm,
            "valid_from": valid_from, "valid_to": valid_to, "holder_role": holder_role, "image": source,
            "x509_serial": seal.cert_serial, "ses_seal_sha256": hashlib.sha256(seal_der).hexdigest(),
        })
    except Exception:
        seal.image.delete(save=False)
        raise
    return seal


@transaction.atomic
def check_revoke_seal(actor: Person, seal: Seal, *, reason: str) -> Seal:
    if not may_manage_seals(actor):
        raise Refusal("seal_manage_forbidden", "只有系统管理员可以注销电子印章", status=403)
    reason = reason.strip()
    if not reason:
        raise Refusal("reason_required", "注销印章须填写原因")
    seal = Seal.objects.select_for_update().get(pk=seal.pk)
    if seal.revoked_at is not None:
        raise Refusal("seal_revoked", "该印章已注销", status=409)
    seal.revoked_at, seal.revoked_reason, seal.is_active = timezone.now(), reason[:200], False
    seal.save(update_fields=["revoked_at", "revoked_reason", "is_active"])
    do_record_audit(actor=actor, action="seal.revoke", obj=seal, changes={"es_id": seal.es_id, "reason": reason})
    return seal


DEMO_AUTHORITY_NAME = "揭阳市揭东区电子印章制章者"
DEMO_AUTHORITY_ORG = "揭阳市揭东区一网协同办公平台"
DEMO_SEAL_AGENCIES = ("揭东府办", "揭东财")  # 区府办, 区财政局 (docs/demo.md)


@transaction.atomic
def do_issue_demo_seals(*, actor: Person) -> dict[str, int]:
    """Demo district seals (``load_demo --with-seals``): the 制章者 if none is active, and one 公章 for each demo
    agency that has no usable 公章 yet — so re-running creates nothing new."""
    authority_created = 0
    if not SealAuthority.objects.select_for_update().filter(is_active=True).exists():
        do_init_seal_authority(actor=actor, name=DEMO_AUTHORITY_NAME, organization=DEMO_AUTHORITY_ORG)
        authority_created = 1
    created = 0
    for agency in Agency.objects.select_for_update().filter(doc_code__in=DEMO_SEAL_AGENCIES).order_by("sort_order"):
        usable = Seal.objects.filter(agency=agency, kind=Seal.Kind.OFFICIAL, is_active=True, revoked_at__isnull=True)
        if not usable.exists():
            check_create_seal(actor, agency=agency, kind=Seal.Kind.OFFICIAL)
            created += 1
    return {"authority_created": authority_created, "seals_created": created}


# ---- authorisation (called by flows) -----------------------------------------------------------------------

def do_authorise_seal_use(*, actor: Person, document: OfficialDocument, step_label: str, step_token: str,
                          agency: Agency | None = None, seal: Seal | None = None,
                          expires_at: dt.datetime | None = None) -> SealAuthorization:
    """Allow one stamping of ``document`` for ``agency`` (default: the document's agency) or one named ``seal``.

    The 发文 flow's 用印 step calls this when the step is created (inside its transaction) and passes the same
    ``step_token`` to ``check_stamp_document`` when the 印章管理员 completes the step.
    """
    if not step_token or not step_label or len(step_token) > 200 or len(step_label) > 100:
        raise Refusal("invalid_authorisation", "用印授权须注明流程环节（100字以内）及其令牌（200字符以内）")
    refuse_classified(document, "授权用印（GB/T 33481 电子印章只用于非涉密公文）")
    if seal is not None:
        agency = seal.agency
    agency = agency or document.agency
    issuers = {document.agency_id, *CoIssuer.objects.filter(document=document).values_list("agency_id", flat=True)}
    if agency.pk not in issuers:
        raise Refusal("seal_agency_mismatch", f"“{agency.name}”不是该公文的发文机关，不能授权其用印")
    with transaction.atomic():
        authorization = SealAuthorization.objects.create(
            document=document, agency=agency, seal=seal, step_label=step_label, step_token=step_token,
            authorised_by=actor, expires_at=expires_at or timezone.now() + AUTHORISATION_TTL,
        )
        do_record_audit(actor=actor, action="seal.authorise", obj=document, changes={
            "authorization": authorization.pk, "agency": agency.name, "seal": seal.es_id if seal else None,
            "step": step_label, "expires_at": authorization.expires_at,
        })
    return authorization


def do_revoke_seal_authorization(authorization: SealAuthorization, *, actor: Person, reason: str = "") -> None:
    """Flows call this when the 用印 step is withdrawn or sent back before stamping."""
    with transaction.atomic():
        updated = SealAuthorization.objects.filter(pk=authorization.pk, used_at__isnull=True,
                                                   revoked_at__isnull=True).update(revoked_at=timezone.now())
        if updated:
            do_record_audit(actor=actor, action="seal.authorisation_revoke", obj=authorization.document,
                            changes={"authorization": authorization.pk, "reason": reason})


def _find_authorisation(document: OfficialDocument, seal: Seal, step_token: str, now: dt.datetime) -> SealAuthorization:
    candidates = list(
        SealAuthorization.objects.select_for_update()
        .filter(document=document, step_token=step_token, agency=seal.agency)
        .order_by("created_at", "id")
    )
    candidates = [a for a in candidates if a.seal_id in (None, seal.pk)]
    for a in candidates:
        if a.is_open(now):
            return a
    if any(a.used_at for a in candidates):
        raise Refusal("seal_authorisation_used", "该环节的用印授权已使用过，不能重复盖章", status=409)
    if any(a.revoked_at for a in candidates):
        raise Refusal("seal_authorisation_revoked", "该环节的用印授权已被撤销", status=403)
    if candidates:
        raise Refusal("seal_authorisation_expired", "该环节的用印授权已过期，请重新办理用印审批", status=403)
    raise Refusal("seal_authorisation_missing", "没有该公文在当前环节的用印授权（须经用印审批环节）", status=403)


# ---- stamping ---------------------------------------------------------------------------------------------

def _input_pdf(document: OfficialDocument) -> tuple[bytes, SealUse | None]:
    """The latest sealed PDF (co-issuers stamp one after another), else the typeset final PDF."""
    last = document.seal_uses.order_by("-signed_at", "-id").first()
    field = last.signed_pdf if last else document.final_pdf
    if not field:
        raise Refusal("final_pdf_missing", "公文尚未排版生成正式 PDF，不能盖章", status=409)
    with field.open("rb") as fh:
        data = fh.read()
    if last is not None and hashlib.sha256(data).hexdigest() != last.signed_pdf_sha256:
        raise Refusal("sealed_pdf_altered", "存储中的已盖章 PDF 与用印记录不符，已拒绝继续盖章", status=409)
    return data, last


def _refuse_unless_attachments_inside(document: OfficialDocument, pdf: bytes) -> None:
    """No 附件 travels outside the signature: the PDF about to be sealed must hold exactly the uploaded 附件 (the
    SHA-256 list typesetting recorded in it), and the 附件说明 must agree with them."""
    attachments = uploaded_attachments(document)
    check_attachment_note(document, attachments)
    inside = merged_digests(pdf)
    if [a.sha256 for a in attachments] == inside:
        return
    missing = [a.title or a.name for a in attachments if a.sha256 not in inside]
    what = f"附件“{'”“'.join(missing)}”不在排版文件中" if missing else "排版文件中的附件与当前附件不一致"
    raise Refusal("attachments_changed", f"排版后附件有变动（{what}），请重新套红排版后再用印", status=409)


def _agency_names(agency: Agency) -> tuple[str, ...]:
    return tuple(n for n in (agency.name, agency.short_name) if n)


@transaction.atomic
def check_fonts_for_sealing(pdf: bytes) -> None:
    """A 公文 set in stand-in fonts is sealed only where the deployment says it accepts them (ACCEPT_STANDIN_FONTS)."""
    report = pdf_font_report(pdf)
    if report.not_embedded:
        raise Refusal("fonts_not_embedded",
                      f"公文 PDF 中有未嵌入的字体（{'、'.join(report.not_embedded)}），不同阅读器显示会不同，不能盖章；请重新套红排版")
    if report.uses_standins and not getattr(settings, "ACCEPT_STANDIN_FONTS", False):
        raise Refusal("standin_fonts",
                      "公文使用了替代字体排版（" + report.standin_note.split("：", 1)[-1] + "），不能盖章：请系统管理员"
                      "配置正版公文字体（OA_FONT_DIR / OA_FONTS）后重新套红；如本单位确认接受替代字体，设置 "
                      "OA_ACCEPT_STANDIN_FONTS=1", status=409)


def refuse_unusable_seal(actor: Person, seal: Seal, *, otp_verified: bool, now: dt.datetime | None = None) -> None:
    """The rules every stamping by a person obeys (发文 用印 and 零跑动 用印申请): the seal's holder role in its agency,
    two-factor authentication in this session, a seal neither revoked, stopped nor outside its validity."""
    now = now or timezone.now()
    if not people_with_role(seal.holder_role, agency=seal.agency).filter(pk=actor.pk).exists():
        raise Refusal("seal_not_authorised",
                            f"您不是“{seal.agency.name}”的{Role(seal.holder_role).label}，不能使用该印章", status=403)
    if not otp_verified:
        raise Refusal("otp_required", "用印前须完成双因素认证（动态口令）", status=403)
    if seal.revoked_at is not None:
        raise Refusal("seal_revoked", f"印章“{seal.name}”已注销，不能使用", status=409)
    if not seal.is_active:
        raise Refusal("seal_inactive", f"印章“{seal.name}”已停用", status=409)
    if now < seal.valid_from:
        raise Refusal("seal_not_yet_valid", f"印章“{seal.name}”尚未生效（{timezone.localtime(seal.valid_from):%Y-%m-%d} 起）")
    if now > seal.valid_to:
        raise Refusal("seal_expired", f"印章“{seal.name}”已于 {timezone.localtime(seal.valid_to):%Y-%m-%d} 过期，不能使用")


def sign_pdf_with_seal(seal: Seal, pdf: bytes, anchors: list[SealAnchor]) -> tuple[stamping.StampResult, bytes]:
    """The seal's picture at its anchor as a visible PAdES signature, then the GB/T 38540 SES_Signature over the
    stamped PDF: (stamp result, SES DER). Keys are decrypted with the KEK only here."""
    keyring = keys.keyring_from_settings()
    key_der = keys.decrypt(seal.key_encrypted, context=seal.key_context("x509"), keyring=keyring)
    sm2_private = keys.decrypt(seal.sm2_private_encrypted, context=seal.key_context("sm2"), keyring=keyring).hex()
    with seal.image.open("rb") as fh:
        png = fh.read()
    material = stamping.SealMaterial(
        agency_names=_agency_names(seal.agency), png=png, key_der=key_der, cert_pem=seal.cert_pem,
        chain_pems=(seal.authority.cert_pem,), signer_name=seal.name,
    )
    stamped = stamping.stamp_pdf(pdf, anchors, material)
    ses_der = ses.sign_document(
        seal_der=bytes(seal.ses_seal), signer_cert_der=bytes(seal.sm2_cert_der), signer_private_hex=sm2_private,
        signer_public_hex=seal.sm2_public_hex, pdf_bytes=stamped.pdf, time_info=stamped.signed_at,
    )
    return stamped, ses_der


def check_stamp_document(actor: Person, document: OfficialDocument, seal: Seal, *, step_token: str,
                         otp_verified: bool, anchors: list[SealAnchor] | None = None) -> SealUse:
    """Stamp ``document`` with ``seal``: visible PAdES signature + GB/T 38540 SES signature, one SealUse row.

    ``anchors`` are the renderer's seal positions for the document's final PDF
    (``render_pdf_with_layout(spec).seal_anchors``); when omitted, the ones typesetting stored on the document.
    """
    now = timezone.now()
    document = OfficialDocument.objects.select_for_update(of=("self",)).select_related("agency").get(pk=document.pk)
    refuse_classified(document, "加盖电子印章（GB/T 33481 电子印章只用于非涉密公文）")
    seal = Seal.objects.select_related("agency", "authority").get(pk=seal.pk)
    refuse_unusable_seal(actor, seal, otp_verified=otp_verified, now=now)
    if not document.seal_required:
        raise Refusal("seal_not_required", "该公文不加盖印章（如纪要）")
    if document.status in FROZEN:
        raise Refusal("document_frozen", f"公文当前状态为“{document.get_status_display()}”，不能盖章", status=409)
    issuers = [document.agency_id, *CoIssuer.objects.filter(document=document).values_list("agency_id", flat=True)]
    if seal.agency_id not in issuers:
        raise Refusal("seal_agency_mismatch", "印章所属机关不是该公文的发文机关（印章须与署名机关相符）")
    authorization = _find_authorisation(document, seal, step_token, now)
    if document.seal_uses.filter(seal__agency=seal.agency).exists():
        raise Refusal("already_sealed", f"该公文已加盖“{seal.agency.name}”的印章", status=409)

    pdf_before, _ = _input_pdf(document)
    _refuse_unless_attachments_inside(document, pdf_before)
    check_fonts_for_sealing(pdf_before)
    if anchors is None:
        anchors = seal_anchors_for_document(document)
    stamped, ses_der = sign_pdf_with_seal(seal, pdf_before, anchors)
    use = SealUse(
        document=document, seal=seal, authorization=authorization, actor=actor, step_label=authorization.step_label,
        signed_at=stamped.signed_at, pdf_before_sha256=hashlib.sha256(pdf_before).hexdigest(),
        signed_pdf_sha256=hashlib.sha256(stamped.pdf).hexdigest(), signed_pdf_sm3=sm2.sm3(stamped.pdf).hex(),
        ses_signature=ses_der, pades_field=stamped.field_name,
        pades_signature_sha256=stamped.signature_value_sha256,
        anchor={"page": stamped.anchor.page, "agency": stamped.anchor.agency, "center_x_pt": stamped.anchor.center_x_pt,
                "center_y_pt": stamped.anchor.center_y_pt, "max_diameter_pt": stamped.anchor.max_diameter_pt},
    )
    use.signed_pdf.save("sealed.pdf", ContentFile(stamped.pdf), save=False)
    try:
        use.save()
        authorization.used_at = now
        authorization.save(update_fields=["used_at"])
        do_record_audit(actor=actor, action="seal.use", obj=document, changes={
            "seal": seal.name, "es_id": seal.es_id, "document": str(document), "step": authorization.step_label,
            "authorization": authorization.pk, "pades_field": stamped.field_name, "algorithm": seal.algorithm,
            "pdf_before_sha256": use.pdf_before_sha256, "signed_pdf_sha256": use.signed_pdf_sha256,
            "signed_pdf_sm3": use.signed_pdf_sm3, "ses_sha256": hashlib.sha256(ses_der).hexdigest(),
            "signed_at": stamped.signed_at,
        })
        # SEALED once every 署名 on the page carries its agency's seal (联合行文: one seal per issuing agency).
        sealed = {n for a in Agency.objects.filter(seals__uses__document=document).distinct() for n in _agency_names(a)}
        if all(a.agency in sealed for a in anchors) and document.status != OfficialDocument.Status.SEALED:
            do_set_document_status(document, OfficialDocument.Status.SEALED, actor=actor)
    except Exception:
        use.signed_pdf.delete(save=False)
        raise
    return use


# ---- KEK rotation ------------------------------------------------------------------------------------------

@transaction.atomic
def do_rotate_seal_kek(*, actor: Person | None = None) -> int:
    """Re-encrypt every private key under the current OA_SEAL_KEK (old keys from OA_SEAL_KEK_PREVIOUS)."""
    keyring = keys.keyring_from_settings()
    current = keyring.current.key_id
    changed = 0
    for authority in SealAuthority.objects.select_for_update().exclude(kek_id=current):
        authority.key_encrypted = keys.reencrypt(authority.key_encrypted, context=authority.key_context("x509"),
                                                 keyring=keyring)
        authority.sm2_private_encrypted = keys.reencrypt(authority.sm2_private_encrypted,
                                                         context=authority.key_context("sm2"), keyring=keyring)
        authority.kek_id = current
        authority.save(update_fields=["key_encrypted", "sm2_private_encrypted", "kek_id"])
        changed += 1
    for seal in Seal.objects.select_for_update().exclude(kek_id=current):
        seal.key_encrypted = keys.reencrypt(seal.key_encrypted, context=seal.key_context("x509"), keyring=keyring)
        seal.sm2_private_encrypted = keys.reencrypt(seal.sm2_private_encrypted, context=seal.key_context("sm2"),
                                                    keyring=keyring)
        seal.kek_id = current
        seal.save(update_fields=["key_encrypted", "sm2_private_encrypted", "kek_id"])
        changed += 1
    do_record_audit(actor=actor, action="seal.kek_rotate", object_type="documents.seal", object_id="*",
                    object_repr="印章私钥加密密钥", changes={"kek_id": current, "rows": changed})
    return changed
