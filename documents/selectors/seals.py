"""Reads for e-seals: the registry, open authorisations, sealed outputs, and 验章 against our trust anchors."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.db.models import Q, QuerySet
from django.http import Http404
from pyhanko.pdf_utils.reader import PdfFileReader

from documents.models import OfficialDocument, Seal, SealAuthority, SealAuthorization, SealUse
from documents.rendering.layout import SealAnchor
from documents.seals import ca
from documents.seals.stamping import signature_value_digest
from documents.seals.verify import Report, TrustAnchors, verify_pdf_bytes
from documents.selectors.documents import documents_visible_to
from oa.models import Agency, Appointment, Person, Role, RoleAssignment
from oa.refusals import Refusal
from oa.selectors.directory import people_with_role

VERIFY_MAX_BYTES = 50 * 1024 * 1024


def active_authority() -> SealAuthority | None:
    return SealAuthority.objects.filter(is_active=True).first()


def trust_anchors() -> TrustAnchors:
    """Every 制章者 this deployment ever had (retired ones still vouch for their seals) and the revoked seals."""
    authorities = list(SealAuthority.objects.order_by("created_at"))
    revoked: dict = {}
    for seal in Seal.objects.filter(revoked_at__isnull=False).only("cert_serial", "es_id", "revoked_at"):
        revoked[seal.cert_serial] = seal.revoked_at
        revoked[seal.es_id] = seal.revoked_at
    return TrustAnchors(
        x509_roots=tuple(a.cert_pem for a in authorities),
        sm2_roots=tuple(bytes(a.sm2_cert_der) for a in authorities),
        revoked=revoked,
    )


def seals_visible_to(person: Person) -> QuerySet[Seal]:
    """The registry: administrators see every seal; others the seals of the agencies they work in."""
    if not person.is_authenticated:
        return Seal.objects.none()
    if person.is_superuser or RoleAssignment.objects.filter(person=person, role=Role.SYSADMIN).exists():
        return Seal.objects.select_related("agency")
    agencies = Q(agency_id__in=Appointment.objects.filter(person=person).values("department__agency_id")) | Q(
        agency_id__in=RoleAssignment.objects.filter(person=person).values("agency_id")
    )
    return Seal.objects.filter(agencies).select_related("agency")


def access_seal_by_id(person: Person, seal_id: int) -> Seal:
    try:
        return seals_visible_to(person).get(pk=seal_id)
    except Seal.DoesNotExist:
        raise Http404("印章不存在或无权查看") from None


def agencies_for_seals() -> QuerySet[Agency]:
    """The agencies a seal can be made for (the 制章 form's choices)."""
    return Agency.objects.filter(is_active=True).order_by("sort_order", "id")


@dataclass(frozen=True)
class SealCertificateFacts:
    """What an administrator checks on a seal's two certificates and its SES_Seal (the 印章详情 page)."""

    subject: str
    issuer: str
    serial_hex: str
    not_before: dt.datetime
    not_after: dt.datetime
    public_key: str
    x509_sha256: str
    sm2_subject: str
    sm2_serial_hex: str
    sm2_sha256: str
    ses_seal_sha256: str


def seal_certificate_facts(seal: Seal) -> SealCertificateFacts:
    cert = ca.load_cert(seal.cert_pem)
    key = cert.public_key()
    if isinstance(key, ec.EllipticCurvePublicKey):
        public_key = f"曲线 {key.curve.name}，公钥 {key.key_size} 位"
    elif isinstance(key, rsa.RSAPublicKey):
        public_key = f"公钥 {key.key_size} 位"
    else:  # not issued by us; shown rather than hidden
        public_key = type(key).__name__
    sm2_cert = ca.parse_sm2_certificate(bytes(seal.sm2_cert_der))
    return SealCertificateFacts(
        subject=cert.subject.rfc4514_string(), issuer=cert.issuer.rfc4514_string(),
        serial_hex=format(cert.serial_number, "x"), not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc, public_key=public_key, x509_sha256=ca.fingerprint(ca.cert_der(cert)),
        sm2_subject=sm2_cert.subject, sm2_serial_hex=sm2_cert.serial_hex, sm2_sha256=ca.fingerprint(sm2_cert.der),
        ses_seal_sha256=hashlib.sha256(bytes(seal.ses_seal)).hexdigest(),
    )


def seals_usable_by(person: Person) -> QuerySet[Seal]:
    """Active seals whose holder role the person has in the seal's agency."""
    ids = [s.pk for s in Seal.objects.filter(is_active=True, revoked_at__isnull=True).select_related("agency")
           if people_with_role(s.holder_role, agency=s.agency).filter(pk=person.pk).exists()]
    return Seal.objects.filter(pk__in=ids).select_related("agency")


def open_authorizations(person: Person, document: OfficialDocument) -> list[tuple[SealAuthorization, list[Seal]]]:
    """Open use authorisations on ``document`` that ``person`` could act on, each with the seals it allows."""
    usable = list(seals_usable_by(person))
    sealed_agencies = set(document.seal_uses.values_list("seal__agency_id", flat=True))
    out = []
    for auth in SealAuthorization.objects.filter(document=document, used_at__isnull=True, revoked_at__isnull=True):
        if not auth.is_open() or auth.agency_id in sealed_agencies:  # that agency's seal is already on it
            continue
        seals = [s for s in usable if s.agency_id == auth.agency_id and auth.seal_id in (None, s.pk)]
        if seals:
            out.append((auth, seals))
    return out


def access_authorization_by_id(person: Person, document: OfficialDocument, authorization_id: int) -> SealAuthorization:
    try:
        return SealAuthorization.objects.get(pk=authorization_id, document=document)
    except SealAuthorization.DoesNotExist:
        raise Http404("用印授权不存在") from None


def seal_uses_of(document: OfficialDocument) -> QuerySet[SealUse]:
    return document.seal_uses.select_related("seal", "seal__agency", "actor").order_by("signed_at", "id")


def latest_seal_use(document: OfficialDocument) -> SealUse | None:
    return document.seal_uses.order_by("-signed_at", "-id").first()


def sealed_documents_visible_to(person: Person) -> QuerySet[OfficialDocument]:
    """Documents with at least one seal use, for the 验章 page's picker."""
    return documents_visible_to(person).filter(seal_uses__isnull=False).distinct().order_by("-updated_at")


def _signature_digests(pdf_bytes: bytes) -> list[str]:
    try:
        return [signature_value_digest(s.signer_info)
                for s in PdfFileReader(io.BytesIO(pdf_bytes), strict=False).embedded_signatures]
    except Exception:  # hostile input: the full verification reports the details
        return []


# Other stampers (零跑动 electronic certificates, workflows/services) keep their SES signatures in their own tables and
# register a lookup here, so the one 验章 page verifies what they sealed too: digests → {digest: SES DER}.
_SES_LOOKUPS: list = []


def register_ses_lookup(lookup) -> None:
    if lookup not in _SES_LOOKUPS:
        _SES_LOOKUPS.append(lookup)


def verify_pdf(pdf_bytes: bytes, ses_signatures: list[bytes] | None = None) -> Report:
    """验章 of any PDF: PAdES against our CAs, plus the SES signatures stored when we stamped it (found by the PDF
    signature values, so a modified copy still finds its SES) or the ones supplied."""
    if ses_signatures is None:
        digests = _signature_digests(pdf_bytes) if pdf_bytes.startswith(b"%PDF-") else []
        found = {u.pades_signature_sha256: bytes(u.ses_signature)
                 for u in SealUse.objects.filter(pades_signature_sha256__in=digests)}
        for lookup in _SES_LOOKUPS:
            found.update(lookup(digests))
        return verify_pdf_bytes(pdf_bytes, found, trust_anchors())
    return verify_pdf_bytes(pdf_bytes, list(ses_signatures), trust_anchors())


def verify_document(person: Person, document_id: int) -> tuple[OfficialDocument, Report]:
    """验章 of a document the person may see: its latest sealed PDF."""
    document = sealed_documents_visible_to(person).filter(pk=document_id).first()
    if document is None:
        raise Http404("公文不存在、无权查看或尚未盖章")
    use = latest_seal_use(document)
    with use.signed_pdf.open("rb") as fh:
        data = fh.read()
    return document, verify_pdf(data)


def check_pdf_upload(data: bytes) -> None:
    if not data:
        raise Refusal("file_required", "请选择要验证的 PDF 文件")
    if len(data) > VERIFY_MAX_BYTES:
        raise Refusal("file_too_large", f"文件不能超过 {VERIFY_MAX_BYTES // 1024 // 1024} MB", status=413)
    if not data.startswith(b"%PDF-"):
        raise Refusal("not_pdf", "文件内容不是 PDF（须以 %PDF- 开头）")


def may_manage_seals(actor: Person) -> bool:
    """制章: deployment administrators only (the 系统管理员 role or a superuser)."""
    return bool(actor.is_superuser) or RoleAssignment.objects.filter(person=actor, role=Role.SYSADMIN).exists()


def seal_anchors_for_document(document: OfficialDocument) -> list[SealAnchor]:
    """The seal positions typesetting stored with the final PDF (``check_typeset_document`` keeps them).

    Never recomputed here: the 要素 may have changed since, and only the stored anchors match the stored PDF.
    """
    anchors = []
    for raw in document.seal_anchors or []:
        try:
            anchors.append(SealAnchor(page=int(raw["page"]), agency=str(raw["agency"]),
                                      center_x_pt=float(raw["center_x_pt"]), center_y_pt=float(raw["center_y_pt"]),
                                      max_diameter_pt=float(raw["max_diameter_pt"])))
        except (KeyError, TypeError, ValueError):
            raise Refusal("seal_anchor_missing", "公文的用印位置数据损坏，请重新排版", status=409) from None
    if not anchors:
        raise Refusal("seal_anchor_missing", "公文的排版结果中没有用印位置（未排版，或排版时不加盖印章）", status=409)
    return anchors
